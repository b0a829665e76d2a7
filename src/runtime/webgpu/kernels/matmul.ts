// Matrix products for Linear layers on WebGPU: gemm with its epilogues, and linear_backward.
// One tiled product serves all three products: a workgroup of 256 threads computes a 64×64 tile
// of C = A·B, each thread a 4×4 block, through 16-deep slices of A and B in workgroup memory;
// A and B are read through strides, so Bᵀ, B and doutᵀ need no packing. Sums over k run in order
// k = 0, 1, … like the WebAssembly kernel's. The weight gradient sums over all N rows of the
// batch: it is split into fixed chunks of rows whose partial products a second pass adds in order
// (deterministic, no atomics), so narrow outputs (48×48) still give the GPU hundreds of workgroups.
import { elementwise } from './elementwise.js';
import { MATH_WGSL } from './math.js';
import { FLAT_WORKGROUP, grid, type GpuKernel } from '../prelude.js';

const TILE = 64;
const DEPTH = 16;

const TILE_WGSL = /* wgsl */ `
${MATH_WGSL}
${FLAT_WORKGROUP}
const TILE: u32 = ${TILE}u;
const DEPTH: u32 = ${DEPTH}u;
// [DEPTH][TILE]: a slice of A (transposed) and of B
var<workgroup> tileA: array<f32, ${TILE * DEPTH}>;
var<workgroup> tileB: array<f32, ${TILE * DEPTH}>;

struct Operand { base: u32, rowStride: u32, colStride: u32 }

// C[i0.., j0..] (4×4 per thread: rows 4·(lid / 16), columns 4·(lid % 16) of the tile) of
// Σ_{k0 ≤ k < k1} A(i, k)·B(k, j) with A(i, k) = mem[A.base + i·A.rowStride + k·A.colStride] for i < I
// and B(k, j) = mem[B.base + k·B.rowStride + j·B.colStride] for j < J; outside, zeros.
fn tileProduct(lid: u32, A: Operand, B: Operand, I: u32, J: u32, i0: u32, j0: u32, k0: u32, k1: u32) -> array<vec4<f32>, 4> {
  var acc: array<vec4<f32>, 4>;
  let ty = lid / 16u;
  let tx = lid % 16u;
  for (var k = k0; k < k1; k += DEPTH) {
    for (var r = 0u; r < 4u; r++) {
      let e = lid + 256u * r;
      // the thread order that reads memory contiguously
      var i: u32; var kk: u32;
      if (A.colStride == 1u) { i = e / DEPTH; kk = e % DEPTH; } else { i = e % TILE; kk = e / TILE; }
      var va = 0.0;
      if (i0 + i < I && k + kk < k1) { va = ld(A.base + (i0 + i) * A.rowStride + (k + kk) * A.colStride); }
      tileA[kk * TILE + i] = va;
      var j: u32;
      if (B.colStride == 1u) { j = e % TILE; kk = e / TILE; } else { j = e / DEPTH; kk = e % DEPTH; }
      var vb = 0.0;
      if (j0 + j < J && k + kk < k1) { vb = ld(B.base + (k + kk) * B.rowStride + (j0 + j) * B.colStride); }
      tileB[kk * TILE + j] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < DEPTH; kk++) {
      let a = kk * TILE + 4u * ty;
      let b = kk * TILE + 4u * tx;
      let bv = vec4<f32>(tileB[b], tileB[b + 1u], tileB[b + 2u], tileB[b + 3u]);
      acc[0] = fma(vec4<f32>(tileA[a]), bv, acc[0]);
      acc[1] = fma(vec4<f32>(tileA[a + 1u]), bv, acc[1]);
      acc[2] = fma(vec4<f32>(tileA[a + 2u]), bv, acc[2]);
      acc[3] = fma(vec4<f32>(tileA[a + 3u]), bv, acc[3]);
    }
    workgroupBarrier();
  }
  return acc;
}

// out[idx] = v (+ bias[m]) (+ residual[idx]) (+ out[idx] when accumulating), then the GELU mode
// (1 tanh / 2 erf: also store GELU(out) in gbuf; 3 tanh / 4 erf: out ·= GELU'(gbuf)), as the WebAssembly epilogue.
fn epilogue(out: u32, bias: u32, residual: u32, gelu: u32, gbuf: u32, accumulate: u32, idx: u32, m: u32, v0: f32) {
  var v = v0;
  if (bias != 0u) { v += ld(bias + m); }
  if (residual != 0u) { v += ld(residual + idx); }
  if (accumulate != 0u) { v += ld(out + idx); }
  switch gelu {
    case 1u: { st(gbuf + idx, geluTanh(v)); }
    case 2u: { st(gbuf + idx, geluErf(v)); }
    case 3u: { v = geluTanhSlope(ld(gbuf + idx)) * v; }
    case 4u: { v = geluErfSlope(ld(gbuf + idx)) * v; }
    default: {}
  }
  st(out + idx, v);
}

// Stores this thread's 4×4 block of an N×M product at rows i0.., columns j0.. through the epilogue.
fn storeBlock(lid: u32, acc: array<vec4<f32>, 4>, out: u32, bias: u32, residual: u32, gelu: u32, gbuf: u32, accumulate: u32,
              N: u32, M: u32, i0: u32, j0: u32) {
  for (var r = 0u; r < 4u; r++) {
    let n = i0 + 4u * (lid / 16u) + r;
    if (n >= N) { break; }
    for (var c = 0u; c < 4u; c++) {
      let m = j0 + 4u * (lid % 16u) + c;
      if (m >= M) { break; }
      epilogue(out, bias, residual, gelu, gbuf, accumulate, n * M + m, m, acc[r][c]);
    }
  }
}
`;

const tiles = (n: number): number => Math.ceil(n / TILE);

/**
 * out[N, M] = a[N, K] · B (+ bias) (+ residual) (+ out when accumulate), B = w[M, K]ᵀ when
 * `transposed`, else w[K, M]; the GELU modes as the WebAssembly gemm. packed and scratch are ignored.
 */
export const gemm: GpuKernel = {
  args: [
    ['out', 'ptr'],
    ['a', 'ptr'],
    ['w', 'ptr'],
    ['transposed', 'u32'],
    ['packed', 'ptr'],
    ['scratch', 'ptr'],
    ['bias', 'ptr'],
    ['residual', 'ptr'],
    ['gelu', 'u32'],
    ['geluBuffer', 'ptr'],
    ['N', 'u32'],
    ['K', 'u32'],
    ['M', 'u32'],
    ['accumulate', 'u32'],
  ],
  wgsl: /* wgsl */ `${TILE_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let i0 = wid.y * TILE;
  let j0 = wid.x * TILE;
  var B = Operand(args.w, args.M, 1u);
  if (args.transposed != 0u) { B = Operand(args.w, 1u, args.K); }
  let acc = tileProduct(lid, Operand(args.a, args.K, 1u), B, args.N, args.M, i0, j0, 0u, args.K);
  storeBlock(lid, acc, args.out, args.bias, args.residual, args.gelu, args.geluBuffer, args.accumulate, args.N, args.M, i0, j0);
}`,
  dispatches: (a) => [{ entry: 'main', workgroups: [tiles(a.M!), tiles(a.N!)] }],
};

/** How linear_backward splits the batch's rows for the weight gradient: `parts` chunks of `rows` (a multiple of DEPTH). */
function weightSplit(N: number, K: number, M: number): { parts: number; rows: number } {
  // enough workgroups to fill a large GPU (~512), chunks of at least one tile of rows
  const wanted = Math.max(1, Math.min(Math.ceil(N / TILE), Math.ceil(512 / (tiles(M) * tiles(K)))));
  const rows = Math.ceil(Math.ceil(N / wanted) / DEPTH) * DEPTH;
  return { parts: Math.max(1, Math.ceil(N / rows)), rows };
}

/**
 * The backward pass of out[N, M] = inp[N, K]·w[M, K]ᵀ + b: dweight += doutᵀ·inp, dbias += Σₙ dout
 * (when dbias ≠ 0), and dinp = dout·w (added when accumulate; skipped when dinp is 0) with the GELU
 * backward mode at preActivation, as the WebAssembly kernel. The weight and bias gradients go
 * through partial sums over chunks of rows (tmp), added to dweight and dbias in chunk order: two
 * dispatches (the products, then the sums), as few as the dependence allows.
 */
export const linear_backward: GpuKernel = {
  args: [
    ['dweight', 'ptr'],
    ['dbias', 'ptr'],
    ['dinp', 'ptr'],
    ['dout', 'ptr'],
    ['inp', 'ptr'],
    ['w', 'ptr'],
    ['packed', 'ptr'],
    ['scratch', 'ptr'],
    ['gelu', 'u32'],
    ['preActivation', 'ptr'],
    ['N', 'u32'],
    ['K', 'u32'],
    ['M', 'u32'],
    ['accumulate', 'u32'],
  ],
  wgsl: /* wgsl */ `${TILE_WGSL}
// The three products in one dispatch (they share no output), told apart by the workgroup's index:
// dinp[N, K] = dout[N, M] · w[M, K] by tiles, then tmp[part][M][K] = Σ over the part's rows n of
// dout[n, m]·inp[n, k] by tiles and parts, then tmp[parts·M·K + part·M + m] = Σ over the part's rows of dout[n, m].
@compute @workgroup_size(256)
fn products(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = flatWorkgroup(wid, nwg);
  let N = args.N;
  let M = args.M;
  let K = args.K;
  let tilesK = (K + TILE - 1u) / TILE;
  let tilesM = (M + TILE - 1u) / TILE;
  var inputGroups = 0u;
  if (args.dinp != 0u) { inputGroups = tilesK * ((N + TILE - 1u) / TILE); }
  if (g < inputGroups) {
    let i0 = (g / tilesK) * TILE;
    let j0 = (g % tilesK) * TILE;
    let acc = tileProduct(lid, Operand(args.dout, M, 1u), Operand(args.w, K, 1u), N, K, i0, j0, 0u, M);
    storeBlock(lid, acc, args.dinp, 0u, 0u, args.gelu, args.preActivation, args.accumulate, N, K, i0, j0);
    return;
  }
  let rows = splitRows();
  let parts = splitParts();
  let h = g - inputGroups;
  if (h < tilesK * tilesM * parts) {
    let part = h / (tilesK * tilesM);
    let n0 = part * rows;
    let i0 = ((h / tilesK) % tilesM) * TILE;
    let j0 = (h % tilesK) * TILE;
    let acc = tileProduct(lid, Operand(args.dout, 1u, M), Operand(args.inp, K, 1u), M, K, i0, j0, n0, min(N, n0 + rows));
    storeBlock(lid, acc, args.tmp + part * M * K, 0u, 0u, 0u, 0u, 0u, M, K, i0, j0);
    return;
  }
  let b = h - tilesK * tilesM * parts;
  let groupsM = (M + 255u) / 256u;
  let m = (b % groupsM) * 256u + lid;
  let part = b / groupsM;
  if (m >= M || part >= parts) { return; }
  var s = 0.0;
  for (var n = part * rows; n < min(N, (part + 1u) * rows); n++) { s += ld(args.dout + n * M + m); }
  st(args.tmp + parts * M * K + part * M + m, s);
}

// dweight += the parts' sums, in order; then dbias likewise
@compute @workgroup_size(256)
fn reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let MK = args.M * args.K;
  let parts = splitParts();
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < MK + args.M; i += stride) {
    if (i < MK) {
      var v = ld(args.dweight + i);
      for (var p = 0u; p < parts; p++) { v += ld(args.tmp + p * MK + i); }
      st(args.dweight + i, v);
    } else if (args.dbias != 0u) {
      let m = i - MK;
      var v = ld(args.dbias + m);
      for (var p = 0u; p < parts; p++) { v += ld(args.tmp + parts * MK + p * args.M + m); }
      st(args.dbias + m, v);
    }
  }
}
// weightSplit() of the TypeScript side, for this dispatch's N, K, M
fn splitWanted() -> u32 {
  let tileCount = ((args.M + TILE - 1u) / TILE) * ((args.K + TILE - 1u) / TILE);
  return max(1u, min((args.N + TILE - 1u) / TILE, (512u + tileCount - 1u) / tileCount));
}
fn splitRows() -> u32 {
  let wanted = splitWanted();
  return ((args.N + wanted - 1u) / wanted + DEPTH - 1u) / DEPTH * DEPTH;
}
fn splitParts() -> u32 {
  let rows = splitRows();
  return max(1u, (args.N + rows - 1u) / rows);
}`,
  dispatches: (a) => {
    if (a.N === 0) return [];
    const { parts } = weightSplit(a.N!, a.K!, a.M!);
    const input = a.dinp !== 0 ? tiles(a.K!) * tiles(a.N!) : 0;
    const bias = a.dbias !== 0 ? Math.ceil(a.M! / 256) * parts : 0;
    return [
      { entry: 'products', workgroups: grid(input + tiles(a.K!) * tiles(a.M!) * parts + bias) },
      ...elementwise(a.M! * a.K! + a.M!, 'reduce'),
    ];
  },
  tmp: (a) => (a.N === 0 ? 0 : weightSplit(a.N!, a.K!, a.M!).parts * (a.M! * a.K! + a.M!)),
};
