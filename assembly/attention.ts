// Multi-head self-attention, fused per (image, head): scores, softmax, dropout and the weighted
// sum of values never leave a thread's cache. qkv is [B, T, 3C]: the queries of all heads, then
// the keys, then the values; head h owns columns h·hs … (h+1)·hs of each third.

import { fma, vexp, hsum, hmax, storePartial, share, at, uniformAt } from './simd';

// @ts-ignore: decorator
@inline function padded(T: i32): i32 { return (T + 3) & ~3; }

/** Floats of scratch memory each thread needs (see attention_forward / attention_backward). */
export function attention_scratch_floats(T: i32, hs: i32): i32 {
  return (hs + 2 * T + 1) * padded(T);
}

/**
 * dst[d] = Σ_j coeff[j·coeffStride] · src[j·stride + d] for j < T, d < hs: a row of P·V or dS·K
 * (coeffStride 1), or a row of dSᵀ·Q or Pᵀ·dOut (coeff walking down a column).
 */
function weightedRowSum(dst: usize, coeff: usize, coeffStride: i32, src: usize, stride: i32, T: i32, hs: i32): void {
  for (let d = 0; d < hs; d += 16) {
    const left = hs - d;
    // Each width gets its own copy of the loop, with only the registers it needs.
    if (left > 12) weightedRowSumBlock(4, at(dst, d), coeff, coeffStride, at(src, d), stride, T, left);
    else if (left > 8) weightedRowSumBlock(3, at(dst, d), coeff, coeffStride, at(src, d), stride, T, left);
    else if (left > 4) weightedRowSumBlock(2, at(dst, d), coeff, coeffStride, at(src, d), stride, T, left);
    else weightedRowSumBlock(1, at(dst, d), coeff, coeffStride, at(src, d), stride, T, left);
  }
}

/**
 * weightedRowSum for up to 4·vectors columns (`vectors` is a constant at each call site, so the
 * unused accumulators fold away). Even and odd j go to separate accumulators: a single chain of
 * dependent multiply-adds would wait on itself.
 */
// @ts-ignore: decorator
@inline function weightedRowSumBlock(vectors: i32, dst: usize, coeff: usize, coeffStride: i32, src: usize, stride: i32,
                                     T: i32, left: i32): void {
  const strideBytes = <usize>stride << 2;
  const coeffBytes = <usize>coeffStride << 2;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let e0 = f32x4.splat(0), e1 = f32x4.splat(0), e2 = f32x4.splat(0), e3 = f32x4.splat(0);
  let p = src;
  let c = coeff;
  let j = 0;
  for (; j + 2 <= T; j += 2) {
    const w = v128.load32_splat(c), u = v128.load32_splat(c + coeffBytes);
    const q = p + strideBytes;
    a0 = fma(w, v128.load(p), a0);
    e0 = fma(u, v128.load(q), e0);
    if (vectors > 1) { a1 = fma(w, v128.load(p, 16), a1); e1 = fma(u, v128.load(q, 16), e1); }
    if (vectors > 2) { a2 = fma(w, v128.load(p, 32), a2); e2 = fma(u, v128.load(q, 32), e2); }
    if (vectors > 3) { a3 = fma(w, v128.load(p, 48), a3); e3 = fma(u, v128.load(q, 48), e3); }
    p += 2 * strideBytes;
    c += 2 * coeffBytes;
  }
  if (j < T) {
    const w = v128.load32_splat(c);
    a0 = fma(w, v128.load(p), a0);
    if (vectors > 1) a1 = fma(w, v128.load(p, 16), a1);
    if (vectors > 2) a2 = fma(w, v128.load(p, 32), a2);
    if (vectors > 3) a3 = fma(w, v128.load(p, 48), a3);
  }
  storePartial(dst, f32x4.add(a0, e0), left);
  if (vectors > 1) storePartial(dst + 16, f32x4.add(a1, e1), left - 4);
  if (vectors > 2) storePartial(dst + 32, f32x4.add(a2, e2), left - 8);
  if (vectors > 3) storePartial(dst + 48, f32x4.add(a3, e3), left - 12);
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
 * Only the first `queries` query rows of each image are computed (T for all; 1 for the [CLS]
 * token alone, when nothing else reads the other rows).
 */
export function attention_forward(tid: i32, nt: i32, out: usize, att: usize, qkv: usize, scratch: usize,
                                  B: i32, T: i32, C: i32, NH: i32, queries: i32, dropout: f32, seed: u32): void {
  const hs = C / NH, Tp = padded(T), C3 = 3 * C;
  const scale: f32 = 1.0 / Mathf.sqrt(<f32>hs);
  const keysT = at(scratch, tid * attention_scratch_floats(T, hs));
  const row = at(keysT, hs * Tp);
  for (let bh = share(B * NH, tid, nt), end = share(B * NH, tid + 1, nt); bh < end; bh++) {
    const b = bh / NH, h = bh % NH;
    const base = at(qkv, b * T * C3);
    transposeHead(keysT, at(base, C + h * hs), C3, T, Tp, hs, scale);
    for (let i = 0; i < queries; i++) {
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
      weightedRowSum(at(out, (b * T + i) * C + h * hs), row, 1, at(base, 2 * C + h * hs), C3, T, hs);
    }
  }
}

/**
 * dqkv[B, T, 3C] = the gradient of attention_forward given dout[B, T, C] (written, not added).
 * Per head: dP = dOut·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hs, then dQ = dS·K, dK = dSᵀ·Q and
 * dV = Pᵀ·dOut, each row summed in registers. dS (and the dropped-out P) stay in scratch.
 * Only the first `queries` rows of each image's dout may be non-zero (as in attention_forward).
 */
export function attention_backward(tid: i32, nt: i32, dqkv: usize, dout: usize, qkv: usize, att: usize,
                                   scratch: usize, B: i32, T: i32, C: i32, NH: i32, queries: i32, dropout: f32, seed: u32): void {
  const hs = C / NH, Tp = padded(T), C3 = 3 * C;
  const scale: f32 = 1.0 / Mathf.sqrt(<f32>hs);
  const valuesT = at(scratch, tid * attention_scratch_floats(T, hs));
  const dscores = at(valuesT, hs * Tp);
  const kept = at(dscores, T * Tp);
  const T4 = T & ~3;
  for (let bh = share(B * NH, tid, nt), end = share(B * NH, tid + 1, nt); bh < end; bh++) {
    const b = bh / NH, h = bh % NH;
    const base = at(qkv, b * T * C3);
    const dbase = at(dqkv, b * T * C3);
    const probs = at(att, bh * T * T);
    transposeHead(valuesT, at(base, 2 * C + h * hs), C3, T, Tp, hs, 1);
    for (let i = queries; i < T; i++) memory.fill(at(dbase, i * C3 + h * hs), 0, <usize>hs << 2);
    for (let i = 0; i < queries; i++) {
      const g = at(dout, (b * T + i) * C + h * hs);
      const p = at(probs, i * T), ds = at(dscores, i * Tp);
      rowTimesTransposed(ds, g, valuesT, hs, Tp);
      if (dropout > 0) {
        const pk = at(kept, i * Tp);
        for (let j = 0; j < T; j++) {
          const m = dropMultiplier(seed, <u32>((bh * T + i) * T + j), dropout);
          store<f32>(at(ds, j), load<f32>(at(ds, j)) * m);
          store<f32>(at(pk, j), load<f32>(at(p, j)) * m);
        }
      }
      let vdot = f32x4.splat(0);
      let j = 0;
      for (; j < T4; j += 4) vdot = fma(v128.load(at(p, j)), v128.load(at(ds, j)), vdot);
      let dot = hsum(vdot);
      for (; j < T; j++) dot += load<f32>(at(p, j)) * load<f32>(at(ds, j));
      const vd = f32x4.splat(dot), vs = f32x4.splat(scale);
      for (j = 0; j < T4; j += 4) {
        v128.store(at(ds, j), f32x4.mul(f32x4.mul(v128.load(at(p, j)), f32x4.sub(v128.load(at(ds, j)), vd)), vs));
      }
      for (; j < T; j++) store<f32>(at(ds, j), load<f32>(at(p, j)) * (load<f32>(at(ds, j)) - dot) * scale);
      weightedRowSum(at(dbase, i * C3 + h * hs), ds, 1, at(base, C + h * hs), C3, T, hs);
    }
    const gbase = at(dout, b * T * C + h * hs);
    for (let j = 0; j < T; j++) {
      weightedRowSum(at(dbase, j * C3 + C + h * hs), at(dscores, j), Tp, at(base, h * hs), C3, queries, hs);
      if (dropout > 0) weightedRowSum(at(dbase, j * C3 + 2 * C + h * hs), at(kept, j), Tp, gbase, C, queries, hs);
      else weightedRowSum(at(dbase, j * C3 + 2 * C + h * hs), at(probs, j), T, gbase, C, queries, hs);
    }
  }
}
