// Multi-head self-attention in WGSL, the counterpart of assembly/attention.ts: the same arguments,
// the same probabilities in att, the same dropout stream, and every sum in the WebAssembly kernel's
// order (scores and dP over d in order; the softmax's sum in four lanes j mod 4; P·V and dS·K split
// into even and odd j; dK and dV over the query rows in order), so the two agree to rounding.
//
// Two dispatches each way, one invocation per query row and then one per four floats written, and
// no workgroup memory: the scores go where the probabilities go (att), dS into the engine's working
// memory (tmp). Workgroup memory would save reloads of keys and values that the caches serve
// anyway at these sizes (65 tokens × head size 12 or 32), and it is costly where it matters for
// testing: on SwiftShader, Dawn's zero-fill of workgroup memory costs about its size times the
// workgroup's invocations (measured here: a 16 KiB array in workgroups of 64, 3 ms per workgroup;
// 160 floats, 0.2 ms; gone with Dawn's disable_workgroup_init toggle).
// qkv is [B, T, 3C]: all heads' queries, then keys, then values; head h owns columns
// h·hs … (h+1)·hs of each third.
import type { GpuKernel, GpuKernelTable } from '../prelude.js';
import { ELEMENTWISE_GROUP, ELEMENTWISE_PARAMS, FLAT_INDEX_WGSL, RANDOM_WGSL, elementwiseGrid } from './dropout.js';

type Args = Readonly<Record<string, number>>;

const ATTENTION_ARGS = (first: readonly (readonly [string, 'ptr'])[]): GpuKernel['args'] => [
  ...first,
  ['scratch', 'ptr'],
  ['B', 'u32'],
  ['T', 'u32'],
  ['C', 'u32'],
  ['NH', 'u32'],
  ['queries', 'u32'],
  ['dropout', 'f32'],
  ['seed', 'u32'],
];

/** What both kernels' entry points start from: the shapes, this head's columns of image b, loads and stores of four floats. */
const COMMON_WGSL = `${FLAT_INDEX_WGSL}
${RANDOM_WGSL}
struct Head { b: u32, h: u32, hs: u32, C3: u32, q: u32, k: u32, v: u32 }
/** (image, head) number bh: q, k and v are the word indices of its first query, key and value. */
fn head(bh: u32) -> Head {
  let hs = args.C / args.NH;
  let C3 = 3u * args.C;
  let b = bh / args.NH;
  let h = bh % args.NH;
  let q = args.qkv + b * args.T * C3 + h * hs;
  return Head(b, h, hs, C3, q, q + args.C, q + 2u * args.C);
}
/** The dropout multiplier of probability (bh, i, j): 1 when dropout is off. */
fn keep(bh: u32, i: u32, j: u32) -> f32 {
  if (args.dropout > 0.0) { return dropMultiplier(args.seed, (bh * args.T + i) * args.T + j, args.dropout); }
  return 1.0;
}
fn keep4(bh: u32, i: u32, j: u32) -> vec4<f32> {
  return vec4<f32>(keep(bh, i, j), keep(bh, i, j + 1u), keep(bh, i, j + 2u), keep(bh, i, j + 3u));
}
/** The floats at words a, a + s, a + 2s, a + 3s, the first n of them (zeros after, not read). */
fn ld4(a: u32, s: u32, n: u32) -> vec4<f32> {
  if (n >= 4u) { return vec4<f32>(ld(a), ld(a + s), ld(a + 2u * s), ld(a + 3u * s)); }
  var r = vec4<f32>(0.0);
  if (n > 0u) { r.x = ld(a); }
  if (n > 1u) { r.y = ld(a + s); }
  if (n > 2u) { r.z = ld(a + 2u * s); }
  return r;
}
/** Stores the first n lanes of v at words a, a + 1, … */
fn st4(a: u32, v: vec4<f32>, n: u32) {
  if (n > 0u) { st(a, v.x); }
  if (n > 1u) { st(a + 1u, v.y); }
  if (n > 2u) { st(a + 2u, v.z); }
  if (n > 3u) { st(a + 3u, v.w); }
}
/** Lanes l < n of v, the others \`other\`. */
fn firstLanes(v: vec4<f32>, n: u32, other: f32) -> vec4<f32> {
  return select(vec4<f32>(other), v, vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n));
}`;

/** Output floats of a head row each invocation computes (four lanes of a vec4: each a sum of its own, in the same order). */
const LANES = 4;
const groups = (a: Args): number => Math.ceil(a.C! / a.NH! / LANES);

/**
 * out[B, T, C] = softmax(Q·Kᵀ/√hs)·V per head for the first `queries` query rows of each image;
 * att[B, NH, T, T] gets the probabilities before dropout (rows from `queries` on are left alone).
 * Softmax as the WebAssembly kernel: max-subtracted, e^max(scale·(s − max), −80), summed in four
 * lanes. First one invocation per query row (scores of four keys at a time, softmax, into att),
 * then one per four floats of out. `scratch` is the WebAssembly threads' and is ignored.
 */
const attention_forward: GpuKernel = {
  args: ATTENTION_ARGS([
    ['out', 'ptr'],
    ['att', 'ptr'],
    ['qkv', 'ptr'],
  ]),
  wgsl: `${COMMON_WGSL}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_probabilities(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  if (n >= args.B * args.NH * args.queries) { return; }
  let bh = n / args.queries;
  let i = n % args.queries;
  let H = head(bh);
  let T = args.T;
  let q = H.q + i * H.C3;
  let row = args.att + (bh * T + i) * T;
  var top = vec4<f32>(-3.0e38);
  for (var j = 0u; j < T; j += 4u) {
    let keys = min(4u, T - j);
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < H.hs; d++) { s = fma(vec4<f32>(ld(q + d)), ld4(H.k + j * H.C3 + d, H.C3, keys), s); }
    st4(row + j, s, keys);
    top = max(top, firstLanes(s, keys, -3.0e38));
  }
  let rowMax = max(max(top.x, top.y), max(top.z, top.w));
  let scale = 1.0 / sqrt(f32(H.hs));
  // Lane l sums the exponentials of keys j ≡ l (mod 4), as the WebAssembly kernel's vector lanes.
  var lanes = vec4<f32>(0.0);
  for (var j = 0u; j < T; j += 4u) {
    let keys = min(4u, T - j);
    let e = exp(max((ld4(row + j, 1u, keys) - rowMax) * scale, vec4<f32>(-80.0)));
    st4(row + j, e, keys);
    lanes += firstLanes(e, keys, 0.0);
  }
  let inv = 1.0 / ((lanes.x + lanes.z) + (lanes.y + lanes.w));
  for (var j = 0u; j < T; j += 4u) {
    let keys = min(4u, T - j);
    st4(row + j, ld4(row + j, 1u, keys) * inv, keys);
  }
}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_values(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  let hs = args.C / args.NH;
  let groups = (hs + 3u) / 4u;
  if (n >= args.B * args.NH * args.queries * groups) { return; }
  let d = n % groups * 4u;
  let width = min(4u, hs - d);
  let bh = n / groups / args.queries;
  let i = n / groups % args.queries;
  let H = head(bh);
  let T = args.T;
  let row = args.att + (bh * T + i) * T;
  let v = H.v + d;
  var even = vec4<f32>(0.0);
  var odd = vec4<f32>(0.0);
  var j = 0u;
  for (; j + 1u < T; j += 2u) {
    even = fma(vec4<f32>(ld(row + j) * keep(bh, i, j)), ld4(v + j * H.C3, 1u, width), even);
    odd = fma(vec4<f32>(ld(row + j + 1u) * keep(bh, i, j + 1u)), ld4(v + (j + 1u) * H.C3, 1u, width), odd);
  }
  if (j < T) { even = fma(vec4<f32>(ld(row + j) * keep(bh, i, j)), ld4(v + j * H.C3, 1u, width), even); }
  st4(args.out + (H.b * T + i) * args.C + H.h * hs + d, even + odd, width);
}`,
  dispatches: (a: Args) => {
    const rows = a.B! * a.NH! * a.queries!;
    return [
      { entry: 'attention_probabilities', workgroups: elementwiseGrid(rows) },
      { entry: 'attention_values', workgroups: elementwiseGrid(rows * groups(a)) },
    ];
  },
};

/**
 * dqkv[B, T, 3C] = the gradient of attention_forward given dout[B, T, C] (written, not added):
 * dP = dOut·Vᵀ through the dropout mask, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hs, dQ = dS·K,
 * dK = dSᵀ·Q, dV = P′ᵀ·dOut with P′ the dropped-out probabilities; rows of dQ from `queries` on
 * are zero. First one invocation per query row (its dS, into tmp), then one per four floats of dqkv.
 */
const attention_backward: GpuKernel = {
  args: ATTENTION_ARGS([
    ['dqkv', 'ptr'],
    ['dout', 'ptr'],
    ['qkv', 'ptr'],
    ['att', 'ptr'],
  ]),
  wgsl: `${COMMON_WGSL}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_dscores(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  if (n >= args.B * args.NH * args.queries) { return; }
  let bh = n / args.queries;
  let i = n % args.queries;
  let H = head(bh);
  let T = args.T;
  let g = args.dout + (H.b * T + i) * args.C + H.h * H.hs;
  let p = args.att + (bh * T + i) * T;
  let ds = args.tmp + n * T;
  for (var j = 0u; j < T; j += 4u) {
    let keys = min(4u, T - j);
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < H.hs; d++) { s = fma(vec4<f32>(ld(g + d)), ld4(H.v + j * H.C3 + d, H.C3, keys), s); }
    st4(ds + j, s * keep4(bh, i, j), keys);
  }
  let T4 = T & ~3u;
  var lanes = vec4<f32>(0.0);
  var j = 0u;
  for (; j < T4; j += 4u) { lanes = fma(ld4(p + j, 1u, 4u), ld4(ds + j, 1u, 4u), lanes); }
  var rowDot = ((lanes.x + lanes.y) + lanes.z) + lanes.w;
  for (; j < T; j++) { rowDot += ld(p + j) * ld(ds + j); }
  let scale = 1.0 / sqrt(f32(H.hs));
  for (var k = 0u; k < T; k++) { st(ds + k, ld(p + k) * (ld(ds + k) - rowDot) * scale); }
}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_dqkv(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  let hs = args.C / args.NH;
  let groups = (hs + 3u) / 4u;
  let T = args.T;
  if (n >= args.B * args.NH * 3u * T * groups) { return; }
  // Four d at a time fastest, then the token t, then which third (dQ, dK, dV), then (image, head).
  let d = n % groups * 4u;
  let width = min(4u, hs - d);
  let t = n / groups % T;
  let third = n / groups / T % 3u;
  let bh = n / groups / T / 3u;
  let H = head(bh);
  let dsRows = args.tmp + bh * args.queries * T;
  var sum = vec4<f32>(0.0);
  if (third == 0u) {
    if (t < args.queries) {
      let ds = dsRows + t * T;
      var odd = vec4<f32>(0.0);
      var j = 0u;
      for (; j + 1u < T; j += 2u) {
        sum = fma(vec4<f32>(ld(ds + j)), ld4(H.k + j * H.C3 + d, 1u, width), sum);
        odd = fma(vec4<f32>(ld(ds + j + 1u)), ld4(H.k + (j + 1u) * H.C3 + d, 1u, width), odd);
      }
      if (j < T) { sum = fma(vec4<f32>(ld(ds + j)), ld4(H.k + j * H.C3 + d, 1u, width), sum); }
      sum += odd;
    }
  } else if (third == 1u) {
    for (var i = 0u; i < args.queries; i++) {
      sum = fma(vec4<f32>(ld(dsRows + i * T + t)), ld4(H.q + i * H.C3 + d, 1u, width), sum);
    }
  } else {
    let g = args.dout + H.b * T * args.C + H.h * hs + d;
    for (var i = 0u; i < args.queries; i++) {
      sum = fma(vec4<f32>(ld(args.att + (bh * T + i) * T + t) * keep(bh, i, t)), ld4(g + i * args.C, 1u, width), sum);
    }
  }
  st4(args.dqkv + (H.b * T + t) * H.C3 + third * args.C + H.h * hs + d, sum, width);
}`,
  dispatches: (a: Args) => [
    { entry: 'attention_dscores', workgroups: elementwiseGrid(a.B! * a.NH! * a.queries!) },
    { entry: 'attention_dqkv', workgroups: elementwiseGrid(a.B! * a.NH! * 3 * a.T! * groups(a)) },
  ],
  /** dS: [B, NH, queries, T]. */
  tmp: (a: Args) => a.B! * a.NH! * a.queries! * a.T!,
};

export const attentionKernels: GpuKernelTable = { attention_forward, attention_backward };
