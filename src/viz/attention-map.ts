/**
 * The pure pixel work of the attention figure, shared by `vit attention` and the page: the [CLS]
 * attention map normalized, upsampled to the image and blended over it with the jet colour map.
 */
import { jet, type Rgb } from './colormap.js';

/** An image and its [CLS] token's attention to the patches. */
export interface AttentionOnImage {
  /** height × width × 3 RGB bytes, interleaved, row-major. */
  image: Uint8Array;
  width: number;
  height: number;
  /** The [CLS] token's attention to each patch, gridSize × gridSize, row-major. */
  attention: Float32Array;
  gridSize: number;
}

/** Title colours: the prediction was right, wrong, or there is no ground truth. */
export const TITLE_COLOURS = { correct: '#008000', wrong: '#d00000', unknown: '#000000' } as const;

/** Opacity of the colour map over the image, as in the seed notebook. */
export const DEFAULT_ALPHA = 0.5;

/**
 * Resizes a square map to width × height by bilinear interpolation with half-pixel centres
 * (PyTorch's `interpolate(mode='bilinear', align_corners=False)`).
 */
export function upsampleBilinear(map: Float32Array, gridSize: number, width: number, height: number): Float32Array {
  if (map.length !== gridSize * gridSize) {
    throw new RangeError(`upsampleBilinear: map has ${map.length} values, expected ${gridSize}×${gridSize}`);
  }
  const output = new Float32Array(width * height);
  const xIndices = sourceSamples(gridSize, width);
  const yIndices = sourceSamples(gridSize, height);
  for (let y = 0; y < height; y++) {
    const { low: y0, high: y1, weight: wy } = yIndices[y]!;
    for (let x = 0; x < width; x++) {
      const { low: x0, high: x1, weight: wx } = xIndices[x]!;
      const top = map[y0 * gridSize + x0]! * (1 - wx) + map[y0 * gridSize + x1]! * wx;
      const bottom = map[y1 * gridSize + x0]! * (1 - wx) + map[y1 * gridSize + x1]! * wx;
      output[y * width + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return output;
}

interface SourceSample {
  low: number;
  high: number;
  /** Weight of `high`; `low` gets 1 − weight. */
  weight: number;
}

/** For each output coordinate along one axis, the two input cells it falls between. */
function sourceSamples(inputSize: number, outputSize: number): SourceSample[] {
  const ratio = inputSize / outputSize;
  const samples: SourceSample[] = [];
  for (let out = 0; out < outputSize; out++) {
    // Centre of output pixel mapped into input coordinates; PyTorch clamps below at 0.
    const source = Math.max(0, (out + 0.5) * ratio - 0.5);
    const low = Math.min(Math.floor(source), inputSize - 1);
    const high = Math.min(low + 1, inputSize - 1);
    samples.push({ low, high, weight: source - low });
  }
  return samples;
}

/** Rescales to [0, 1] by min and max; a constant map (nothing stands out) becomes all zeros. */
export function normalizeMinMax(map: Float32Array): Float32Array {
  let min = Infinity;
  let max = -Infinity;
  for (const value of map) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const range = max - min;
  const normalized = new Float32Array(map.length);
  if (range > 0) for (let i = 0; i < map.length; i++) normalized[i] = (map[i]! - min) / range;
  return normalized;
}

const JET_TABLE: Rgb[] = Array.from({ length: 256 }, (_, index) => jet(index / 255));

/**
 * The image with its attention map over it: the map is normalized by min/max, upsampled to the
 * image size, coloured with jet and blended in with opacity `alpha`. Returns RGB bytes.
 */
export function overlayAttention(item: AttentionOnImage, alpha = DEFAULT_ALPHA): Uint8Array {
  const heat = upsampleBilinear(normalizeMinMax(item.attention), item.gridSize, item.width, item.height);
  const blended = new Uint8Array(item.width * item.height * 3);
  for (let pixel = 0; pixel < heat.length; pixel++) {
    const colour = JET_TABLE[Math.round(heat[pixel]! * 255)]!;
    for (let channel = 0; channel < 3; channel++) {
      const index = pixel * 3 + channel;
      blended[index] = Math.round((1 - alpha) * item.image[index]! + alpha * colour[channel]!);
    }
  }
  return blended;
}
