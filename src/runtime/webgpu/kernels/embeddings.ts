// The patch embedding's unfolding of images into patches, the [CLS] token and position
// embeddings, and row copies between the token sequence and contiguous buffers: the WGSL
// counterparts of assembly/embeddings.ts, one invocation per float written.
import type { GpuKernel, GpuKernelTable } from '../prelude.js';
import { ELEMENTWISE_GROUP, ELEMENTWISE_PARAMS, FLAT_INDEX_WGSL, elementwiseGrid } from './dropout.js';

/**
 * An element-wise kernel: one entry point of the same name over `count(args)` invocations (countWgsl,
 * the same in WGSL), `body` run for each index i below it; `helpers` is WGSL it calls.
 */
function elementwise(
  name: string,
  args: GpuKernel['args'],
  count: (a: Readonly<Record<string, number>>) => number,
  countWgsl: string,
  body: string,
  helpers = '',
): GpuKernel {
  return {
    args,
    wgsl: `${FLAT_INDEX_WGSL}
${helpers}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn ${name}(${ELEMENTWISE_PARAMS}) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= ${countWgsl}) { return; }
${body}
}`,
    dispatches: (a) => [{ entry: name, workgroups: elementwiseGrid(count(a)) }],
  };
}

/**
 * patches[B·P, Ch·p·p] from images[B, Ch, H, W]: row b·P + (py·G + px) holds patch (py, px), its
 * columns in the Conv2d weight's order (channel, kernel row, kernel column).
 */
const patchify = elementwise(
  'patchify',
  [
    ['patches', 'ptr'],
    ['images', 'ptr'],
    ['B', 'u32'],
    ['Ch', 'u32'],
    ['H', 'u32'],
    ['W', 'u32'],
    ['p', 'u32'],
  ],
  (a) => a.B! * ((a.H! / a.p!) | 0) * ((a.W! / a.p!) | 0) * a.Ch! * a.p! * a.p!,
  'args.B * (args.H / args.p) * (args.W / args.p) * args.Ch * args.p * args.p',
  `
  let p = args.p;
  let G = args.W / p;
  let P = (args.H / p) * G;
  let K = args.Ch * p * p;
  let r = i / K;
  let k = i % K;
  let b = r / P;
  let cell = r % P;
  let c = k / (p * p);
  let ky = (k / p) % p;
  let kx = k % p;
  mem[args.patches + i] = mem[args.images + ((b * args.Ch + c) * args.H + (cell / G) * p + ky) * args.W + (cell % G) * p + kx];`,
);

/** x[b, 0] = cls + pos[0]; x[b, 1 + t] = patchOut[b·(T−1) + t] + pos[1 + t]. */
const embed_forward = elementwise(
  'embed_forward',
  [
    ['x', 'ptr'],
    ['patchOut', 'ptr'],
    ['cls', 'ptr'],
    ['pos', 'ptr'],
    ['B', 'u32'],
    ['T', 'u32'],
    ['C', 'u32'],
  ],
  (a) => a.B! * a.T! * a.C!,
  'args.B * args.T * args.C',
  `
  let C = args.C;
  let r = i / C;
  let c = i % C;
  let b = r / args.T;
  let t = r % args.T;
  var src = args.cls + c;
  if (t > 0u) { src = args.patchOut + (b * (args.T - 1u) + t - 1u) * C + c; }
  st(args.x + i, ld(src) + ld(args.pos + t * C + c));`,
);

/**
 * From dx[B, T, C]: dpatchOut[b·(T−1) + t − 1] = dx[b, t] for t ≥ 1 (written), dcls += Σ_b dx[b, 0],
 * dpos[t] += Σ_b dx[b, t]. One invocation per (t, c) sums over b in order, from the old value, as the
 * WebAssembly kernel does: the same numbers, and no two invocations write the same float.
 */
const embed_backward = elementwise(
  'embed_backward',
  [
    ['dpatchOut', 'ptr'],
    ['dcls', 'ptr'],
    ['dpos', 'ptr'],
    ['dx', 'ptr'],
    ['B', 'u32'],
    ['T', 'u32'],
    ['C', 'u32'],
  ],
  (a) => a.T! * a.C!,
  'args.T * args.C',
  `
  let C = args.C;
  let T = args.T;
  let t = i / C;
  let c = i % C;
  var pos = ld(args.dpos + i);
  var cls = ld(args.dcls + c);
  for (var b = 0u; b < args.B; b++) {
    let g = ld(args.dx + (b * T + t) * C + c);
    pos = pos + g;
    if (t == 0u) {
      cls = cls + g;
    } else {
      st(args.dpatchOut + (b * (T - 1u) + t - 1u) * C + c, g);
    }
  }
  st(args.dpos + i, pos);
  if (t == 0u) { st(args.dcls + c, cls); }`,
);

/** dst[r·dstStride + c] = src[r·srcStride + c] for r < rows, c < cols (strides in floats). */
const copy_rows = elementwise(
  'copy_rows',
  [
    ['dst', 'ptr'],
    ['dstStride', 'u32'],
    ['src', 'ptr'],
    ['srcStride', 'u32'],
    ['rows', 'u32'],
    ['cols', 'u32'],
  ],
  (a) => a.rows! * a.cols!,
  'args.rows * args.cols',
  `
  let r = i / args.cols;
  let c = i % args.cols;
  mem[args.dst + r * args.dstStride + c] = mem[args.src + r * args.srcStride + c];`,
);

/** The source row of dst's row j of image b under token dropping: [CLS] first, then the kept patches (i32 indices). */
const KEPT_ROW_WGSL = `
fn keptRow(b: u32, j: u32) -> u32 {
  if (j == 0u) { return 0u; }
  return 1u + bitcast<u32>(ldi(args.kept + b * args.K + j - 1u));
}`;

/** Token dropping: dst[b, 0] = src[b, 0] and dst[b, 1 + j] = src[b, 1 + kept[b·K + j]], from src[B, T, C] to dst[B, 1 + K, C]. */
const gather_tokens = elementwise(
  'gather_tokens',
  [
    ['dst', 'ptr'],
    ['src', 'ptr'],
    ['kept', 'ptr'],
    ['B', 'u32'],
    ['T', 'u32'],
    ['K', 'u32'],
    ['C', 'u32'],
  ],
  (a) => a.B! * (1 + a.K!) * a.C!,
  'args.B * (1u + args.K) * args.C',
  `
  let r = i / args.C;
  let c = i % args.C;
  let b = r / (1u + args.K);
  mem[args.dst + i] = mem[args.src + (b * args.T + keptRow(b, r % (1u + args.K))) * args.C + c];`,
  KEPT_ROW_WGSL,
);

/**
 * The reverse of gather_tokens: dst[B, T, C] gets src[B, 1 + K, C]'s rows where they came from, zero
 * elsewhere. Two passes: zero every row, then copy the kept ones (each image's kept indices differ).
 */
const scatter_tokens: GpuKernel = {
  args: gather_tokens.args,
  wgsl: `${FLAT_INDEX_WGSL}
${KEPT_ROW_WGSL}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn scatter_tokens_zero(${ELEMENTWISE_PARAMS}) {
  let i = flatIndex(wid, nwg, lid);
  if (i < args.B * args.T * args.C) { mem[args.dst + i] = 0u; }
}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn scatter_tokens_rows(${ELEMENTWISE_PARAMS}) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= args.B * (1u + args.K) * args.C) { return; }
  let r = i / args.C;
  let c = i % args.C;
  let b = r / (1u + args.K);
  mem[args.dst + (b * args.T + keptRow(b, r % (1u + args.K))) * args.C + c] = mem[args.src + i];
}`,
  dispatches: (a) => [
    { entry: 'scatter_tokens_zero', workgroups: elementwiseGrid(a.B! * a.T! * a.C!) },
    { entry: 'scatter_tokens_rows', workgroups: elementwiseGrid(a.B! * (1 + a.K!) * a.C!) },
  ],
};

export const embeddingKernels: GpuKernelTable = {
  patchify,
  embed_forward,
  embed_backward,
  copy_rows,
  gather_tokens,
  scatter_tokens,
};
