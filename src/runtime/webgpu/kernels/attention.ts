// Multi-head self-attention in WGSL, the counterpart of assembly/attention.ts: the same arguments,
// the same probabilities in att, the same dropout stream, and every sum in the WebAssembly kernel's
// order (scores and dP over d in order; the softmax's sum in four lanes j mod 4; P·V and dS·K split
// into even and odd j; dK and dV over the query rows in order), so the two agree to rounding.
//
// Two dispatches each way, one invocation per query row and then one per float written, and no
// workgroup memory: the scores go where the probabilities go (att), dS into the engine's working
// memory (tmp). Workgroup memory would save reloads of keys and values that the caches serve
// anyway at these sizes (65 tokens × head size 12 or 32), and it is costly where it matters for
// testing: SwiftShader zero-fills a workgroup's memory once per invocation (measured: a 16 KiB
// array in workgroups of 64 costs 3 ms per workgroup on this machine, 160 floats 0.2 ms).
// qkv is [B, T, 3C]: all heads' queries, then keys, then values; head h owns columns
// h·hs … (h+1)·hs of each third.
import type { GpuKernel, GpuKernelTable } from '../prelude.js';
import { ELEMENTWISE_GROUP, ELEMENTWISE_PARAMS, FLAT_INDEX_WGSL, RANDOM_WGSL, elementwiseGrid } from './dropout.js';

type Args = Readonly<Record<string, number>>;

const ATTENTION_ARGS = (first: readonly (readonly [string, 'ptr'])[]): GpuKernel['args'] => [
  ...first, ['scratch', 'ptr'], ['B', 'u32'], ['T', 'u32'], ['C', 'u32'], ['NH', 'u32'], ['queries', 'u32'],
  ['dropout', 'f32'], ['seed', 'u32'],
];

/** What both kernels' entry points start from: the shapes, and this head's columns of image b. */
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
}`;

/**
 * out[B, T, C] = softmax(Q·Kᵀ/√hs)·V per head for the first `queries` query rows of each image;
 * att[B, NH, T, T] gets the probabilities before dropout (rows from `queries` on are left alone).
 * Softmax as the WebAssembly kernel: max-subtracted, e^max(scale·(s − max), −80), summed in four
 * lanes. First one invocation per query row (scores, softmax, into att), then one per float of out.
 * `scratch` is the WebAssembly threads' and is ignored.
 */
const attention_forward: GpuKernel = {
  args: ATTENTION_ARGS([['out', 'ptr'], ['att', 'ptr'], ['qkv', 'ptr']]),
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
  var top = -3.0e38;
  for (var j = 0u; j < T; j++) {
    var s = 0.0;
    for (var d = 0u; d < H.hs; d++) { s = fma(ld(q + d), ld(H.k + j * H.C3 + d), s); }
    st(row + j, s);
    top = max(top, s);
  }
  let scale = 1.0 / sqrt(f32(H.hs));
  var lanes = vec4<f32>(0.0);
  for (var j = 0u; j < T; j++) {
    let e = exp(max((ld(row + j) - top) * scale, -80.0));
    st(row + j, e);
    lanes[j & 3u] += e;
  }
  let inv = 1.0 / ((lanes.x + lanes.z) + (lanes.y + lanes.w));
  for (var j = 0u; j < T; j++) { st(row + j, ld(row + j) * inv); }
}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_values(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  let hs = args.C / args.NH;
  if (n >= args.B * args.NH * args.queries * hs) { return; }
  let d = n % hs;
  let bh = n / hs / args.queries;
  let i = n / hs % args.queries;
  let H = head(bh);
  let T = args.T;
  let row = args.att + (bh * T + i) * T;
  let v = H.v + d;
  var even = 0.0;
  var odd = 0.0;
  var j = 0u;
  for (; j + 1u < T; j += 2u) {
    even = fma(ld(row + j) * keep(bh, i, j), ld(v + j * H.C3), even);
    odd = fma(ld(row + j + 1u) * keep(bh, i, j + 1u), ld(v + (j + 1u) * H.C3), odd);
  }
  if (j < T) { even = fma(ld(row + j) * keep(bh, i, j), ld(v + j * H.C3), even); }
  st(args.out + (H.b * T + i) * args.C + H.h * hs + d, even + odd);
}`,
  dispatches: (a: Args) => {
    const rows = a.B! * a.NH! * a.queries!;
    return [
      { entry: 'attention_probabilities', workgroups: elementwiseGrid(rows) },
      { entry: 'attention_values', workgroups: elementwiseGrid(rows * (a.C! / a.NH!)) },
    ];
  },
};

/**
 * dqkv[B, T, 3C] = the gradient of attention_forward given dout[B, T, C] (written, not added):
 * dP = dOut·Vᵀ through the dropout mask, dS = P ⊙ (dP − rowsum(P ⊙ dP)) / √hs, dQ = dS·K,
 * dK = dSᵀ·Q, dV = P′ᵀ·dOut with P′ the dropped-out probabilities; rows of dQ from `queries` on
 * are zero. First one invocation per query row (its dS, into tmp), then one per float of dqkv.
 */
const attention_backward: GpuKernel = {
  args: ATTENTION_ARGS([['dqkv', 'ptr'], ['dout', 'ptr'], ['qkv', 'ptr'], ['att', 'ptr']]),
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
  for (var j = 0u; j < T; j++) {
    var s = 0.0;
    for (var d = 0u; d < H.hs; d++) { s = fma(ld(g + d), ld(H.v + j * H.C3 + d), s); }
    st(ds + j, s * keep(bh, i, j));
  }
  let T4 = T & ~3u;
  var lanes = vec4<f32>(0.0);
  var j = 0u;
  for (; j < T4; j += 4u) {
    lanes = fma(vec4<f32>(ld(p + j), ld(p + j + 1u), ld(p + j + 2u), ld(p + j + 3u)),
                vec4<f32>(ld(ds + j), ld(ds + j + 1u), ld(ds + j + 2u), ld(ds + j + 3u)), lanes);
  }
  var rowDot = ((lanes.x + lanes.y) + lanes.z) + lanes.w;
  for (; j < T; j++) { rowDot += ld(p + j) * ld(ds + j); }
  let scale = 1.0 / sqrt(f32(H.hs));
  for (var k = 0u; k < T; k++) { st(ds + k, ld(p + k) * (ld(ds + k) - rowDot) * scale); }
}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn attention_dqkv(${ELEMENTWISE_PARAMS}) {
  let n = flatIndex(wid, nwg, lid);
  let hs = args.C / args.NH;
  let T = args.T;
  if (n >= args.B * T * 3u * args.C) { return; }
  // d fastest, then the token t, then which third (dQ, dK, dV), then (image, head).
  let d = n % hs;
  let t = n / hs % T;
  let third = n / hs / T % 3u;
  let bh = n / hs / T / 3u;
  let H = head(bh);
  let dsRows = args.tmp + bh * args.queries * T;
  var sum = 0.0;
  if (third == 0u) {
    if (t < args.queries) {
      let ds = dsRows + t * T;
      var odd = 0.0;
      var j = 0u;
      for (; j + 1u < T; j += 2u) {
        sum = fma(ld(ds + j), ld(H.k + j * H.C3 + d), sum);
        odd = fma(ld(ds + j + 1u), ld(H.k + (j + 1u) * H.C3 + d), odd);
      }
      if (j < T) { sum = fma(ld(ds + j), ld(H.k + j * H.C3 + d), sum); }
      sum += odd;
    }
  } else if (third == 1u) {
    for (var i = 0u; i < args.queries; i++) { sum = fma(ld(dsRows + i * T + t), ld(H.q + i * H.C3 + d), sum); }
  } else {
    let g = args.dout + H.b * T * args.C + H.h * hs + d;
    for (var i = 0u; i < args.queries; i++) {
      sum = fma(ld(args.att + (bh * T + i) * T + t) * keep(bh, i, t), ld(g + i * args.C), sum);
    }
  }
  st(args.dqkv + (H.b * T + t) * H.C3 + third * args.C + H.h * hs + d, sum);
}`,
  dispatches: (a: Args) => [
    { entry: 'attention_dscores', workgroups: elementwiseGrid(a.B! * a.NH! * a.queries!) },
    { entry: 'attention_dqkv', workgroups: elementwiseGrid(a.B! * a.T! * 3 * a.C!) },
  ],
  /** dS: [B, NH, queries, T]. */
  tmp: (a: Args) => a.B! * a.NH! * a.queries! * a.T!,
};

export const attentionKernels: GpuKernelTable = { attention_forward, attention_backward };
