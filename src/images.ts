/**
 * Turning a user's image into the model's input: decode (PNG, JPEG and whatever else sharp reads)
 * to RGB bytes, resize to the model's side, normalize into [channels, size, size] floats.
 * sharp and node:fs are imported on demand; the pixel work that needs neither is in pixels.ts.
 */
import { UserError } from './errors.js';
import { type RawImage, type RgbImage, rawToRgb, resizeRgb } from './pixels.js';

export { type RawImage, type RgbImage, type Normalization, SEED_NORMALIZATION, rawToRgb, resizeRgb, normalizeInto } from './pixels.js';

/** An image file's path, an encoded image's bytes (PNG, JPEG, …), or raw pixels. */
export type ImageSource = string | Uint8Array | RawImage;

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
  const what = describe(source, name);
  if (isRawImage(source)) return rawToRgb(source, what);
  const bytes = typeof source === 'string' ? await readImageFile(source) : source;
  const sharp = (await import('sharp')).default;
  try {
    const { data, info } = await sharp(bytes)
      .rotate() // EXIF orientation, as transformers' load_image applies
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  } catch (e) {
    throw new UserError(`${what}: cannot decode the image (${(e as Error).message}); expected a PNG or JPEG`);
  }
}

async function readImageFile(path: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
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
