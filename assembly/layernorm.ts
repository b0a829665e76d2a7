// LayerNorm over the last dimension, with the mean and 1/std of each row kept for the backward pass.

import { hsum, share, at } from './simd';

export function layernorm_forward(tid: i32, nt: i32, out: usize, mean: usize, rstd: usize, inp: usize,
                                  weight: usize, bias: usize, N: i32, C: i32, eps: f32): void {
  const C4 = C & ~3;
  for (let n = share(N, tid, nt), end = share(N, tid + 1, nt); n < end; n++) {
    const x = at(inp, n * C), y = at(out, n * C);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c < C4; c += 4) acc = f32x4.add(acc, v128.load(at(x, c)));
    let sum = hsum(acc);
    for (; c < C; c++) sum += load<f32>(at(x, c));
    const mu = sum / <f32>C;
    const vmu = f32x4.splat(mu);
    acc = f32x4.splat(0);
    for (c = 0; c < C4; c += 4) {
      const d = f32x4.sub(v128.load(at(x, c)), vmu);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let sq = hsum(acc);
    for (; c < C; c++) { const d = load<f32>(at(x, c)) - mu; sq += d * d; }
    const s: f32 = 1.0 / Mathf.sqrt(sq / <f32>C + eps);
    const vs = f32x4.splat(s);
    for (c = 0; c < C4; c += 4) {
      const normed = f32x4.mul(f32x4.sub(v128.load(at(x, c)), vmu), vs);
      v128.store(at(y, c), f32x4.add(f32x4.mul(normed, v128.load(at(weight, c))), v128.load(at(bias, c))));
    }
    for (; c < C; c++) store<f32>(at(y, c), (load<f32>(at(x, c)) - mu) * s * load<f32>(at(weight, c)) + load<f32>(at(bias, c)));
    store<f32>(at(mean, n), mu);
    store<f32>(at(rstd, n), s);
  }
}

/**
 * dinp += the gradient through the LayerNorm. The weight and bias gradients of this thread's rows
 * go to partial + tid·2C (C for the weight, then C for the bias); layernorm_reduce adds them up.
 */
export function layernorm_backward(tid: i32, nt: i32, dinp: usize, partial: usize, dout: usize, inp: usize,
                                   weight: usize, mean: usize, rstd: usize, N: i32, C: i32): void {
  const dw = at(partial, tid * 2 * C), db = at(dw, C);
  memory.fill(dw, 0, <usize>(2 * C) << 2);
  const C4 = C & ~3;
  const invC: f32 = 1.0 / <f32>C;
  for (let n = share(N, tid, nt), end = share(N, tid + 1, nt); n < end; n++) {
    const x = at(inp, n * C), g = at(dout, n * C), dx = at(dinp, n * C);
    const mu = f32x4.splat(load<f32>(at(mean, n)));
    const s = load<f32>(at(rstd, n));
    const vs = f32x4.splat(s);
    // Two row means: of dnorm = w·dout, and of dnorm·normed.
    let accA = f32x4.splat(0), accB = f32x4.splat(0);
    let c = 0;
    for (; c < C4; c += 4) {
      const normed = f32x4.mul(f32x4.sub(v128.load(at(x, c)), mu), vs);
      const gc = v128.load(at(g, c));
      const dnorm = f32x4.mul(v128.load(at(weight, c)), gc);
      accA = f32x4.add(accA, dnorm);
      accB = f32x4.add(accB, f32x4.mul(dnorm, normed));
      v128.store(at(dw, c), f32x4.add(v128.load(at(dw, c)), f32x4.mul(normed, gc)));
      v128.store(at(db, c), f32x4.add(v128.load(at(db, c)), gc));
    }
    let sumA = hsum(accA), sumB = hsum(accB);
    const muS = f32x4.extract_lane(mu, 0);
    for (let t = c; t < C; t++) {
      const normed = (load<f32>(at(x, t)) - muS) * s;
      const gc = load<f32>(at(g, t));
      const dnorm = load<f32>(at(weight, t)) * gc;
      sumA += dnorm; sumB += dnorm * normed;
      store<f32>(at(dw, t), load<f32>(at(dw, t)) + normed * gc);
      store<f32>(at(db, t), load<f32>(at(db, t)) + gc);
    }
    const meanA = f32x4.splat(sumA * invC), meanB = f32x4.splat(sumB * invC);
    for (c = 0; c < C4; c += 4) {
      const normed = f32x4.mul(f32x4.sub(v128.load(at(x, c)), mu), vs);
      const dnorm = f32x4.mul(v128.load(at(weight, c)), v128.load(at(g, c)));
      const grad = f32x4.mul(f32x4.sub(f32x4.sub(dnorm, meanA), f32x4.mul(normed, meanB)), vs);
      v128.store(at(dx, c), f32x4.add(v128.load(at(dx, c)), grad));
    }
    const mA = sumA * invC, mB = sumB * invC;
    for (; c < C; c++) {
      const normed = (load<f32>(at(x, c)) - muS) * s;
      const dnorm = load<f32>(at(weight, c)) * load<f32>(at(g, c));
      store<f32>(at(dx, c), load<f32>(at(dx, c)) + (dnorm - mA - normed * mB) * s);
    }
  }
}

/**
 * dweight += Σ_t partial[t][0:C], dbias += Σ_t partial[t][C:2C], for the `parts` partial rows of
 * layernorm_backward (one per thread that ran it), summed in order t = 0, 1, …; each thread takes
 * its share of the columns.
 */
export function layernorm_reduce(tid: i32, nt: i32, dweight: usize, dbias: usize, partial: usize, C: i32, parts: i32): void {
  for (let c = share(C, tid, nt), end = share(C, tid + 1, nt); c < end; c++) {
    let w = load<f32>(at(dweight, c)), b = load<f32>(at(dbias, c));
    for (let t = 0; t < parts; t++) {
      w += load<f32>(at(partial, t * 2 * C + c));
      b += load<f32>(at(partial, t * 2 * C + C + c));
    }
    store<f32>(at(dweight, c), w);
    store<f32>(at(dbias, c), b);
  }
}
