/**
 * An image as the model needs it, from bytes already decoded: raw pixels to RGB, PIL's
 * antialiased bilinear resize, and the per-channel normalization into the model's input floats.
 * No decoder and no file system, so the page and Node run the same code.
 */
import { UserError } from './errors.js';

/**
 * Pixels as bytes, interleaved, row-major: `channels` per pixel (1 gray, 2 gray + alpha, 3 RGB,
 * 4 RGBA). Without `channels`, it is inferred from the length. transformers.js' RawImage fits.
 */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels?: number;
}

/**
 * The most pixels one image may have (100 megapixels: a large phone photo). A decoded image takes
 * 3 bytes a pixel (the page's canvas 4), and a decoder more: this bounds the memory one image can take.
 */
export const MAX_IMAGE_PIXELS = 100_000_000;

/** RGB bytes, interleaved, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Per-channel normalization of values in [0, 1]: (v − mean) / std. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

/** The seed's Normalize(0.5, 0.5), used when a model brings no preprocessor. */
export const SEED_NORMALIZATION: Readonly<Normalization> = Object.freeze({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });

// ITU-R 601-2 luma, as torchvision's rgb_to_grayscale (and BatchMaker) use for one-channel models
const LUMA = [0.2989, 0.587, 0.114] as const;

/** Raw pixels with 1–4 channels to RGB (gray is repeated; alpha is dropped). */
export function rawToRgb(raw: RawImage, what = 'raw image'): RgbImage {
  const { width, height, data } = raw;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new UserError(`${what}: width and height must be positive whole numbers (got ${width}×${height})`);
  }
  const pixels = width * height;
  const channels = raw.channels ?? data.length / pixels;
  if (![1, 2, 3, 4].includes(channels) || data.length !== pixels * channels) {
    throw new UserError(
      `${what}: ${data.length} bytes is not ${width}×${height} pixels of 1, 2, 3 or 4 channels` +
        (raw.channels === undefined ? '' : ` (channels: ${raw.channels})`),
    );
  }
  if (channels === 3) return { data: data instanceof Uint8Array ? data : new Uint8Array(data), width, height };
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const from = p * channels;
    const gray = channels < 3;
    rgb[p * 3] = data[from]!;
    rgb[p * 3 + 1] = data[gray ? from : from + 1]!;
    rgb[p * 3 + 2] = data[gray ? from : from + 2]!;
  }
  return { data: rgb, width, height };
}

/**
 * Resizes to width × height with PIL's antialiased bilinear filter (what Hugging Face's ViT image
 * processor uses): a triangle filter widened by the scale when shrinking, so small outputs of large
 * photos average their pixels instead of skipping them. Returns `image` itself when the size matches.
 */
export function resizeRgb(image: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new UserError(`resizeRgb: width and height must be positive whole numbers (got ${width}×${height})`);
  }
  if (
    typeof image !== 'object' ||
    image === null ||
    !(image.data instanceof Uint8Array) ||
    image.data.length !== image.width * image.height * 3
  ) {
    throw new UserError('resizeRgb: "image" must be { data: Uint8Array of width × height × 3 bytes, width, height }');
  }
  if (image.width === width && image.height === height) return image;
  // Columns first, then rows, as PIL does; the middle stays in floats (PIL rounds it to bytes).
  const columns = resampleWeights(image.width, width);
  const rows = resampleWeights(image.height, height);
  const middle = new Float64Array(image.height * width * 3);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < width; x++) {
      const { start, weights } = columns[x]!;
      let r = 0,
        g = 0,
        b = 0;
      for (let k = 0; k < weights.length; k++) {
        const from = (y * image.width + start + k) * 3;
        const w = weights[k]!;
        r += w * image.data[from]!;
        g += w * image.data[from + 1]!;
        b += w * image.data[from + 2]!;
      }
      const to = (y * width + x) * 3;
      middle[to] = r;
      middle[to + 1] = g;
      middle[to + 2] = b;
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const { start, weights } = rows[y]!;
    for (let i = 0; i < width * 3; i++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k]! * middle[(start + k) * width * 3 + i]!;
      out[y * width * 3 + i] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return { data: out, width, height };
}

/** PIL's precompute_coeffs for the bilinear (triangle, support 1) filter along one axis. */
function resampleWeights(inSize: number, outSize: number): { start: number; weights: Float64Array }[] {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps: { start: number; weights: Float64Array }[] = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const start = Math.max(Math.trunc(center - support + 0.5), 0);
    const end = Math.min(Math.trunc(center + support + 0.5), inSize);
    const weights = new Float64Array(end - start);
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = Math.max(0, 1 - Math.abs((start + i - center + 0.5) / filterScale));
      weights[i] = w;
      total += w;
    }
    if (total > 0) for (let i = 0; i < weights.length; i++) weights[i]! /= total;
    taps.push({ start, weights });
  }
  return taps;
}

/**
 * Writes a size × size RGB image into `out` at `offset` as [channels, size, size] floats,
 * (v / 255 − mean) / std per channel; a one-channel model gets the luma.
 */
export function normalizeInto(image: RgbImage, channels: number, normalization: Normalization, out: Float32Array, offset: number): void {
  const plane = image.width * image.height;
  if (channels !== 1 && channels !== 3) throw new UserError(`images can feed a model with 1 or 3 channels, not ${channels}`);
  if (out.length < offset + channels * plane)
    throw new RangeError(`normalizeInto: output holds ${out.length} floats, needs ${offset + channels * plane}`);
  const mean = perChannel(normalization.mean, channels, 'mean');
  const std = perChannel(normalization.std, channels, 'std');
  const data = image.data;
  for (let p = 0; p < plane; p++) {
    if (channels === 1) {
      const luma = LUMA[0] * data[p * 3]! + LUMA[1] * data[p * 3 + 1]! + LUMA[2] * data[p * 3 + 2]!;
      out[offset + p] = (luma / 255 - mean[0]!) / std[0]!;
      continue;
    }
    for (let c = 0; c < 3; c++) out[offset + c * plane + p] = (data[p * 3 + c]! / 255 - mean[c]!) / std[c]!;
  }
}

function perChannel(values: readonly number[], channels: number, key: string): readonly number[] {
  if (values.length === channels) return values;
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  // A 3-value normalization on a gray model: the luma mixes all three, so use their first.
  if (channels === 1) return [values[0]!];
  throw new UserError(`the image ${key} has ${values.length} values for a model with ${channels} channels`);
}
