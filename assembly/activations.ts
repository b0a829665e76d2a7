// GELU (the seed's tanh form and the exact erf form) and dropout, element by element.

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

/** Four-float steps over this thread's share of n (shares are multiples of 4; the last one takes the tail). */
// @ts-ignore: decorator
@inline function chunkStart(n: i32, tid: i32, nt: i32): i32 { return share(n >> 2, tid, nt) << 2; }
// @ts-ignore: decorator
@inline function chunkEnd(n: i32, tid: i32, nt: i32): i32 { return tid == nt - 1 ? n : share(n >> 2, tid + 1, nt) << 2; }

/** out = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))): the seed's NewGELU. */
export function gelu_tanh_forward(tid: i32, nt: i32, out: usize, inp: usize, n: i32): void {
  const end = chunkEnd(n, tid, nt);
  let i = chunkStart(n, tid, nt);
  for (; i + 4 <= end; i += 4) {
    const x = v128.load(at(inp, i));
    const e = vexp(minusTwoU(x, f32x4.mul(x, x)));
    v128.store(at(out, i), f32x4.div(x, f32x4.add(f32x4.splat(1), e)));
  }
  for (; i < end; i++) {
    const x = load<f32>(at(inp, i));
    store<f32>(at(out, i), 0.5 * x * (1 + Mathf.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x))));
  }
}

/**
 * dinp = dout · GELU'(inp), tanh form. dinp may be dout. With s = σ(2u) and e = e^{−2u}:
 * GELU' = s + x·s·(1 − s)·2u' = s + x·2u'·e·s², free of the cancellation in 1 − s.
 */
export function gelu_tanh_backward(tid: i32, nt: i32, dinp: usize, inp: usize, dout: usize, n: i32): void {
  const end = chunkEnd(n, tid, nt);
  let i = chunkStart(n, tid, nt);
  const one = f32x4.splat(1);
  for (; i + 4 <= end; i += 4) {
    const x = v128.load(at(inp, i));
    const x2 = f32x4.mul(x, x);
    // Capped so that s stays a normal float: denormals are slow, and s² would underflow.
    const e = vexp(f32x4.pmin(minusTwoU(x, x2), f32x4.splat(80)));
    const s = f32x4.div(one, f32x4.add(one, e));
    const twoDu = fma(x2, f32x4.splat(6 * SQRT_2_OVER_PI * GELU_CUBIC), f32x4.splat(2 * SQRT_2_OVER_PI));
    // (e·s)·s ≤ s first: e alone can be 5e34 and s² underflows, so other orders give inf · 0.
    const local = fma(f32x4.mul(f32x4.mul(e, s), s), f32x4.mul(x, twoDu), s);
    v128.store(at(dinp, i), f32x4.mul(local, v128.load(at(dout, i))));
  }
  for (; i < end; i++) {
    const x = load<f32>(at(inp, i));
    const t = Mathf.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * x * x);
    store<f32>(at(dinp, i), (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du) * load<f32>(at(dout, i)));
  }
}

/** out = 0.5·x·(1 + erf(x/√2)): exact GELU, as Hugging Face's "gelu". */
export function gelu_erf_forward(tid: i32, nt: i32, out: usize, inp: usize, n: i32): void {
  const end = chunkEnd(n, tid, nt);
  let i = chunkStart(n, tid, nt);
  for (; i + 4 <= end; i += 4) {
    const x = v128.load(at(inp, i));
    const e = verf(f32x4.mul(x, f32x4.splat(INV_SQRT_2)));
    v128.store(at(out, i), f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), e)));
  }
  for (; i < end; i++) {
    const x = f32x4.splat(load<f32>(at(inp, i)));
    const e = verf(f32x4.mul(x, f32x4.splat(INV_SQRT_2)));
    store<f32>(at(out, i), f32x4.extract_lane(f32x4.mul(f32x4.mul(f32x4.splat(0.5), x), f32x4.add(f32x4.splat(1), e)), 0));
  }
}

/** dinp = dout · (Φ(x) + x·φ(x)), exact GELU. dinp may be dout. */
export function gelu_erf_backward(tid: i32, nt: i32, dinp: usize, inp: usize, dout: usize, n: i32): void {
  const end = chunkEnd(n, tid, nt);
  let i = chunkStart(n, tid, nt);
  for (; i + 4 <= end; i += 4) {
    v128.store(at(dinp, i), f32x4.mul(geluErfSlope(v128.load(at(inp, i))), v128.load(at(dout, i))));
  }
  for (; i < end; i++) {
    const slope = f32x4.extract_lane(geluErfSlope(f32x4.splat(load<f32>(at(inp, i)))), 0);
    store<f32>(at(dinp, i), slope * load<f32>(at(dout, i)));
  }
}

// @ts-ignore: decorator
@inline function geluErfSlope(x: v128): v128 {
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
