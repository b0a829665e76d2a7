// Multi-head self-attention, fused per (image, head): scores, softmax, dropout and the weighted
// sum of values never leave a thread's cache. qkv is [B, T, 3C]: the queries of all heads, then
// the keys, then the values; head h owns columns h·hs … (h+1)·hs of each third.

import { fma, vexp, hsum, hmax, storePartial, loadPartial, share, at, uniformAt } from './simd';

// @ts-ignore: decorator
@inline function padded(T: i32): i32 { return (T + 3) & ~3; }

/** Floats of scratch memory each thread needs (see attention_forward / attention_backward). */
export function attention_scratch_floats(T: i32, hs: i32): i32 {
  return (hs + 4) * padded(T);
}

/** dst[d] = Σ_j coeff[j] · src[j·stride + d] for d < hs: a row of P·V (or dS·K). */
function weightedRowSum(dst: usize, coeff: usize, src: usize, stride: i32, T: i32, hs: i32): void {
  const strideBytes = <usize>stride << 2;
  for (let d = 0; d < hs; d += 16) {
    const left = hs - d;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = at(src, d);
    for (let j = 0; j < T; j++) {
      const w = v128.load32_splat(at(coeff, j));
      a0 = fma(w, v128.load(p), a0);
      if (left > 4) a1 = fma(w, v128.load(p, 16), a1);
      if (left > 8) a2 = fma(w, v128.load(p, 32), a2);
      if (left > 12) a3 = fma(w, v128.load(p, 48), a3);
      p += strideBytes;
    }
    const o = at(dst, d);
    storePartial(o, a0, left);
    if (left > 4) storePartial(o + 16, a1, left - 4);
    if (left > 8) storePartial(o + 32, a2, left - 8);
    if (left > 12) storePartial(o + 48, a3, left - 12);
  }
}

/** rows[j·stride + d] += coeff[j] · vec[d] for j < T, d < hs: the rank-1 updates of dK and dV. */
function rankOneUpdate(rows: usize, stride: i32, coeff: usize, vec: usize, T: i32, hs: i32): void {
  const strideBytes = <usize>stride << 2;
  for (let d = 0; d < hs; d += 16) {
    const left = hs - d;
    const v0 = loadPartial(at(vec, d), left);
    const v1 = left > 4 ? loadPartial(at(vec, d + 4), left - 4) : f32x4.splat(0);
    const v2 = left > 8 ? loadPartial(at(vec, d + 8), left - 8) : f32x4.splat(0);
    const v3 = left > 12 ? loadPartial(at(vec, d + 12), left - 12) : f32x4.splat(0);
    let p = at(rows, d);
    for (let j = 0; j < T; j++) {
      const w = v128.load32_splat(at(coeff, j));
      storePartial(p, fma(w, v0, loadPartial(p, left)), left);
      if (left > 4) storePartial(p + 16, fma(w, v1, loadPartial(p + 16, left - 4)), left - 4);
      if (left > 8) storePartial(p + 32, fma(w, v2, loadPartial(p + 32, left - 8)), left - 8);
      if (left > 12) storePartial(p + 48, fma(w, v3, loadPartial(p + 48, left - 12)), left - 12);
      p += strideBytes;
    }
  }
}

/**
 * row[j] = Σ_d vec[d] · transposed[d·Tp + j] for j < Tp: one row of Q·Kᵀ (or dOut·Vᵀ)
 * against a head's keys (values) transposed to [hs][Tp] in scratch.
 */
function rowTimesTransposed(row: usize, vec: usize, transposed: usize, hs: i32, Tp: i32): void {
  const strideBytes = <usize>Tp << 2;
  let j = 0;
  for (; j + 16 <= Tp; j += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = at(transposed, j);
    for (let d = 0; d < hs; d++) {
      const q = v128.load32_splat(at(vec, d));
      a0 = fma(q, v128.load(p), a0);
      a1 = fma(q, v128.load(p, 16), a1);
      a2 = fma(q, v128.load(p, 32), a2);
      a3 = fma(q, v128.load(p, 48), a3);
      p += strideBytes;
    }
    v128.store(at(row, j), a0);
    v128.store(at(row, j + 4), a1);
    v128.store(at(row, j + 8), a2);
    v128.store(at(row, j + 12), a3);
  }
  for (; j < Tp; j += 4) {
    let a0 = f32x4.splat(0);
    let p = at(transposed, j);
    for (let d = 0; d < hs; d++) {
      a0 = fma(v128.load32_splat(at(vec, d)), v128.load(p), a0);
      p += strideBytes;
    }
    v128.store(at(row, j), a0);
  }
}

/** transposed[d·Tp + j] = scale · src[j·stride + d] for j < T (zero for T ≤ j < Tp). */
function transposeHead(transposed: usize, src: usize, stride: i32, T: i32, Tp: i32, hs: i32, scale: f32): void {
  for (let j = 0; j < Tp; j++) {
    const row = at(src, j * stride);
    for (let d = 0; d < hs; d++) {
      store<f32>(at(transposed, d * Tp + j), j < T ? load<f32>(at(row, d)) * scale : 0);
    }
  }
}

/** The keep-or-drop multiplier (0 or 1/(1−p)) of attention dropout for probability `index`. */
// @ts-ignore: decorator
@inline function dropMultiplier(seed: u32, index: u32, p: f32): f32 {
  return uniformAt(seed, index) < p ? 0 : 1.0 / (1.0 - p);
}

/**
 * out[B, T, C] = softmax(Q·Kᵀ/√hs)·V per head; att[B, NH, T, T] keeps the probabilities
 * (before dropout, as PyTorch returns them). dropout = 0 turns attention dropout off.
 */
export function attention_forward(tid: i32, nt: i32, out: usize, att: usize, qkv: usize, scratch: usize,
                                  B: i32, T: i32, C: i32, NH: i32, dropout: f32, seed: u32): void {
  const hs = C / NH, Tp = padded(T), C3 = 3 * C;
  const scale: f32 = 1.0 / Mathf.sqrt(<f32>hs);
  const keysT = at(scratch, tid * attention_scratch_floats(T, hs));
  const row = at(keysT, hs * Tp);
  for (let bh = share(B * NH, tid, nt), end = share(B * NH, tid + 1, nt); bh < end; bh++) {
    const b = bh / NH, h = bh % NH;
    const base = at(qkv, b * T * C3);
    transposeHead(keysT, at(base, C + h * hs), C3, T, Tp, hs, scale);
    for (let i = 0; i < T; i++) {
      rowTimesTransposed(row, at(base, i * C3 + h * hs), keysT, hs, Tp);
      for (let j = T; j < Tp; j++) store<f32>(at(row, j), -3.0e38);
      let vmax = f32x4.splat(-3.0e38);
      for (let j = 0; j < Tp; j += 4) vmax = f32x4.pmax(vmax, v128.load(at(row, j)));
      const rowMax = f32x4.splat(hmax(vmax));
      let vsum = f32x4.splat(0);
      for (let j = 0; j < Tp; j += 4) {
        const e = vexp(f32x4.sub(v128.load(at(row, j)), rowMax));
        vsum = f32x4.add(vsum, e);
        v128.store(at(row, j), e);
      }
      const inv = f32x4.splat(1.0 / hsum(vsum));
      const attRow = at(att, (bh * T + i) * T);
      for (let j = 0; j < Tp; j += 4) {
        const p = f32x4.mul(v128.load(at(row, j)), inv);
        storePartial(at(attRow, j), p, T - j);
        v128.store(at(row, j), p);
      }
      if (dropout > 0) {
        for (let j = 0; j < T; j++) {
          store<f32>(at(row, j), load<f32>(at(row, j)) * dropMultiplier(seed, <u32>((bh * T + i) * T + j), dropout));
        }
      }
      weightedRowSum(at(out, (b * T + i) * C + h * hs), row, at(base, 2 * C + h * hs), C3, T, hs);
    }
  }
}

/**
 * dqkv[B, T, 3C] = the gradient of attention_forward given dout[B, T, C] (written, not added).
 * Per head: dP = dOut·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hs, dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dOut.
 */
export function attention_backward(tid: i32, nt: i32, dqkv: usize, dout: usize, qkv: usize, att: usize,
                                   scratch: usize, B: i32, T: i32, C: i32, NH: i32, dropout: f32, seed: u32): void {
  const hs = C / NH, Tp = padded(T), C3 = 3 * C;
  const scale: f32 = 1.0 / Mathf.sqrt(<f32>hs);
  const valuesT = at(scratch, tid * attention_scratch_floats(T, hs));
  const probs = at(valuesT, hs * Tp);
  const dprobs = at(probs, Tp);
  const kept = at(dprobs, Tp);
  for (let bh = share(B * NH, tid, nt), end = share(B * NH, tid + 1, nt); bh < end; bh++) {
    const b = bh / NH, h = bh % NH;
    const base = at(qkv, b * T * C3);
    const dbase = at(dqkv, b * T * C3);
    transposeHead(valuesT, at(base, 2 * C + h * hs), C3, T, Tp, hs, 1);
    for (let j = 0; j < T; j++) {
      memory.fill(at(dbase, j * C3 + C + h * hs), 0, <usize>hs << 2);
      memory.fill(at(dbase, j * C3 + 2 * C + h * hs), 0, <usize>hs << 2);
    }
    for (let i = 0; i < T; i++) {
      const g = at(dout, (b * T + i) * C + h * hs);
      rowTimesTransposed(dprobs, g, valuesT, hs, Tp);
      memory.copy(probs, at(att, (bh * T + i) * T), <usize>T << 2);
      let weights = probs;
      if (dropout > 0) {
        for (let j = 0; j < T; j++) {
          const m = dropMultiplier(seed, <u32>((bh * T + i) * T + j), dropout);
          store<f32>(at(dprobs, j), load<f32>(at(dprobs, j)) * m);
          store<f32>(at(kept, j), load<f32>(at(probs, j)) * m);
        }
        weights = kept;
      }
      const T4 = T & ~3;
      let vdot = f32x4.splat(0);
      let j = 0;
      for (; j < T4; j += 4) vdot = fma(v128.load(at(probs, j)), v128.load(at(dprobs, j)), vdot);
      let dot = hsum(vdot);
      for (; j < T; j++) dot += load<f32>(at(probs, j)) * load<f32>(at(dprobs, j));
      const vd = f32x4.splat(dot), vs = f32x4.splat(scale);
      for (j = 0; j < T4; j += 4) {
        const p = v128.load(at(probs, j));
        v128.store(at(dprobs, j), f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(at(dprobs, j)), vd)), vs));
      }
      for (; j < T; j++) {
        store<f32>(at(dprobs, j), load<f32>(at(probs, j)) * (load<f32>(at(dprobs, j)) - dot) * scale);
      }
      // dprobs now holds dS (already scaled by 1/√hs).
      weightedRowSum(at(dbase, i * C3 + h * hs), dprobs, at(base, C + h * hs), C3, T, hs);
      rankOneUpdate(at(dbase, C + h * hs), C3, dprobs, at(base, i * C3 + h * hs), T, hs);
      rankOneUpdate(at(dbase, 2 * C + h * hs), C3, weights, g, T, hs);
    }
  }
}
