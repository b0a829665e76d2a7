// The patch embedding's unfolding of images into patches, the [CLS] token and position
// embeddings, and row copies between the token sequence and contiguous buffers.

import { share, at } from './simd';

/**
 * patches[B·P, Ch·p·p] from images[B, Ch, H, W]: row b·P + (py·G + px) holds patch (py, px) with
 * columns in the Conv2d weight's order (channel, kernel row, kernel column), so a Linear with the
 * flattened Conv2d weight is the convolution with kernel = stride = p.
 */
export function patchify(tid: i32, nt: i32, patches: usize, images: usize, B: i32, Ch: i32, H: i32, W: i32, p: i32): void {
  const G = W / p, P = (H / p) * G, K = Ch * p * p;
  for (let r = share(B * P, tid, nt), end = share(B * P, tid + 1, nt); r < end; r++) {
    const b = r / P, patch = r % P, py = patch / G, px = patch % G;
    let dst = at(patches, r * K);
    for (let c = 0; c < Ch; c++) {
      for (let ky = 0; ky < p; ky++) {
        memory.copy(dst, at(images, ((b * Ch + c) * H + py * p + ky) * W + px * p), <usize>p << 2);
        dst += <usize>p << 2;
      }
    }
  }
}

/** x[b, 0] = cls + pos[0]; x[b, 1 + t] = patchOut[b·P + t] + pos[1 + t]. */
export function embed_forward(tid: i32, nt: i32, x: usize, patchOut: usize, cls: usize, pos: usize, B: i32, T: i32, C: i32): void {
  for (let r = share(B * T, tid, nt), end = share(B * T, tid + 1, nt); r < end; r++) {
    const b = r / T, t = r % T;
    const src = t == 0 ? cls : at(patchOut, (b * (T - 1) + t - 1) * C);
    const dst = at(x, r * C), position = at(pos, t * C);
    let c = 0;
    for (; c + 4 <= C; c += 4) v128.store(at(dst, c), f32x4.add(v128.load(at(src, c)), v128.load(at(position, c))));
    for (; c < C; c++) store<f32>(at(dst, c), load<f32>(at(src, c)) + load<f32>(at(position, c)));
  }
}

/**
 * From dx[B, T, C]: dpatchOut[b·P + t] = dx[b, 1 + t] (written), dcls += Σ_b dx[b, 0],
 * dpos[t] += Σ_b dx[b, t]. Threads split the positions t, so no two write the same gradient.
 */
export function embed_backward(tid: i32, nt: i32, dpatchOut: usize, dcls: usize, dpos: usize, dx: usize, B: i32, T: i32, C: i32): void {
  for (let t = share(T, tid, nt), end = share(T, tid + 1, nt); t < end; t++) {
    const dp = at(dpos, t * C);
    for (let b = 0; b < B; b++) {
      const g = at(dx, (b * T + t) * C);
      for (let c = 0; c < C; c++) store<f32>(at(dp, c), load<f32>(at(dp, c)) + load<f32>(at(g, c)));
      if (t == 0) {
        for (let c = 0; c < C; c++) store<f32>(at(dcls, c), load<f32>(at(dcls, c)) + load<f32>(at(g, c)));
      } else {
        memory.copy(at(dpatchOut, (b * (T - 1) + t - 1) * C), g, <usize>C << 2);
      }
    }
  }
}

/** dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols (strides in floats). */
export function copy_rows(tid: i32, nt: i32, dst: usize, dstStride: i32, src: usize, srcStride: i32, rows: i32, cols: i32): void {
  for (let r = share(rows, tid, nt), end = share(rows, tid + 1, nt); r < end; r++) {
    memory.copy(at(dst, r * dstStride), at(src, r * srcStride), <usize>cols << 2);
  }
}

/**
 * Token dropping: dst[b, 0] = src[b, 0] ([CLS]) and dst[b, 1 + j] = src[b, 1 + kept[b·K + j]],
 * from src[B, T, C] to dst[B, 1 + K, C]; kept holds each image's K kept patch indices (i32).
 */
export function gather_tokens(tid: i32, nt: i32, dst: usize, src: usize, kept: usize, B: i32, T: i32, K: i32, C: i32): void {
  const Tk = 1 + K;
  for (let r = share(B * Tk, tid, nt), end = share(B * Tk, tid + 1, nt); r < end; r++) {
    const b = r / Tk, j = r % Tk;
    const t = j == 0 ? 0 : 1 + load<i32>(at(kept, b * K + j - 1));
    memory.copy(at(dst, r * C), at(src, (b * T + t) * C), <usize>C << 2);
  }
}

/** The reverse of gather_tokens: dst[B, T, C] gets src[B, 1 + K, C]'s rows where they came from, zero elsewhere. */
export function scatter_tokens(tid: i32, nt: i32, dst: usize, src: usize, kept: usize, B: i32, T: i32, K: i32, C: i32): void {
  const Tk = 1 + K;
  for (let b = share(B, tid, nt), end = share(B, tid + 1, nt); b < end; b++) {
    memory.fill(at(dst, b * T * C), 0, <usize>(T * C) << 2);
    for (let j = 0; j < Tk; j++) {
      const t = j == 0 ? 0 : 1 + load<i32>(at(kept, b * K + j - 1));
      memory.copy(at(dst, (b * T + t) * C), at(src, (b * Tk + j) * C), <usize>C << 2);
    }
  }
}
