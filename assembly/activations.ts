// GELU (the seed's tanh form and the exact erf form), applied in gemm's epilogue, and dropout.

import { fma, vexp, verf, share, at, uniformAt } from './simd';

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_CUBIC: f32 = 0.044715;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

/**
 * −2u for the tanh form's u = √(2/π)·(x + 0.044715·x³). The form is computed as
 * 0.5·x·(1 + tanh(u)) = x·σ(2u) = x / (1 + e^{−2u}): one exp and one division, where tanh
 * would add a second division and more.
 */
// @ts-ignore: decorator
@inline function minusTwoU(x: v128, x2: v128): v128 {
  return f32x4.mul(x, fma(x2, f32x4.splat(-2 * SQRT_2_OVER_PI * GELU_CUBIC), f32x4.splat(-2 * SQRT_2_OVER_PI)));
}

/** GELU modes of gemm's epilogue (see matmul.ts); the JavaScript side's GELU_MODES in kernels.ts. */
export const GELU_NONE: i32 = 0;
/** Also store the seed's NewGELU (tanh form) of the output. */
export const GELU_TANH_FORWARD: i32 = 1;
/** Also store the exact (erf) GELU of the output. */
export const GELU_ERF_FORWARD: i32 = 2;
/** Multiply the output by the tanh form's slope at the pre-activation. */
export const GELU_TANH_BACKWARD: i32 = 3;
/** Multiply the output by the erf form's slope at the pre-activation. */
export const GELU_ERF_BACKWARD: i32 = 4;

/** 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): the seed's NewGELU. */
// @ts-ignore: decorator
@inline export function geluTanh(x: v128): v128 {
  const e = vexp(minusTwoU(x, f32x4.mul(x, x)));
  return f32x4.div(x, f32x4.add(f32x4.splat(1), e));
}

/**
 * GELU'(x), tanh form. With s = σ(2u) and e = e^{−2u}: GELU' = s + x·s·(1 − s)·2u' = s + x·2u'·e·s²,
 * free of the cancellation in 1 − s.
 */
// @ts-ignore: decorator
@inline export function geluTanhSlope(x: v128): v128 {
  const one = f32x4.splat(1);
  const x2 = f32x4.mul(x, x);
  // Capped so that s stays a normal float: denormals are slow, and s² would underflow.
  const e = vexp(f32x4.pmin(minusTwoU(x, x2), f32x4.splat(80)));
  const s = f32x4.div(one, f32x4.add(one, e));
  const twoDu = fma(x2, f32x4.splat(6 * SQRT_2_OVER_PI * GELU_CUBIC), f32x4.splat(2 * SQRT_2_OVER_PI));
  // (e·s)·s ≤ s first: e alone can be 5e34 and s² underflows, so other orders give inf · 0.
  return fma(f32x4.mul(f32x4.mul(e, s), s), f32x4.mul(x, twoDu), s);
}

/** 0.5·x·(1 + erf(x/√2)): exact GELU, as Hugging Face's "gelu". */
// @ts-ignore: decorator
@inline export function geluErf(x: v128): v128 {
  const e = verf(f32x4.mul(x, f32x4.splat(INV_SQRT_2)));
  return f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), e));
}

/** GELU'(x) = Φ(x) + x·φ(x), exact GELU. */
// @ts-ignore: decorator
@inline export function geluErfSlope(x: v128): v128 {
  const cdf = f32x4.mul(f32x4.splat(0.5), f32x4.add(f32x4.splat(1), verf(f32x4.mul(x, f32x4.splat(INV_SQRT_2)))));
  const pdf = f32x4.mul(f32x4.splat(INV_SQRT_2PI), vexp(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(x, x))));
  return fma(x, pdf, cdf);
}

/**
 * out = inp · keep / (1 − p), where keep is drawn from (seed, index): inverted dropout. In place is
 * fine. With the same seed it is also the backward pass (dinp = dout · keep / (1 − p)).
 */
export function dropout(tid: i32, nt: i32, out: usize, inp: usize, n: i32, p: f32, seed: u32): void {
  const scale: f32 = 1.0 / (1.0 - p);
  for (let i = share(n, tid, nt), end = share(n, tid + 1, nt); i < end; i++) {
    store<f32>(at(out, i), uniformAt(seed, <u32>i) < p ? 0 : load<f32>(at(inp, i)) * scale);
  }
}
