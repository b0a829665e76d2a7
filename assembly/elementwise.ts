// Element-wise helpers: fill, scale, add, and the sum of squares for the gradient norm.

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
