// An image's width and height from its header, read before the browser decodes anything: a small
// file can claim gigapixels, and the decoder would allocate them all. The formats Classify takes
// (PNG, JPEG, WebP, GIF, BMP); null for anything else.

export interface ImageSize {
  format: string;
  width: number;
  height: number;
}

/** The first bytes of the formats whose size sits at a fixed place near the start. */
const HEAD_BYTES = 32;
/** JPEG segments walked before giving up on finding the frame header. */
const MAX_JPEG_SEGMENTS = 1000;

/** Bytes `from`…`from + length` of `blob` (fewer at its end). */
async function read(blob: Blob, from: number, length: number): Promise<DataView> {
  return new DataView(await blob.slice(from, from + length).arrayBuffer());
}

const ascii = (view: DataView, from: number, length: number): string =>
  view.byteLength < from + length ? '' : String.fromCharCode(...new Uint8Array(view.buffer, view.byteOffset + from, length));

export async function imageSize(blob: Blob): Promise<ImageSize | null> {
  const head = await read(blob, 0, HEAD_BYTES);
  if (head.byteLength < 4) return null;
  // PNG: the signature, then the IHDR chunk: width and height, big-endian.
  if (head.getUint32(0) === 0x89504e47 && ascii(head, 12, 4) === 'IHDR' && head.byteLength >= 24) {
    return { format: 'PNG', width: head.getUint32(16), height: head.getUint32(20) };
  }
  // GIF: the logical screen, little-endian.
  if (/^GIF8[79]a$/.test(ascii(head, 0, 6)) && head.byteLength >= 10) {
    return { format: 'GIF', width: head.getUint16(6, true), height: head.getUint16(8, true) };
  }
  // BMP: the DIB header's size says which layout follows (OS/2's 12-byte one has 16-bit sizes).
  if (ascii(head, 0, 2) === 'BM' && head.byteLength >= 26) {
    if (head.getUint32(14, true) === 12) return { format: 'BMP', width: head.getUint16(18, true), height: head.getUint16(20, true) };
    return { format: 'BMP', width: Math.abs(head.getInt32(18, true)), height: Math.abs(head.getInt32(22, true)) };
  }
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'WEBP') return webpSize(head);
  if (head.getUint16(0) === 0xffd8) return jpegSize(blob);
  return null;
}

/** WebP: the canvas of an extended file (VP8X), or the frame of a lossy (VP8) or lossless (VP8L) one. */
function webpSize(head: DataView): ImageSize | null {
  if (head.byteLength < 30) return null;
  const uint24 = (at: number): number => head.getUint8(at) | (head.getUint8(at + 1) << 8) | (head.getUint8(at + 2) << 16);
  switch (ascii(head, 12, 4)) {
    case 'VP8X':
      return { format: 'WebP', width: uint24(24) + 1, height: uint24(27) + 1 };
    case 'VP8 ':
      // The key frame's start code, then 14-bit sizes (2 bits of scaling above them).
      if (head.getUint8(23) !== 0x9d || head.getUint8(24) !== 0x01 || head.getUint8(25) !== 0x2a) return null;
      return { format: 'WebP', width: head.getUint16(26, true) & 0x3fff, height: head.getUint16(28, true) & 0x3fff };
    case 'VP8L': {
      if (head.getUint8(20) !== 0x2f) return null;
      const bits = head.getUint32(21, true);
      return { format: 'WebP', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
    }
    default:
      return null;
  }
}

/** JPEG: the segments in order up to the frame header (SOFn), which holds the height and width. */
async function jpegSize(blob: Blob): Promise<ImageSize | null> {
  let at = 2;
  for (let segment = 0; segment < MAX_JPEG_SEGMENTS; segment++) {
    const view = await read(blob, at, 9);
    if (view.byteLength < 4 || view.getUint8(0) !== 0xff) return null;
    const marker = view.getUint8(1);
    // Fill bytes before a marker.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    // Markers without a length: TEM and the restart markers.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    // Start of scan or end of image before any frame header: no size to read.
    if (marker === 0xda || marker === 0xd9) return null;
    // SOF0…SOF15, leaving out DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (view.byteLength < 9) return null;
      return { format: 'JPEG', width: view.getUint16(7), height: view.getUint16(5) };
    }
    at += 2 + view.getUint16(2);
  }
  return null;
}
