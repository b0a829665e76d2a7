// Small SIMD building blocks shared by the kernels: fused multiply-add, exp, erf,
// horizontal reductions, partial stores, and the split of work between threads.

/** a·b + c. With relaxed SIMD this is one fused instruction; otherwise a multiply and an add. */
// @ts-ignore: decorator
@inline export function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** The largest of v's lanes, in every lane. Shuffles and pmax stay in SIMD registers: a scalar max is a branchy NaN check on x86. */
// @ts-ignore: decorator
@inline export function splatMax(v: v128): v128 {
  v = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.pmax(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
}

/** The sum of v's lanes, in every lane. */
// @ts-ignore: decorator
@inline export function splatSum(v: v128): v128 {
  v = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.add(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
}

/** Stores the first `count` (0..4) lanes of v at ptr: the tail of a row whose length is not a multiple of 4. */
// @ts-ignore: decorator
@inline export function storePartial(ptr: usize, v: v128, count: i32): void {
  if (count >= 4) { v128.store(ptr, v); return; }
  if (count > 0) store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(ptr, f32x4.extract_lane(v, 2), 8);
}

/** Loads the first `count` (0..4) floats at ptr, zeros elsewhere, without reading past them. */
// @ts-ignore: decorator
@inline export function loadPartial(ptr: usize, count: i32): v128 {
  if (count >= 4) return v128.load(ptr);
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  return v;
}

/**
 * e^x for four lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to r^7
 * (relative error about 2e-8), 2^n built in the exponent bits. Inputs are clamped to
 * [-80, 88.3]: e^-80 ≈ 2e-35 (not 0) keeps the result, and a softmax's probabilities made from
 * it, normal floats, since x86 takes a slow path for every denormal it produces. pmin/pmax and the round-by-adding-1.5·2^23
 * trick keep to single x86 instructions, where min/max/nearest/trunc_sat expand to many.
 */
// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.3)), f32x4.splat(-80.0));
  const magic = f32x4.splat(12582912.0); // 1.5·2^23: adding it rounds to an integer in the low mantissa bits
  const shifted = fma(x, f32x4.splat(1.44269504088896341), magic);
  const n = f32x4.sub(shifted, magic);
  let r = fma(n, f32x4.splat(-0.693359375), x);
  r = fma(n, f32x4.splat(2.12194440e-4), r);
  let p = f32x4.splat(1.0 / 5040.0);
  p = fma(p, r, f32x4.splat(1.0 / 720.0));
  p = fma(p, r, f32x4.splat(1.0 / 120.0));
  p = fma(p, r, f32x4.splat(1.0 / 24.0));
  p = fma(p, r, f32x4.splat(1.0 / 6.0));
  p = fma(p, r, f32x4.splat(0.5));
  p = fma(p, r, f32x4.splat(1.0));
  p = fma(p, r, f32x4.splat(1.0));
  // The integer n sits in shifted's low bits; (bits + 127) << 23 is 2^n's bit pattern.
  const scale = i32x4.shl(i32x4.add(shifted, i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

/** erf for four lanes (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7). */
// @ts-ignore: decorator
@inline export function verf(x: v128): v128 {
  const a = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), fma(a, f32x4.splat(0.3275911), f32x4.splat(1)));
  let p = f32x4.splat(1.061405429);
  p = fma(p, t, f32x4.splat(-1.453152027));
  p = fma(p, t, f32x4.splat(1.421413741));
  p = fma(p, t, f32x4.splat(-0.284496736));
  p = fma(p, t, f32x4.splat(0.254829592));
  p = f32x4.mul(p, t);
  const y = f32x4.sub(f32x4.splat(1), f32x4.mul(p, vexp(f32x4.neg(f32x4.mul(a, a)))));
  return v128.bitselect(f32x4.neg(y), y, f32x4.lt(x, f32x4.splat(0)));
}

/**
 * Transposes a 4×4 block of floats: row i of the source (4 floats at src + i·srcStride bytes)
 * becomes column i of the destination (rows at dst + i·dstStride bytes).
 */
// @ts-ignore: decorator
@inline export function transpose4x4(dst: usize, dstStride: usize, src: usize, srcStride: usize): void {
  const r0 = v128.load(src), r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + 2 * srcStride), r3 = v128.load(src + 3 * srcStride);
  const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
  v128.store(dst + dstStride, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
}

/** The first index of thread `tid`'s share when `total` items are split into `nt` near-equal runs. */
// @ts-ignore: decorator
@inline export function share(total: i32, tid: i32, nt: i32): i32 {
  return <i32>((<i64>total * tid) / nt);
}

/** Like share(), but every boundary falls on a multiple of `align`. */
// @ts-ignore: decorator
@inline export function alignedShare(total: i32, tid: i32, nt: i32, align: i32): i32 {
  const blocks = (total + align - 1) / align;
  return min(total, share(blocks, tid, nt) * align);
}

/** Byte address of float element `index` from `base`. */
// @ts-ignore: decorator
@inline export function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

/**
 * A counter-based random number in [0, 1) for element `index` of the stream `seed`:
 * the same for every thread split, and recomputable in the backward pass (no stored masks).
 */
// @ts-ignore: decorator
@inline export function uniformAt(seed: u32, index: u32): f32 {
  let h = index * 0x9e3779b1 + seed;
  h ^= h >>> 16; h *= 0x85ebca6b;
  h ^= h >>> 13; h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return <f32>(h >>> 8) * (1.0 / 16777216.0);
}
