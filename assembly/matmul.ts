// Matrix products for Linear layers. The right-hand matrix is first packed into panels of
// 8 columns ([K][8] each, zero-padded), so the inner loop reads it contiguously and keeps a
// 4×8 block of the output in eight SIMD registers; four rows of the left-hand matrix are
// interleaved likewise just before they are used.

import { fma, storePartial, alignedShare, share, at, transpose4x4 } from './simd';
import { GELU_NONE, GELU_TANH_FORWARD, GELU_ERF_FORWARD, GELU_TANH_BACKWARD, GELU_ERF_BACKWARD, geluTanh, geluErf, geluTanhSlope, geluErfSlope } from './activations';

const PANEL: i32 = 8;

/** Packs Bᵀ where w is [M, K] row-major (a Linear weight [out, in]): panel[p][k][j] = w[8p + j][k]. */
function packTransposed(dst: usize, w: usize, K: i32, M: i32): void {
  const panels = (M + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const panel = dst + (<usize>(p * K * PANEL) << 2);
    for (let j = 0; j < PANEL; j++) {
      const m = p * PANEL + j;
      for (let k = 0; k < K; k++) {
        store<f32>(at(panel, k * PANEL + j), m < M ? load<f32>(at(w, m * K + k)) : 0);
      }
    }
  }
}

/** Packs B where w is [K, M] row-major (a Linear weight used as [out, in] → in the input gradient). */
function pack(dst: usize, w: usize, K: i32, M: i32): void {
  const panels = (M + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const panel = dst + (<usize>(p * K * PANEL) << 2);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < PANEL; j++) {
        const m = p * PANEL + j;
        store<f32>(at(panel, k * PANEL + j), m < M ? load<f32>(at(w, k * M + m)) : 0);
      }
    }
  }
}

/** Floats of scratch memory each thread needs for gemm's rows of a (see gemm). */
export function gemm_scratch_floats(K: i32): i32 {
  return 4 * K;
}

/** Floats each thread needs for gemm's packed copy of B [K, M] (see gemm). */
export function gemm_packed_floats(K: i32, M: i32): i32 {
  return (M + PANEL - 1) / PANEL * PANEL * K;
}

/**
 * out[N, M] = a[N, K] · B[K, M] (+ bias[M]) (+ residual[N, M]) (+ out, when accumulate ≠ 0).
 * B is w [M, K] transposed (a Linear weight, forward) when `transposed` ≠ 0, else w [K, M] itself.
 * bias and residual are 0 when absent. `gelu` (a GELU_* mode of activations.ts) fuses the MLP's
 * activation in: a forward mode also stores GELU(out) in `geluBuffer` [N, M]; a backward mode
 * multiplies out by GELU' at the pre-activation in `geluBuffer` (with no bias, residual or accumulate). Rows are split between threads. Each thread packs all of B
 * into its own share of `packed` (gemm_packed_floats): B is small, and packing it once for all
 * threads would cost a separate dispatch, a meeting point of the threads, before every product.
 * Each block of four rows of a is first interleaved into the thread's share of `scratch`
 * ([K][4]), so the inner loop reads all four rows from one pointer at constant offsets: fewer
 * instructions per multiply-add than four row pointers would take.
 */
export function gemm(tid: i32, nt: i32, out: usize, a: usize, w: usize, transposed: i32, packed: usize, scratch: usize,
                     bias: usize, residual: usize, gelu: i32, geluBuffer: usize, N: i32, K: i32, M: i32, accumulate: i32): void {
  const start = alignedShare(N, tid, nt, 4);
  const end = alignedShare(N, tid + 1, nt, 4);
  if (start >= end) return;
  packed = at(packed, tid * gemm_packed_floats(K, M));
  if (transposed) packTransposed(packed, w, K, M);
  else pack(packed, w, K, M);
  const panels = (M + PANEL - 1) / PANEL;
  const rowBytes = <usize>K << 2;
  const rows = at(scratch, tid * gemm_scratch_floats(K));
  let n = start;
  for (; n + 4 <= end; n += 4) {
    interleaveFourRows(rows, a + <usize>n * rowBytes, K);
    for (let p = 0; p < panels; p++) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let pa = rows;
      let pb = packed + (<usize>(p * K * PANEL) << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(pb), b1 = v128.load(pb, 16);
        const a0 = v128.load32_splat(pa);
        const a1 = v128.load32_splat(pa, 4);
        const a2 = v128.load32_splat(pa, 8);
        const a3 = v128.load32_splat(pa, 12);
        c00 = fma(a0, b0, c00); c01 = fma(a0, b1, c01);
        c10 = fma(a1, b0, c10); c11 = fma(a1, b1, c11);
        c20 = fma(a2, b0, c20); c21 = fma(a2, b1, c21);
        c30 = fma(a3, b0, c30); c31 = fma(a3, b1, c31);
        pa += 16; pb += 32;
      }
      const m = p * PANEL;
      const cols = min(PANEL, M - m);
      epilogue(out, bias, residual, gelu, geluBuffer, n, m, M, cols, accumulate, c00, c01);
      epilogue(out, bias, residual, gelu, geluBuffer, n + 1, m, M, cols, accumulate, c10, c11);
      epilogue(out, bias, residual, gelu, geluBuffer, n + 2, m, M, cols, accumulate, c20, c21);
      epilogue(out, bias, residual, gelu, geluBuffer, n + 3, m, M, cols, accumulate, c30, c31);
    }
  }
  for (; n < end; n++) {
    for (let p = 0; p < panels; p++) {
      let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
      let pa = a + <usize>n * rowBytes;
      let pb = packed + (<usize>(p * K * PANEL) << 2);
      for (let k = 0; k < K; k++) {
        const a0 = v128.load32_splat(pa);
        c0 = fma(a0, v128.load(pb), c0);
        c1 = fma(a0, v128.load(pb, 16), c1);
        pa += 4; pb += 32;
      }
      const m = p * PANEL;
      epilogue(out, bias, residual, gelu, geluBuffer, n, m, M, min(PANEL, M - m), accumulate, c0, c1);
    }
  }
}

/** dst[k][r] = src[r][k] for the four rows r of K floats at src (a 4×4 transpose per four k). */
function interleaveFourRows(dst: usize, src: usize, K: i32): void {
  const rowBytes = <usize>K << 2;
  let k = 0;
  for (; k + 4 <= K; k += 4) transpose4x4(at(dst, 4 * k), 16, at(src, k), rowBytes);
  for (; k < K; k++) {
    for (let r = 0; r < 4; r++) store<f32>(at(dst, 4 * k + r), load<f32>(at(src, k) + <usize>r * rowBytes));
  }
}

/** Adds bias, residual and the previous value as asked, then stores `cols` (≤ 8) outputs of row n from column m. */
// @ts-ignore: decorator
@inline function epilogue(out: usize, bias: usize, residual: usize, gelu: i32, geluBuffer: usize, n: i32, m: i32, M: i32, cols: i32,
                          accumulate: i32, lo: v128, hi: v128): void {
  const offset = n * M + m;
  if (cols == PANEL) {
    if (bias) { lo = f32x4.add(lo, v128.load(at(bias, m))); hi = f32x4.add(hi, v128.load(at(bias, m + 4))); }
    if (residual) { lo = f32x4.add(lo, v128.load(at(residual, offset))); hi = f32x4.add(hi, v128.load(at(residual, offset + 4))); }
    if (accumulate) { lo = f32x4.add(lo, v128.load(at(out, offset))); hi = f32x4.add(hi, v128.load(at(out, offset + 4))); }
    if (gelu != GELU_NONE) {
      lo = applyGelu(gelu, at(geluBuffer, offset), lo);
      hi = applyGelu(gelu, at(geluBuffer, offset + 4), hi);
    }
    v128.store(at(out, offset), lo);
    v128.store(at(out, offset + 4), hi);
    return;
  }
  // The last panel of a row whose width is not a multiple of 8: element by element.
  for (let j = 0; j < cols; j++) {
    let v: f32 = j < 4 ? lane(lo, j) : lane(hi, j - 4);
    if (bias) v += load<f32>(at(bias, m + j));
    if (residual) v += load<f32>(at(residual, offset + j));
    if (accumulate) v += load<f32>(at(out, offset + j));
    if (gelu != GELU_NONE) v = applyGeluScalar(gelu, at(geluBuffer, offset + j), v);
    store<f32>(at(out, offset + j), v);
  }
}

/** Four outputs v under a GELU mode: a forward mode stores GELU(v) at `slot`; a backward mode returns GELU'(slot's values)·v. */
// @ts-ignore: decorator
@inline function applyGelu(mode: i32, slot: usize, v: v128): v128 {
  if (mode == GELU_TANH_FORWARD) v128.store(slot, geluTanh(v));
  else if (mode == GELU_ERF_FORWARD) v128.store(slot, geluErf(v));
  else if (mode == GELU_TANH_BACKWARD) return f32x4.mul(geluTanhSlope(v128.load(slot)), v);
  else if (mode == GELU_ERF_BACKWARD) return f32x4.mul(geluErfSlope(v128.load(slot)), v);
  return v;
}

/** applyGelu for one output, computed in a vector's lanes so that it matches the other columns to the bit. */
// @ts-ignore: decorator
@inline function applyGeluScalar(mode: i32, slot: usize, v: f32): f32 {
  if (mode == GELU_TANH_FORWARD) store<f32>(slot, f32x4.extract_lane(geluTanh(f32x4.splat(v)), 0));
  else if (mode == GELU_ERF_FORWARD) store<f32>(slot, f32x4.extract_lane(geluErf(f32x4.splat(v)), 0));
  else if (mode == GELU_TANH_BACKWARD) return f32x4.extract_lane(geluTanhSlope(f32x4.splat(load<f32>(slot))), 0) * v;
  else if (mode == GELU_ERF_BACKWARD) return f32x4.extract_lane(geluErfSlope(f32x4.splat(load<f32>(slot))), 0) * v;
  return v;
}

// @ts-ignore: decorator
@inline function lane(v: v128, i: i32): f32 {
  if (i == 0) return f32x4.extract_lane(v, 0);
  if (i == 1) return f32x4.extract_lane(v, 1);
  if (i == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

/**
 * The backward pass of a Linear layer out[N, M] = inp[N, K] · w[M, K]ᵀ + b in one dispatch:
 * dweight += doutᵀ · inp and dbias += Σₙ dout[n, :] (see weightGradient), and dinp = dout · w
 * (added to dinp when accumulate ≠ 0; skipped when dinp is 0), a gemm with `packed` and `scratch`
 * as gemm's; a backward GELU mode turns dinp into the gradient at the previous layer's pre-activation. The two parts share no output, so each thread does its share of one, then of the
 * other, without waiting in between: one meeting point of the threads instead of two.
 */
export function linear_backward(tid: i32, nt: i32, dweight: usize, dbias: usize, dinp: usize, dout: usize, inp: usize, w: usize,
                                packed: usize, scratch: usize, gelu: i32, preActivation: usize, N: i32, K: i32, M: i32,
                                accumulate: i32): void {
  weightGradient(tid, nt, dweight, dbias, dout, inp, N, K, M);
  if (dinp) gemm(tid, nt, dinp, dout, w, 0, packed, scratch, 0, 0, gelu, preActivation, N, M, K, accumulate);
}

/**
 * The weight and bias gradients of a Linear layer out = inp · Wᵀ + b:
 * dweight[M, K] += doutᵀ · inp and dbias[M] += Σₙ dout[n, :] (dbias may be 0).
 * Threads split the output rows M; rows of the batch are visited in chunks that stay in cache.
 */
function weightGradient(tid: i32, nt: i32, dweight: usize, dbias: usize, dout: usize, inp: usize, N: i32, K: i32, M: i32): void {
  const mStart = alignedShare(M, tid, nt, 4);
  const mEnd = alignedShare(M, tid + 1, nt, 4);
  // Rows of the batch per pass: a chunk of inp (≤ 16 KB) is read once per block of four output
  // rows, so it has to stay in the 32 KB L1 cache between them (×1.2–1.3 at hidden 192 and 384).
  const CHUNK: i32 = max(16, min(128, 4096 / K));
  for (let n0 = 0; n0 < N; n0 += CHUNK) {
    const n1 = min(N, n0 + CHUNK);
    for (let m = mStart; m < mEnd; m += 4) {
      const rows = min(4, mEnd - m);
      let k = 0;
      if (rows == 4) {
        for (; k + 8 <= K; k += 8) weightGradientBlock(true, true, dweight, dout, inp, n0, n1, m, 4, k, 8, K, M);
        if (k < K) weightGradientBlock(false, true, dweight, dout, inp, n0, n1, m, 4, k, K - k, K, M);
      } else {
        for (; k + 8 <= K; k += 8) weightGradientBlock(true, false, dweight, dout, inp, n0, n1, m, rows, k, 8, K, M);
        if (k < K) weightGradientBlock(false, false, dweight, dout, inp, n0, n1, m, rows, k, K - k, K, M);
      }
    }
  }
  if (dbias) {
    for (let n = 0; n < N; n++) {
      const row = at(dout, n * M);
      let m = mStart;
      for (; m + 4 <= mEnd; m += 4) v128.store(at(dbias, m), f32x4.add(v128.load(at(dbias, m)), v128.load(at(row, m))));
      for (; m < mEnd; m++) store<f32>(at(dbias, m), load<f32>(at(dbias, m)) + load<f32>(at(row, m)));
    }
  }
}

/**
 * dweight[m..m+rows, k..k+cols] += Σ_{n0 ≤ n < n1} dout[n, m+i] · inp[n, k+j], with rows ≤ 4 and
 * cols ≤ 8. `full` (cols == 8) loads whole vectors; a narrow last block gathers its columns
 * without reading past the row. `fourRows` (rows == 4) reads dout's four values at constant
 * offsets, which saves the loop three address computations. Both are constants at each call site.
 */
// @ts-ignore: decorator
@inline function weightGradientBlock(full: bool, fourRows: bool, dweight: usize, dout: usize, inp: usize, n0: i32, n1: i32,
                                     m: i32, rows: i32, k: i32, cols: i32, K: i32, M: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  // Rows past M read column 0 again (always in bounds) and are never stored.
  const r1 = rows > 1 ? 1 : 0, r2 = rows > 2 ? 2 : 0, r3 = rows > 3 ? 3 : 0;
  let pd = at(dout, n0 * M + m);
  let pi = at(inp, n0 * K + k);
  const doutStride = <usize>M << 2, inpStride = <usize>K << 2;
  for (let n = n0; n < n1; n++) {
    const b0 = full ? v128.load(pi) : gather4(pi, cols);
    const b1 = full ? v128.load(pi, 16) : cols > 4 ? gather4(pi + 16, cols - 4) : f32x4.splat(0);
    const a0 = v128.load32_splat(pd);
    const a1 = fourRows ? v128.load32_splat(pd, 4) : v128.load32_splat(pd + (<usize>r1 << 2));
    const a2 = fourRows ? v128.load32_splat(pd, 8) : v128.load32_splat(pd + (<usize>r2 << 2));
    const a3 = fourRows ? v128.load32_splat(pd, 12) : v128.load32_splat(pd + (<usize>r3 << 2));
    c00 = fma(a0, b0, c00); c01 = fma(a0, b1, c01);
    c10 = fma(a1, b0, c10); c11 = fma(a1, b1, c11);
    c20 = fma(a2, b0, c20); c21 = fma(a2, b1, c21);
    c30 = fma(a3, b0, c30); c31 = fma(a3, b1, c31);
    pd += doutStride; pi += inpStride;
  }
  addBlockRow(at(dweight, m * K + k), cols, c00, c01);
  if (rows > 1) addBlockRow(at(dweight, (m + 1) * K + k), cols, c10, c11);
  if (rows > 2) addBlockRow(at(dweight, (m + 2) * K + k), cols, c20, c21);
  if (rows > 3) addBlockRow(at(dweight, (m + 3) * K + k), cols, c30, c31);
}

// @ts-ignore: decorator
@inline function gather4(ptr: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(ptr, 12));
  return v;
}

// @ts-ignore: decorator
@inline function addBlockRow(ptr: usize, cols: i32, lo: v128, hi: v128): void {
  if (cols == 8) {
    v128.store(ptr, f32x4.add(v128.load(ptr), lo));
    v128.store(ptr, f32x4.add(v128.load(ptr, 16), hi), 16);
    return;
  }
  storePartial(ptr, f32x4.add(gather4(ptr, min(cols, 4)), lo), min(cols, 4));
  if (cols > 4) storePartial(ptr + 16, f32x4.add(gather4(ptr + 16, cols - 4), hi), cols - 4);
}
