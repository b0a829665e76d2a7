/**
 * Bicubic resampling as PyTorch's `F.interpolate(mode="bicubic", align_corners=False)`, the way
 * transformers' `interpolate_pos_encoding` and timm resize a ViT's grid of position embeddings.
 */

/** PyTorch's cubic convolution constant (Keys' kernel with a = −0.75, as OpenCV). */
const A = -0.75;

/** The kernel for |x| ≤ 1. */
function cubicNear(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}

/** The kernel for 1 < |x| < 2. */
function cubicFar(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/** One output position's four source indices (clamped to the border) and their weights. */
interface Taps {
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Taps of every output position along one axis: half-pixel centres (source = scale·(o + ½) − ½,
 * not clamped at 0, unlike bilinear), the 4 neighbours floor(source) − 1 … + 2 clamped to the
 * edge, weighted by the cubic kernel at their distance.
 */
function axisTaps(inSize: number, outSize: number): Taps {
  const index = new Int32Array(4 * outSize);
  const weight = new Float64Array(4 * outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const real = scale * (o + 0.5) - 0.5;
    // PyTorch's guard_index_and_lambda: the index stays inside, the fraction inside [0, 1]
    const floor = Math.min(Math.floor(real), inSize - 1);
    const t = Math.min(Math.max(real - floor, 0), 1);
    const weights = [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
    for (let k = 0; k < 4; k++) {
      index[4 * o + k] = Math.max(0, Math.min(floor - 1 + k, inSize - 1));
      weight[4 * o + k] = weights[k]!;
    }
  }
  return { index, weight };
}

/**
 * Resizes `src`, laid out [h, w, channels], to [outH, outW, channels] by bicubic interpolation.
 * Each output is Σ_y wy · (Σ_x wx · src), along the width first as PyTorch sums, in float64.
 * Equal sizes give back an exact copy (the kernel's weights are then 0, 1, 0, 0).
 */
export function resizeBicubic(src: Float32Array, channels: number, h: number, w: number, outH: number, outW: number): Float32Array {
  for (const [name, v] of [
    ['channels', channels],
    ['h', h],
    ['w', w],
    ['outH', outH],
    ['outW', outW],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resizeBicubic: ${name} must be a positive integer, got ${v}`);
  }
  if (src.length !== h * w * channels) {
    throw new RangeError(`resizeBicubic: ${src.length} values is not ${h}×${w}×${channels}`);
  }
  const rows = axisTaps(h, outH);
  const cols = axisTaps(w, outW);
  const out = new Float32Array(outH * outW * channels);
  const rowSum = new Float64Array(channels);
  const sum = new Float64Array(channels);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      sum.fill(0);
      for (let ky = 0; ky < 4; ky++) {
        const rowStart = rows.index[4 * oy + ky]! * w;
        rowSum.fill(0);
        for (let kx = 0; kx < 4; kx++) {
          const from = (rowStart + cols.index[4 * ox + kx]!) * channels;
          const wx = cols.weight[4 * ox + kx]!;
          for (let c = 0; c < channels; c++) rowSum[c]! += wx * src[from + c]!;
        }
        const wy = rows.weight[4 * oy + ky]!;
        for (let c = 0; c < channels; c++) sum[c]! += wy * rowSum[c]!;
      }
      out.set(sum, (oy * outW + ox) * channels);
    }
  }
  return out;
}
