// WGSL versions of assembly/simd.ts's vexp and verf and of assembly/activations.ts's GELU forms,
// the same formulas step by step. WGSL's own exp may be as loose as 3 + 2·|x| ULP on a GPU, so
// this exp (a degree-7 polynomial after range reduction, ~1e-7 relative) gives the same numbers
// on every adapter and stays within float rounding of the WebAssembly kernels.

/** WGSL: `vexp(x)`, `verf(x)`, `geluTanh`, `geluTanhSlope`, `geluErf`, `geluErfSlope` (scalar f32). */
export const MATH_WGSL = /* wgsl */ `
fn vexp(x0: f32) -> f32 {
  let x = clamp(x0, -80.0, 88.3);
  let n = round(x * 1.44269504088896341);
  var r = fma(n, -0.693359375, x);
  r = fma(n, 2.12194440e-4, r);
  var p = 1.0 / 5040.0;
  p = fma(p, r, 1.0 / 720.0);
  p = fma(p, r, 1.0 / 120.0);
  p = fma(p, r, 1.0 / 24.0);
  p = fma(p, r, 1.0 / 6.0);
  p = fma(p, r, 0.5);
  p = fma(p, r, 1.0);
  p = fma(p, r, 1.0);
  // 2^n from its bit pattern: n is an integer in [-116, 127]
  return p * bitcast<f32>((i32(n) + 127) << 23u);
}
fn verf(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / fma(a, 0.3275911, 1.0);
  var p = 1.061405429;
  p = fma(p, t, -1.453152027);
  p = fma(p, t, 1.421413741);
  p = fma(p, t, -0.284496736);
  p = fma(p, t, 0.254829592);
  p = p * t;
  let y = 1.0 - p * vexp(-(a * a));
  return select(y, -y, x < 0.0);
}
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_CUBIC: f32 = 0.044715;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
fn minusTwoU(x: f32, x2: f32) -> f32 {
  return x * fma(x2, -2.0 * SQRT_2_OVER_PI * GELU_CUBIC, -2.0 * SQRT_2_OVER_PI);
}
fn geluTanh(x: f32) -> f32 {
  return x / (1.0 + vexp(minusTwoU(x, x * x)));
}
fn geluTanhSlope(x: f32) -> f32 {
  let x2 = x * x;
  let e = vexp(min(minusTwoU(x, x2), 80.0));
  let s = 1.0 / (1.0 + e);
  let twoDu = fma(x2, 6.0 * SQRT_2_OVER_PI * GELU_CUBIC, 2.0 * SQRT_2_OVER_PI);
  return fma((e * s) * s, x * twoDu, s);
}
fn geluErf(x: f32) -> f32 {
  return (0.5 * x) * (1.0 + verf(x * INV_SQRT_2));
}
fn geluErfSlope(x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + verf(x * INV_SQRT_2));
  let pdf = INV_SQRT_2PI * vexp(-0.5 * (x * x));
  return fma(x, pdf, cdf);
}
`;
