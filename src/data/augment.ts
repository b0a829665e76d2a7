import type { Random } from '../random.js';
import { CIFAR10_CHANNELS, CIFAR10_SIZE, IMAGE_BYTES, type ImageSet } from './cifar10.js';

export interface AugmentOptions {
  /** torchvision's RandomResizedCrop: a random area fraction in `scale` and aspect ratio in `ratio`. */
  randomResizedCrop?: { scale: [number, number]; ratio: [number, number] } | null;
  /** Random crop with this many pixels of zero padding on each side; 0 = off. Ignored when randomResizedCrop is set. */
  cropPadding?: number;
  /** Mirror left–right with probability 0.5. */
  horizontalFlip?: boolean;
  /** Per channel, on values in [0, 1]; default 0.5. */
  mean?: number[];
  /** Per channel; default 0.5. */
  std?: number[];
}

/**
 * The seed's training transform: RandomResizedCrop(scale 0.8–1, ratio 3/4–4/3), RandomHorizontalFlip,
 * Normalize(0.5, 0.5). Its test transform is the normalization alone.
 */
export const SEED_AUGMENT: Readonly<AugmentOptions> = Object.freeze<AugmentOptions>({
  randomResizedCrop: { scale: [0.8, 1], ratio: [3 / 4, 4 / 3] },
  cropPadding: 0,
  horizontalFlip: true,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
});

/** A crop window in source pixels; it may reach outside the image when padding. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Python's round(): halves go to the even neighbour. torchvision's crop sizes depend on it. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction === 0.5) return floor % 2 === 0 ? floor : floor + 1;
  return Math.round(x);
}

/**
 * RandomResizedCrop.get_params from torchvision: up to 10 tries at a random area fraction and
 * log-uniform aspect ratio; if none fits, the central crop at the nearest allowed ratio.
 * Writes into `out` when given, so the training loop allocates nothing.
 */
export function sampleResizedCrop(
  rng: Random,
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  out: CropBox = { top: 0, left: 0, height: 0, width: 0 },
): CropBox {
  const area = height * width;
  const logRatioLow = Math.log(ratio[0]);
  const logRatioHigh = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + rng.uniform() * (scale[1] - scale[0]));
    const aspect = Math.exp(logRatioLow + rng.uniform() * (logRatioHigh - logRatioLow));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      out.top = rng.int(height - h + 1);
      out.left = rng.int(width - w + 1);
      out.height = h;
      out.width = w;
      return out;
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  out.top = Math.floor((height - h) / 2);
  out.left = Math.floor((width - w) / 2);
  out.height = h;
  out.width = w;
  return out;
}

// ITU-R 601-2 luma, as torchvision's rgb_to_grayscale, for one-channel models
const LUMA = [0.2989, 0.587, 0.114] as const;

/**
 * Turns CIFAR-10 images into normalized float batches, with or without augmentation, written
 * straight into a caller's buffer: this runs every step, so it allocates nothing per batch.
 */
export class BatchMaker {
  private readonly imageSize: number;
  private readonly channels: number;
  private readonly rng: Random;
  private readonly crop: { scale: [number, number]; ratio: [number, number] } | null;
  private readonly padding: number;
  private readonly flip: boolean;
  private readonly mean: Float64Array;
  private readonly std: Float64Array;
  /** Normalized value of each byte per channel, for the common no-resampling case. */
  private readonly lookup: Float64Array;
  // Bilinear tables for the output's columns and rows: two source offsets and the second one's weight
  private readonly x0: Int32Array;
  private readonly x1: Int32Array;
  private readonly xWeight: Float64Array;
  private readonly y0: Int32Array;
  private readonly y1: Int32Array;
  private readonly yWeight: Float64Array;
  /** The image inside a zero border, for padded crops; null without padding. */
  private readonly padded: Uint8Array | null;
  /** The current image's crop window, reused so that batches allocate nothing. */
  private readonly box: CropBox = { top: 0, left: 0, height: 0, width: 0 };

  constructor(imageSize: number, channels: number, options: AugmentOptions, rng: Random) {
    if (!Number.isInteger(imageSize) || imageSize <= 0) throw new RangeError(`image size must be a positive integer, got ${imageSize}`);
    if (channels !== 1 && channels !== CIFAR10_CHANNELS) {
      throw new RangeError(`CIFAR-10 images can feed a model with 1 or 3 channels, not ${channels}`);
    }
    this.imageSize = imageSize;
    this.channels = channels;
    this.rng = rng;

    this.crop = options.randomResizedCrop ?? null;
    if (this.crop) {
      const [s0, s1] = this.crop.scale;
      const [r0, r1] = this.crop.ratio;
      if (!(s0 > 0 && s0 <= s1)) throw new RangeError(`randomResizedCrop scale must satisfy 0 < low ≤ high, got [${s0}, ${s1}]`);
      if (!(r0 > 0 && r0 <= r1)) throw new RangeError(`randomResizedCrop ratio must satisfy 0 < low ≤ high, got [${r0}, ${r1}]`);
    }
    this.padding = options.cropPadding ?? 0;
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new RangeError(`cropPadding must be a whole number ≥ 0, got ${this.padding}`);
    this.flip = options.horizontalFlip ?? false;
    this.mean = perChannel(options.mean, channels, 'mean');
    this.std = perChannel(options.std, channels, 'std');
    for (const s of this.std) if (!(s > 0)) throw new RangeError(`std must be positive, got ${s}`);

    this.lookup = new Float64Array(channels * 256);
    for (let c = 0; c < channels; c++) {
      for (let v = 0; v < 256; v++) this.lookup[c * 256 + v] = (v / 255 - this.mean[c]!) / this.std[c]!;
    }
    this.x0 = new Int32Array(imageSize);
    this.x1 = new Int32Array(imageSize);
    this.xWeight = new Float64Array(imageSize);
    this.y0 = new Int32Array(imageSize);
    this.y1 = new Int32Array(imageSize);
    this.yWeight = new Float64Array(imageSize);
    const paddedSide = CIFAR10_SIZE + 2 * this.padding;
    this.padded = this.padding > 0 && !this.crop ? new Uint8Array(CIFAR10_CHANNELS * paddedSide * paddedSide) : null;
  }

  /** Floats per image in the output: channels × size × size. */
  get imageFloats(): number {
    return this.channels * this.imageSize * this.imageSize;
  }

  /**
   * Writes normalized [count, channels, size, size] floats for images[indices[start + i]] into
   * `out`, augmented per the options when `augment` is true (otherwise only resized and normalized).
   */
  fill(out: Float32Array, set: ImageSet, indices: ArrayLike<number>, start: number, count: number, augment: boolean): void {
    const perImage = this.imageFloats;
    if (out.length < count * perImage) throw new RangeError(`output holds ${out.length} floats; ${count} images need ${count * perImage}`);
    if (start < 0 || start + count > indices.length) throw new RangeError(`indices ${start}…${start + count - 1} are outside 0…${indices.length - 1}`);
    for (let i = 0; i < count; i++) {
      const index = indices[start + i]!;
      if (!(index >= 0 && index < set.count)) throw new RangeError(`image index ${index} is outside the set of ${set.count}`);
      const box = this.box;
      box.top = 0;
      box.left = 0;
      box.height = CIFAR10_SIZE;
      box.width = CIFAR10_SIZE;
      let mirror = false;
      // Draw in torchvision's order: the crop, then the flip
      if (augment) {
        if (this.crop) {
          sampleResizedCrop(this.rng, CIFAR10_SIZE, CIFAR10_SIZE, this.crop.scale, this.crop.ratio, box);
        } else if (this.padding > 0) {
          box.top = this.rng.int(2 * this.padding + 1) - this.padding;
          box.left = this.rng.int(2 * this.padding + 1) - this.padding;
        }
        mirror = this.flip && this.rng.uniform() < 0.5;
      }
      this.writeImage(out, i * perImage, set.images, index * IMAGE_BYTES, box, mirror);
    }
  }

  /**
   * The no-resampling case: the whole image or a padded crop, a shift by whole pixels. Each output
   * is one source byte (0 outside the image) through the lookup table: the same values as bilinear
   * sampling at weight 0 gives, at a fraction of its cost, and this runs on every training step.
   */
  private writeShifted(out: Float32Array, offset: number, images: Uint8Array, imageStart: number, box: CropBox, mirror: boolean): void {
    const size = CIFAR10_SIZE;
    const lookup = this.lookup;
    for (let c = 0; c < CIFAR10_CHANNELS; c++) {
      const table = c * 256;
      for (let y = 0; y < size; y++) {
        const to = offset + (c * size + y) * size;
        const sourceY = box.top + y;
        if (sourceY < 0 || sourceY >= size) {
          out.fill(lookup[table]!, to, to + size);
          continue;
        }
        const from = imageStart + c * size * size + sourceY * size;
        for (let x = 0; x < size; x++) {
          const sourceX = box.left + x;
          const value = sourceX >= 0 && sourceX < size ? images[from + sourceX]! : 0;
          out[to + (mirror ? size - 1 - x : x)] = lookup[table + value]!;
        }
      }
    }
  }

  private writeImage(out: Float32Array, offset: number, images: Uint8Array, imageStart: number, box: CropBox, mirror: boolean): void {
    const size = this.imageSize;
    const plane = CIFAR10_SIZE * CIFAR10_SIZE;
    if (box.height === size && box.width === size && size === CIFAR10_SIZE && this.channels === CIFAR10_CHANNELS) {
      this.writeShifted(out, offset, images, imageStart, box, mirror);
      return;
    }

    // A padded crop resized to another size reads from a copy of the image inside a zero border,
    // so sampling needs no bounds checks
    let source = images;
    let sourceStart = imageStart;
    let side = CIFAR10_SIZE;
    let top = box.top;
    let left = box.left;
    if (this.padded) {
      side = CIFAR10_SIZE + 2 * this.padding;
      for (let c = 0; c < CIFAR10_CHANNELS; c++) {
        for (let y = 0; y < CIFAR10_SIZE; y++) {
          const from = imageStart + c * plane + y * CIFAR10_SIZE;
          const to = c * side * side + (y + this.padding) * side + this.padding;
          for (let x = 0; x < CIFAR10_SIZE; x++) this.padded[to + x] = images[from + x]!;
        }
      }
      source = this.padded;
      sourceStart = 0;
      top += this.padding;
      left += this.padding;
    }
    const x0 = this.x0, x1 = this.x1, xWeight = this.xWeight;
    const y0 = this.y0, y1 = this.y1, yWeight = this.yWeight;
    bilinearTable(left, box.width, size, 1, x0, x1, xWeight);
    bilinearTable(top, box.height, size, side, y0, y1, yWeight);

    const sourcePlane = side * side;
    const gray = this.channels === 1;
    for (let c = 0; c < this.channels; c++) {
      const mean = this.mean[c]!;
      const std = this.std[c]!;
      const base = sourceStart + c * sourcePlane;
      for (let y = 0; y < size; y++) {
        const rowA = y0[y]!;
        const rowB = y1[y]!;
        const wy = yWeight[y]!;
        const to = offset + (c * size + y) * size;
        for (let x = 0; x < size; x++) {
          const colA = x0[x]!;
          const colB = x1[x]!;
          const wx = xWeight[x]!;
          let value: number;
          if (gray) {
            value =
              LUMA[0] * bilinear(source, sourceStart + rowA, sourceStart + rowB, wy, colA, colB, wx) +
              LUMA[1] * bilinear(source, sourceStart + sourcePlane + rowA, sourceStart + sourcePlane + rowB, wy, colA, colB, wx) +
              LUMA[2] * bilinear(source, sourceStart + 2 * sourcePlane + rowA, sourceStart + 2 * sourcePlane + rowB, wy, colA, colB, wx);
          } else {
            value = bilinear(source, base + rowA, base + rowB, wy, colA, colB, wx);
          }
          out[to + (mirror ? size - 1 - x : x)] = (value / 255 - mean) / std;
        }
      }
    }
  }
}

function perChannel(values: number[] | undefined, channels: number, name: string): Float64Array {
  if (values === undefined) return new Float64Array(channels).fill(0.5);
  if (values.length === 1) return new Float64Array(channels).fill(values[0]!);
  if (values.length !== channels) throw new RangeError(`${name} has ${values.length} values for ${channels} channels`);
  return Float64Array.from(values);
}

/**
 * Source offsets and weights for resizing a `length`-pixel window starting at `start` to `size`
 * pixels: half-pixel centers (align_corners=False), no antialiasing, as PyTorch's bilinear
 * interpolate. Samples stay inside the window, as when torchvision crops before resizing.
 * Offsets are pixel positions times `stride` (1 for columns, the row length for rows).
 */
function bilinearTable(
  start: number,
  length: number,
  size: number,
  stride: number,
  first: Int32Array,
  second: Int32Array,
  weight: Float64Array,
): void {
  const scale = length / size;
  for (let o = 0; o < size; o++) {
    const real = Math.max(scale * (o + 0.5) - 0.5, 0);
    const i = Math.floor(real);
    first[o] = (start + i) * stride;
    second[o] = (start + (i < length - 1 ? i + 1 : i)) * stride;
    weight[o] = real - i;
  }
}

/** Bilinear sample from two row offsets and two column offsets, in PyTorch's order of operations. */
function bilinear(source: Uint8Array, rowA: number, rowB: number, wy: number, colA: number, colB: number, wx: number): number {
  const upper = (1 - wx) * source[rowA + colA]! + wx * source[rowA + colB]!;
  const lower = (1 - wx) * source[rowB + colA]! + wx * source[rowB + colB]!;
  return (1 - wy) * upper + wy * lower;
}
