// Multi-head self-attention in WGSL, the counterpart of assembly/attention.ts: the same arguments,
// the same probabilities in att, the same dropout stream, and every sum in the WebAssembly kernel's
// order (scores and dP over d in order; the softmax's sum in four lanes j mod 4; P·V and dS·K split
// into even and odd j; dK and dV over the query rows in order), so the two agree to rounding.
//
// A workgroup works on one (image, head) and a block of query rows in workgroup memory: the block's
// queries (and, backward, its output gradients), its scores, and the head's keys or values where
// they fit beside them (the seed's and the wide config's 65 tokens do); where they do not, keys and
// values are read from memory instead, with the same arithmetic. qkv is [B, T, 3C]: all heads'
// queries, then keys, then values; head h owns columns h·hs … (h+1)·hs of each third.
import { UserError } from '../../../errors.js';
import { FLAT_WORKGROUP, grid, type GpuKernel, type GpuKernelTable } from '../prelude.js';
import { RANDOM_WGSL } from './dropout.js';

/** Floats of the shared workgroup array: with the per-row statistics, 16 KiB, WebGPU's default workgroup storage. */
const SHARED_FLOATS = 4080;
/** Query rows a workgroup takes at once, at most (also the per-row statistics' length). */
const MAX_ROWS = 16;
const WORKGROUP = 64;

/**
 * How a workgroup lays out its workgroup memory for T tokens of head size hs: `rows` query rows at
 * once, each needing `perRow` floats, beside the head's `staged` keys/values (`matrices` of T·hs
 * each: 1 forward, 2 backward) when they fit. Computed the same way in WGSL (layoutWgsl).
 */
function layout(T: number, hs: number, matrices: number, perRow: number): { rows: number; staged: boolean } {
  const staged = matrices * T * hs + perRow <= SHARED_FLOATS;
  const free = staged ? SHARED_FLOATS - matrices * T * hs : SHARED_FLOATS;
  return { rows: Math.min(MAX_ROWS, Math.floor(free / perRow)), staged };
}

const LAYOUT_WGSL = `
const SHARED_FLOATS: u32 = ${SHARED_FLOATS}u;
const MAX_ROWS: u32 = ${MAX_ROWS}u;
const WORKGROUP: u32 = ${WORKGROUP}u;
var<workgroup> tile: array<f32, SHARED_FLOATS>;
/** Per query row of the block: the scores' maximum, then 1/Σ (forward); Σ_j P·dP (backward). */
var<workgroup> rowStat: array<f32, MAX_ROWS>;
struct TileLayout { rows: u32, staged: bool }
fn tileLayout(T: u32, hs: u32, matrices: u32, perRow: u32) -> TileLayout {
  let staged = matrices * T * hs + perRow <= SHARED_FLOATS;
  let free = select(SHARED_FLOATS, SHARED_FLOATS - matrices * T * hs, staged);
  return TileLayout(min(MAX_ROWS, free / perRow), staged);
}
/** Element (j, d) of a head's keys or values: staged in the tile from float \`offset\`, or in memory from word \`global\` (row stride C3). */
fn headAt(staged: bool, offset: u32, global: u32, C3: u32, hs: u32, j: u32, d: u32) -> f32 {
  if (staged) { return tile[offset + j * hs + d]; }
  return ld(global + j * C3 + d);
}
${FLAT_WORKGROUP}
${RANDOM_WGSL}`;

/** Floats per query row forward: its scores (T) and its query (hs). */
const forwardLayout = (T: number, hs: number) => layout(T, hs, 1, T + hs);
/** Backward: its dS and its (dropped-out) probabilities (2T), its query and its output gradient (2hs). */
const backwardLayout = (T: number, hs: number) => layout(T, hs, 2, 2 * (T + hs));

/** A clear error where even one query row does not fit in workgroup memory (thousands of tokens). */
function checkFits(name: string, T: number, hs: number, rows: number): void {
  if (rows < 1) {
    throw new UserError(`${name}: ${T} tokens of head size ${hs} need more workgroup memory than the WebGPU attention kernel has ` +
      `(${SHARED_FLOATS * 4} bytes); use the WebAssembly backend`);
  }
}

const ATTENTION_ARGS = (first: readonly (readonly [string, 'ptr'])[]): GpuKernel['args'] => [
  ...first, ['scratch', 'ptr'], ['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['NH', 'u32'], ['queries', 'u32'],
  ['dropout', 'f32'], ['seed', 'u32'],
];

/**
 * out[B, T, C] = softmax(Q·Kᵀ/√hs)·V per head for the first `queries` query rows of each image;
 * att[B, NH, T, T] gets the probabilities before dropout (rows from `queries` on are left alone).
 * Softmax as the WebAssembly kernel: e^(max(scale·(s − max), −80)), summed in four lanes.
 * `scratch` is the WebAssembly threads' and is ignored.
 */
const attention_forward: GpuKernel = {
  args: ATTENTION_ARGS([['out', 'ptr'], ['att', 'ptr'], ['qkv', 'ptr']]),
  wgsl: `${LAYOUT_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  let T = args.T;
  let C = args.C;
  let hs = C / args.NH;
  let C3 = 3u * C;
  let lay = tileLayout(T, hs, 1u, T + hs);
  let blocks = (args.queries + lay.rows - 1u) / lay.rows;
  let g = flatWorkgroup(wid, nwg);
  if (g >= blocks * args.B * args.NH) { return; }
  let bh = g / blocks;
  let b = bh / args.NH;
  let h = bh % args.NH;
  let i0 = (g % blocks) * lay.rows;
  let rows = min(lay.rows, args.queries - i0);
  let q = args.qkv + b * T * C3 + h * hs;   // this head's query columns in image b; keys at +C, values at +2C
  let heads = select(0u, T * hs, lay.staged);
  let scores = heads;                        // [rows][T]
  let queries = scores + rows * T;           // [rows][hs]
  let scale = 1.0 / sqrt(f32(hs));
  if (lay.staged) {
    for (var e = lid; e < T * hs; e += WORKGROUP) { tile[e] = ld(q + C + (e / hs) * C3 + e % hs); }
  }
  for (var e = lid; e < rows * hs; e += WORKGROUP) { tile[queries + e] = ld(q + (i0 + e / hs) * C3 + e % hs); }
  workgroupBarrier();
  for (var e = lid; e < rows * T; e += WORKGROUP) {
    let r = e / T;
    let j = e % T;
    var s = 0.0;
    for (var d = 0u; d < hs; d++) { s = fma(tile[queries + r * hs + d], headAt(lay.staged, 0u, q + C, C3, hs, j, d), s); }
    tile[scores + e] = s;
  }
  workgroupBarrier();
  if (lid < rows) {
    var m = tile[scores + lid * T];
    for (var j = 1u; j < T; j++) { m = max(m, tile[scores + lid * T + j]); }
    rowStat[lid] = m;
  }
  workgroupBarrier();
  for (var e = lid; e < rows * T; e += WORKGROUP) {
    tile[scores + e] = exp(max((tile[scores + e] - rowStat[e / T]) * scale, -80.0));
  }
  workgroupBarrier();
  if (lid < rows) {
    var lanes = vec4<f32>(0.0);
    for (var j = 0u; j < T; j++) { lanes[j & 3u] += tile[scores + lid * T + j]; }
    rowStat[lid] = 1.0 / ((lanes.x + lanes.z) + (lanes.y + lanes.w));
  }
  workgroupBarrier();
  for (var e = lid; e < rows * T; e += WORKGROUP) {
    let index = (bh * T + i0 + e / T) * T + e % T;
    let p = tile[scores + e] * rowStat[e / T];
    st(args.att + index, p);
    if (args.dropout > 0.0) { tile[scores + e] = p * dropMultiplier(args.seed, index, args.dropout); }
    else { tile[scores + e] = p; }
  }
  // The keys are no longer read: the values take their place.
  if (lay.staged) {
    for (var e = lid; e < T * hs; e += WORKGROUP) { tile[e] = ld(q + 2u * C + (e / hs) * C3 + e % hs); }
  }
  workgroupBarrier();
  for (var e = lid; e < rows * hs; e += WORKGROUP) {
    let r = e / hs;
    let d = e % hs;
    var even = 0.0;
    var odd = 0.0;
    var j = 0u;
    for (; j + 1u < T; j += 2u) {
      even = fma(tile[scores + r * T + j], headAt(lay.staged, 0u, q + 2u * C, C3, hs, j, d), even);
      odd = fma(tile[scores + r * T + j + 1u], headAt(lay.staged, 0u, q + 2u * C, C3, hs, j + 1u, d), odd);
    }
    if (j < T) { even = fma(tile[scores + r * T + j], headAt(lay.staged, 0u, q + 2u * C, C3, hs, j, d), even); }
    st(args.out + (b * T + i0 + r) * C + h * hs + d, even + odd);
  }
}`,
  dispatches: (a) => {
    const hs = a.C! / a.NH!;
    const { rows } = forwardLayout(a.T!, hs);
    checkFits('attention_forward', a.T!, hs, rows);
    return [{ entry: 'attention_forward', workgroups: grid(Math.ceil(a.queries! / rows) * a.B! * a.NH!) }];
  },
};

/**
 * dqkv[B, T, 3C] = the gradient of attention_forward given dout[B, T, C] (written, not added):
 * dP = dOut·Vᵀ (through the dropout mask), dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hs, dQ = dS·K,
 * dK = dSᵀ·Q, dV = P′ᵀ·dOut with P′ the dropped-out probabilities. One workgroup per (image, head)
 * walks the query rows in blocks; each invocation owns the same dK and dV floats in every block and
 * carries their sums through memory, so they add over the query rows in order. Rows of dQ from
 * `queries` on are zero.
 */
const attention_backward: GpuKernel = {
  args: ATTENTION_ARGS([['dqkv', 'ptr'], ['dout', 'ptr'], ['qkv', 'ptr'], ['att', 'ptr']]),
  wgsl: `${LAYOUT_WGSL}
@compute @workgroup_size(${WORKGROUP})
fn attention_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let T = args.T;
  let C = args.C;
  let hs = C / args.NH;
  let C3 = 3u * C;
  let lay = tileLayout(T, hs, 2u, 2u * (T + hs));
  let bh = flatWorkgroup(wid, nwg);
  if (bh >= args.B * args.NH) { return; }
  let b = bh / args.NH;
  let h = bh % args.NH;
  let q = args.qkv + b * T * C3 + h * hs;    // this head's query columns in image b; keys at +C, values at +2C
  let dq = args.dqkv + b * T * C3 + h * hs;
  let dout = args.dout + b * T * C + h * hs;
  let heads = select(0u, 2u * T * hs, lay.staged);   // keys [T][hs] at 0, values at T·hs
  let ds = heads;                                    // [rows][T]
  let kept = ds + lay.rows * T;                      // [rows][T]: P, then P′
  let queries = kept + lay.rows * T;                 // [rows][hs]
  let grads = queries + lay.rows * hs;               // [rows][hs]
  let scale = 1.0 / sqrt(f32(hs));
  let dropout = args.dropout > 0.0;
  if (lay.staged) {
    for (var e = lid; e < T * hs; e += WORKGROUP) {
      tile[e] = ld(q + C + (e / hs) * C3 + e % hs);
      tile[T * hs + e] = ld(q + 2u * C + (e / hs) * C3 + e % hs);
    }
  }
  for (var e = args.queries * hs + lid; e < T * hs; e += WORKGROUP) { st(dq + (e / hs) * C3 + e % hs, 0.0); }
  let blocks = max(1u, (args.queries + lay.rows - 1u) / lay.rows);
  for (var block = 0u; block < blocks; block++) {
    let i0 = block * lay.rows;
    let rows = min(lay.rows, args.queries - i0);
    for (var e = lid; e < rows * hs; e += WORKGROUP) {
      tile[queries + e] = ld(q + (i0 + e / hs) * C3 + e % hs);
      tile[grads + e] = ld(dout + (i0 + e / hs) * C + e % hs);
    }
    workgroupBarrier();
    for (var e = lid; e < rows * T; e += WORKGROUP) {
      let r = e / T;
      let j = e % T;
      var s = 0.0;
      for (var d = 0u; d < hs; d++) { s = fma(tile[grads + r * hs + d], headAt(lay.staged, T * hs, q + 2u * C, C3, hs, j, d), s); }
      let index = (bh * T + i0 + r) * T + j;
      if (dropout) { s *= dropMultiplier(args.seed, index, args.dropout); }
      tile[ds + e] = s;
      tile[kept + e] = ld(args.att + index);
    }
    workgroupBarrier();
    if (lid < rows) {
      let p = kept + lid * T;
      let g = ds + lid * T;
      let T4 = T & ~3u;
      var lanes = vec4<f32>(0.0);
      var j = 0u;
      for (; j < T4; j += 4u) {
        lanes = fma(vec4<f32>(tile[p + j], tile[p + j + 1u], tile[p + j + 2u], tile[p + j + 3u]),
                    vec4<f32>(tile[g + j], tile[g + j + 1u], tile[g + j + 2u], tile[g + j + 3u]), lanes);
      }
      var rowDot = ((lanes.x + lanes.y) + lanes.z) + lanes.w;
      for (; j < T; j++) { rowDot += tile[p + j] * tile[g + j]; }
      rowStat[lid] = rowDot;
    }
    workgroupBarrier();
    for (var e = lid; e < rows * T; e += WORKGROUP) {
      let p = tile[kept + e];
      tile[ds + e] = p * (tile[ds + e] - rowStat[e / T]) * scale;
      if (dropout) { tile[kept + e] = p * dropMultiplier(args.seed, (bh * T + i0 + e / T) * T + e % T, args.dropout); }
    }
    workgroupBarrier();
    for (var e = lid; e < rows * hs; e += WORKGROUP) {
      let r = e / hs;
      let d = e % hs;
      var even = 0.0;
      var odd = 0.0;
      var j = 0u;
      for (; j + 1u < T; j += 2u) {
        even = fma(tile[ds + r * T + j], headAt(lay.staged, 0u, q + C, C3, hs, j, d), even);
        odd = fma(tile[ds + r * T + j + 1u], headAt(lay.staged, 0u, q + C, C3, hs, j + 1u, d), odd);
      }
      if (j < T) { even = fma(tile[ds + r * T + j], headAt(lay.staged, 0u, q + C, C3, hs, j, d), even); }
      st(dq + (i0 + r) * C3 + d, even + odd);
    }
    // dK (first T·hs) and dV (the next): the sums so far are in dqkv, from the block before.
    for (var e = lid; e < 2u * T * hs; e += WORKGROUP) {
      let values = e >= T * hs;
      let f = select(e, e - T * hs, values);
      let j = f / hs;
      let d = f % hs;
      let slot = dq + j * C3 + select(C, 2u * C, values) + d;
      var sum = select(ld(slot), 0.0, block == 0u);
      if (values) {
        for (var r = 0u; r < rows; r++) { sum = fma(tile[kept + r * T + j], tile[grads + r * hs + d], sum); }
      } else {
        for (var r = 0u; r < rows; r++) { sum = fma(tile[ds + r * T + j], tile[queries + r * hs + d], sum); }
      }
      st(slot, sum);
    }
    workgroupBarrier();
  }
}`,
  dispatches: (a) => {
    checkFits('attention_backward', a.T!, a.C! / a.NH!, backwardLayout(a.T!, a.C! / a.NH!).rows);
    return [{ entry: 'attention_backward', workgroups: grid(a.B! * a.NH!) }];
  },
};

export const attentionKernels: GpuKernelTable = { attention_forward, attention_backward };
