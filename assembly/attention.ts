// Multi-head self-attention, fused per (image, head): scores, softmax, dropout and the weighted
// sum of values never leave a thread's cache. qkv is [B, T, 3C]: the queries of all heads, then
// the keys, then the values; head h owns columns h·hs … (h+1)·hs of each third.

import { fma, vexp, hsum, splatMax, splatSum, storePartial, share, at, uniformAt, transpose4x4 } from './simd';

// @ts-ignore: decorator
@inline function padded(T: i32): i32 { return (T + 3) & ~3; }

/** Query rows whose scores attention_forward computes together. */
const QUERY_BLOCK: i32 = 4;

/** Floats of scratch memory each thread needs (see attention_forward / attention_backward). */
export function attention_scratch_floats(T: i32, hs: i32): i32 {
  const forward = (hs + QUERY_BLOCK) * padded(T) + QUERY_BLOCK * hs;
  const backward = (hs + 2 * T) * padded(T);
  return max(forward, backward);
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
 * dst[r·dstStride + d] = Σ_{i < count} coeff[i·coeffStride + r] · src[i·srcStride + d] for the
 * first `rows` (≤ 4) of four rows r, d < hs: four rows of dSᵀ·Q (dK) or Pᵀ·dOut (dV) at once,
 * whose four coefficients for one i sit side by side. Coefficients of rows past `rows` are read
 * (within dS's padded rows, or into the next row of P and at most 12 bytes past its end, inside
 * the allocator's padding) but their sums are not stored.
 */
function fourColumnsSum(dst: usize, dstStride: i32, rows: i32, coeff: usize, coeffStride: i32, src: usize, srcStride: i32,
                        count: i32, hs: i32): void {
  const dstBytes = <usize>dstStride << 2, coeffBytes = <usize>coeffStride << 2, srcBytes = <usize>srcStride << 2;
  for (let d = 0; d < hs; d += 8) {
    const left = hs - d;
    if (left > 4) block4x8(true, at(dst, d), dstBytes, rows, left, coeff, coeffBytes, at(src, d), srcBytes, count);
    else block4x8(false, at(dst, d), dstBytes, rows, left, coeff, coeffBytes, at(src, d), srcBytes, count);
  }
}

/**
 * The 4×8 register block shared by attention's products (gemm's inner loop, with its own
 * epilogue): dst[r·dstBytes + j] = Σ_{i < count} a[i·aStep + 4r] · b[i·bStep + j] for rows r < 4
 * and j < 8 (j < 4 when not `wide`, a constant at each call site); the four a values are read at
 * constant offsets from one pointer. Only the first `rows` rows and `cols` columns are stored.
 */
// @ts-ignore: decorator
@inline function block4x8(wide: bool, dst: usize, dstBytes: usize, rows: i32, cols: i32, a: usize, aStep: usize,
                          b: usize, bStep: usize, count: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let pa = a, pb = b;
  for (let i = 0; i < count; i++) {
    const b0 = v128.load(pb);
    const b1 = wide ? v128.load(pb, 16) : b0;
    const a0 = v128.load32_splat(pa), a1 = v128.load32_splat(pa, 4);
    const a2 = v128.load32_splat(pa, 8), a3 = v128.load32_splat(pa, 12);
    c00 = fma(a0, b0, c00); c10 = fma(a1, b0, c10); c20 = fma(a2, b0, c20); c30 = fma(a3, b0, c30);
    if (wide) { c01 = fma(a0, b1, c01); c11 = fma(a1, b1, c11); c21 = fma(a2, b1, c21); c31 = fma(a3, b1, c31); }
    pa += aStep; pb += bStep;
  }
  storeRowPart(dst, cols, c00, c01);
  if (rows > 1) storeRowPart(dst + dstBytes, cols, c10, c11);
  if (rows > 2) storeRowPart(dst + 2 * dstBytes, cols, c20, c21);
  if (rows > 3) storeRowPart(dst + 3 * dstBytes, cols, c30, c31);
}

/** Stores min(cols, 8) floats from lo and hi at ptr. */
// @ts-ignore: decorator
@inline function storeRowPart(ptr: usize, cols: i32, lo: v128, hi: v128): void {
  storePartial(ptr, lo, cols);
  if (cols > 4) storePartial(ptr + 16, hi, cols - 4);
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

/**
 * scores[r·Tp + j] = Σ_d queries[4d + r] · transposed[d·Tp + j] for four query rows r (interleaved
 * [hs][4] by interleaveQueries) against all Tp keys, eight keys at a time: each key vector
 * loaded serves four rows.
 */
function fourRowsTimesTransposed(scores: usize, queries: usize, transposed: usize, hs: i32, Tp: i32): void {
  const TpBytes = <usize>Tp << 2;
  let j = 0;
  for (; j + 8 <= Tp; j += 8) block4x8(true, at(scores, j), TpBytes, 4, 8, queries, 16, at(transposed, j), TpBytes, hs);
  if (j < Tp) block4x8(false, at(scores, j), TpBytes, 4, 4, queries, 16, at(transposed, j), TpBytes, hs);
}

/** dst[4d + r] = src[r·stride + d] for the four rows r of hs floats at src. */
function interleaveQueries(dst: usize, src: usize, stride: i32, hs: i32): void {
  const strideBytes = <usize>stride << 2;
  let d = 0;
  for (; d + 4 <= hs; d += 4) transpose4x4(at(dst, QUERY_BLOCK * d), 16, at(src, d), strideBytes);
  for (; d < hs; d++) {
    for (let r = 0; r < QUERY_BLOCK; r++) store<f32>(at(dst, QUERY_BLOCK * d + r), load<f32>(at(src, r * stride + d)));
  }
}

/** transposed[d·Tp + j] = src[j·stride + d] for j < T (zero for T ≤ j < Tp): a head's keys or values. */
function transposeHead(transposed: usize, src: usize, stride: i32, T: i32, Tp: i32, hs: i32): void {
  const strideBytes = <usize>stride << 2, TpBytes = <usize>Tp << 2;
  let j = 0;
  if ((hs & 3) == 0) {
    for (; j + 4 <= T; j += 4) {
      for (let d = 0; d < hs; d += 4) transpose4x4(at(transposed, d * Tp + j), TpBytes, at(src, j * stride + d), strideBytes);
    }
  }
  for (; j < Tp; j++) {
    for (let d = 0; d < hs; d++) store<f32>(at(transposed, d * Tp + j), j < T ? load<f32>(at(src, j * stride + d)) : 0);
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
 * token alone, when nothing else reads the other rows). Scores are computed four query rows at
 * a time.
 */
export function attention_forward(tid: i32, nt: i32, out: usize, att: usize, qkv: usize, scratch: usize,
                                  B: i32, T: i32, C: i32, NH: i32, queries: i32, dropout: f32, seed: u32): void {
  const hs = C / NH, Tp = padded(T), C3 = 3 * C;
  const scale: f32 = 1.0 / Mathf.sqrt(<f32>hs);
  const keysT = at(scratch, tid * attention_scratch_floats(T, hs));
  const scores = at(keysT, hs * Tp);
  const block = at(scores, QUERY_BLOCK * Tp);
  const tail = tailMask(T);
  for (let bh = share(B * NH, tid, nt), end = share(B * NH, tid + 1, nt); bh < end; bh++) {
    const b = bh / NH, h = bh % NH;
    const base = at(qkv, b * T * C3);
    transposeHead(keysT, at(base, C + h * hs), C3, T, Tp, hs);
    for (let i0 = 0; i0 < queries; i0 += QUERY_BLOCK) {
      const rows = min(QUERY_BLOCK, queries - i0);
      if (rows == QUERY_BLOCK) {
        interleaveQueries(block, at(base, i0 * C3 + h * hs), C3, hs);
        fourRowsTimesTransposed(scores, block, keysT, hs, Tp);
      } else {
        for (let r = 0; r < rows; r++) rowTimesTransposed(at(scores, r * Tp), at(base, (i0 + r) * C3 + h * hs), keysT, hs, Tp);
      }
      for (let r = 0; r < rows; r++) {
        const i = i0 + r;
        const row = at(scores, r * Tp);
        const inv = exponentiate(row, Tp, scale, tail);
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
}

/**
 * row[j] ← e^(scale·(row[j] − max)) for j < T (a negligible e^-80 for the padding up to Tp);
 * returns 1 / Σ_j row[j] in every lane: the factor that turns them into softmax probabilities.
 * `tail` (tailMask) marks the real entries of the last vector, so one vector store turns the
 * padding into -3e38 (scalar stores there would stall the vector loads that follow).
 */
function exponentiate(row: usize, Tp: i32, scale: f32, tail: v128): v128 {
  const last = at(row, Tp - 4);
  v128.store(last, v128.bitselect(v128.load(last), f32x4.splat(-3.0e38), tail));
  let vmax = f32x4.splat(-3.0e38);
  for (let j = 0; j < Tp; j += 4) vmax = f32x4.pmax(vmax, v128.load(at(row, j)));
  const rowMax = splatMax(vmax), vscale = f32x4.splat(scale);
  let vsum = f32x4.splat(0);
  for (let j = 0; j < Tp; j += 4) {
    const e = vexp(f32x4.mul(f32x4.sub(v128.load(at(row, j)), rowMax), vscale));
    vsum = f32x4.add(vsum, e);
    v128.store(at(row, j), e);
  }
  return f32x4.div(f32x4.splat(1), splatSum(vsum));
}

/** Lanes j of the last vector of a padded row (j from padded(T) − 4) that hold a real entry, j < T. */
function tailMask(T: i32): v128 {
  const first = padded(T) - 4;
  return i32x4.lt_s(i32x4(first, first + 1, first + 2, first + 3), i32x4.splat(T));
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
    transposeHead(valuesT, at(base, 2 * C + h * hs), C3, T, Tp, hs);
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
    for (let j = 0; j < T; j += 4) {
      const rows = min(4, T - j);
      fourColumnsSum(at(dbase, j * C3 + C + h * hs), C3, rows, at(dscores, j), Tp, at(base, h * hs), C3, queries, hs);
      if (dropout > 0) fourColumnsSum(at(dbase, j * C3 + 2 * C + h * hs), C3, rows, at(kept, j), Tp, gbase, C, queries, hs);
      else fourColumnsSum(at(dbase, j * C3 + 2 * C + h * hs), C3, rows, at(probs, j), T, gbase, C, queries, hs);
    }
  }
}
