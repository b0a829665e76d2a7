// Element-wise helpers: fill, scale, add, copy, the gradient norm and its clipping, and the weights'
// moving average.

import { share, at } from './simd';

/** partial[tid] = Σ x[i]² over this thread's share: for the global gradient norm. */
export function sum_squares(tid: i32, nt: i32, partial: usize, x: usize, n: i32): void {
  let acc = f32x4.splat(0);
  const start = share(n >> 2, tid, nt) << 2;
  const end = tid == nt - 1 ? n : share(n >> 2, tid + 1, nt) << 2;
  let i = start;
  for (; i + 4 <= end; i += 4) { const g = v128.load(at(x, i)); acc = f32x4.add(acc, f32x4.mul(g, g)); }
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < end; i++) { const g = load<f32>(at(x, i)); s += g * g; }
  store<f64>(partial + (<usize>tid << 3), s);
}

/**
 * The global norm of x[n] from the nt partial sums of squares sum_squares left (added in order
 * t = 0, 1, …, so every thread gets the same norm); thread 0 writes it to `norm` (one float); then
 * x *= maxNorm / (norm + 1e-6) when that factor is below 1, as torch.nn.utils.clip_grad_norm_.
 */
export function clip_gradients(tid: i32, nt: i32, x: usize, n: i32, partial: usize, maxNorm: f64, norm: usize): void {
  let sum: f64 = 0;
  for (let t = 0; t < nt; t++) sum += load<f64>(partial + (<usize>t << 3));
  const total = Math.sqrt(sum);
  if (tid == 0) store<f32>(norm, <f32>total);
  const factor = maxNorm / (total + 1e-6);
  if (factor < 1) scale(tid, nt, x, n, <f32>factor);
}

/** average = decay·average + (1 − decay)·weights over n floats (in float64, rounded once). */
export function ema(tid: i32, nt: i32, average: usize, weights: usize, n: i32, decay: f64): void {
  const rest = 1 - decay;
  for (let i = share(n, tid, nt), end = share(n, tid + 1, nt); i < end; i++) {
    store<f32>(at(average, i), <f32>(decay * <f64>load<f32>(at(average, i)) + rest * <f64>load<f32>(at(weights, i))));
  }
}

/** dst = src for n floats (the ranges must not overlap). */
export function copy(tid: i32, nt: i32, dst: usize, src: usize, n: i32): void {
  const start = share(n, tid, nt), end = share(n, tid + 1, nt);
  memory.copy(at(dst, start), at(src, start), <usize>(end - start) << 2);
}

/** x[i] = value for i < n. */
export function fill(tid: i32, nt: i32, x: usize, n: i32, value: f32): void {
  const start = share(n, tid, nt), end = share(n, tid + 1, nt);
  if (value == 0) { memory.fill(at(x, start), 0, <usize>(end - start) << 2); return; }
  for (let i = start; i < end; i++) store<f32>(at(x, i), value);
}

/** x[i] *= factor for i < n. */
export function scale(tid: i32, nt: i32, x: usize, n: i32, factor: f32): void {
  for (let i = share(n, tid, nt), end = share(n, tid + 1, nt); i < end; i++) store<f32>(at(x, i), load<f32>(at(x, i)) * factor);
}

/** out = a + b, element by element, for n floats. out may be a or b. */
export function add(tid: i32, nt: i32, out: usize, a: usize, b: usize, n: i32): void {
  const start = share(n >> 2, tid, nt) << 2;
  const end = tid == nt - 1 ? n : share(n >> 2, tid + 1, nt) << 2;
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < end; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}
