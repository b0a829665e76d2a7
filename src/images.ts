/**
 * Turning a user's image into the model's input: decode (PNG, JPEG and whatever else sharp reads)
 * to RGB bytes, resize to the model's side, normalize into [channels, size, size] floats.
 * sharp and node:fs are imported on demand; the pixel work that needs neither is in pixels.ts.
 */
import { UserError } from './errors.js';
import { kindOf } from './arguments.js';
import { MAX_IMAGE_PIXELS, type RawImage, type RgbImage, rawToRgb, resizeRgb } from './pixels.js';

export {
  MAX_IMAGE_PIXELS,
  type RawImage,
  type RgbImage,
  type Normalization,
  SEED_NORMALIZATION,
  rawToRgb,
  resizeRgb,
  normalizeInto,
} from './pixels.js';

/** An image file's path, an encoded image's bytes (PNG, JPEG, …), or raw pixels. */
export type ImageSource = string | Uint8Array | RawImage;

const SUPPORTED_FORMATS = 'expected a PNG, JPEG, GIF, WebP, TIFF, AVIF or SVG image';

/** Throws a UserError naming `argument` unless `source` is a path, encoded bytes or raw pixels. */
export function checkImageSource(source: unknown, argument: string): asserts source is ImageSource {
  if (typeof source === 'string') {
    if (source === '') throw new UserError(`${argument}: expected an image file's path, got an empty string`);
    return;
  }
  if (source instanceof Uint8Array) return;
  if (typeof source === 'object' && source !== null && 'data' in source) {
    const { data } = source as { data: unknown };
    if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return;
    throw new UserError(`${argument}: raw pixels' "data" must be a Uint8Array or Uint8ClampedArray (got ${kindOf(data)})`);
  }
  throw new UserError(
    `${argument}: expected an image file's path, encoded image bytes (Uint8Array) or raw pixels ` +
      `{ data, width, height } (got ${kindOf(source)})`,
  );
}

/** How an image is named in error messages. */
function describe(source: ImageSource, name: string | undefined): string {
  if (name !== undefined) return name;
  if (typeof source === 'string') return source;
  return source instanceof Uint8Array ? 'image bytes' : 'raw image';
}

function isRawImage(source: ImageSource): source is RawImage {
  return typeof source === 'object' && !(source instanceof Uint8Array);
}

/**
 * Decodes `source` to RGB bytes. Files and encoded bytes go through sharp (EXIF orientation
 * applied, alpha dropped as PIL's convert('RGB') does); raw pixels are converted in place.
 * `name` (e.g. the file the bytes came from) is used in error messages.
 */
export async function decodeImage(source: ImageSource, name?: string): Promise<RgbImage> {
  checkImageSource(source, name ?? 'image');
  const what = describe(source, name);
  if (isRawImage(source)) return rawToRgb(source, what);
  const bytes = typeof source === 'string' ? await readImageFile(source) : source;
  const sharp = (await import('sharp')).default;
  // The header's size, before anything is decoded: a small file can claim gigapixels.
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (e) {
    throw new UserError(`${what}: cannot decode the image (${(e as Error).message}); ${SUPPORTED_FORMATS}`);
  }
  if (width !== undefined && height !== undefined && width * height > MAX_IMAGE_PIXELS) {
    throw new UserError(
      `${what}: ${width}×${height} is ${((width * height) / 1e6).toFixed(0)} megapixels, ` +
        `more than the ${MAX_IMAGE_PIXELS / 1e6} this decodes; scale it down first`,
    );
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate() // EXIF orientation, as transformers' load_image applies
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new UserError(`${what}: cannot decode the image (${(e as Error).message}); ${SUPPORTED_FORMATS}`);
  }
}

async function readImageFile(path: string): Promise<Uint8Array> {
  const [{ readFile }, { statUserFile }] = await Promise.all([import('node:fs/promises'), import('./io/user-files.js')]);
  // A folder or a FIFO (which would block for ever) is refused before it is opened.
  statUserFile(path);
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${path}: is a folder, not an image file`);
    throw new UserError(`${path}: cannot read (${code ?? (e as Error).message})`);
  }
}

/** Decodes `source` and resizes it to the model's side: the picture the model sees, as RGB bytes. */
export async function loadImageForModel(source: ImageSource, imageSize: number, name?: string): Promise<RgbImage> {
  return resizeRgb(await decodeImage(source, name), imageSize, imageSize);
}
