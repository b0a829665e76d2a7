// Element-wise kernels: fill, scale, add, copy, the weights' moving average, and the gradient's
// global norm (sum_squares into fixed partial sums, then clip_gradients) without the host.
import { GPU_PARTIALS, type GpuDispatch, type GpuKernel } from '../prelude.js';

const WORKGROUP = 256;
/** Workgroups of an element-wise pass at most: each thread strides through the rest. */
const MAX_WORKGROUPS = 4096;

/** One dispatch of `entry` over n elements, grid-stride. */
export function elementwise(n: number, entry = 'main'): readonly GpuDispatch[] {
  return [{ entry, workgroups: [Math.min(MAX_WORKGROUPS, Math.ceil(n / WORKGROUP))] }];
}

/** WGSL: `for (var i = first; i < n; i += stride)` over this invocation's elements, in an entry point named `main`. */
const loop = (n: string, body: string): string => `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < ${n}; i += stride) {
    ${body}
  }
}`;

export const fill: GpuKernel = {
  args: [
    ['x', 'ptr'],
    ['n', 'u32'],
    ['value', 'f32'],
  ],
  wgsl: loop('args.n', 'st(args.x + i, args.value);'),
  dispatches: (a) => elementwise(a.n!),
};

export const scale: GpuKernel = {
  args: [
    ['x', 'ptr'],
    ['n', 'u32'],
    ['factor', 'f32'],
  ],
  wgsl: loop('args.n', 'st(args.x + i, ld(args.x + i) * args.factor);'),
  dispatches: (a) => elementwise(a.n!),
};

export const add: GpuKernel = {
  args: [
    ['out', 'ptr'],
    ['a', 'ptr'],
    ['b', 'ptr'],
    ['n', 'u32'],
  ],
  wgsl: loop('args.n', 'st(args.out + i, ld(args.a + i) + ld(args.b + i));'),
  dispatches: (a) => elementwise(a.n!),
};

/** dst[i] = src[i] for n words (floats or integers alike: bits are copied). */
export const copy: GpuKernel = {
  args: [
    ['dst', 'ptr'],
    ['src', 'ptr'],
    ['n', 'u32'],
  ],
  wgsl: loop('args.n', 'mem[args.dst + i] = mem[args.src + i];'),
  dispatches: (a) => elementwise(a.n!),
};

/** average ← decay·average + (1 − decay)·weights: the weights' moving average. */
export const ema: GpuKernel = {
  args: [
    ['average', 'ptr'],
    ['weights', 'ptr'],
    ['n', 'u32'],
    ['decay', 'f32'],
  ],
  wgsl: loop('args.n', 'st(args.average + i, args.decay * ld(args.average + i) + (1.0 - args.decay) * ld(args.weights + i));'),
  dispatches: (a) => elementwise(a.n!),
};

/**
 * partial[g] = Σ x[i]² over the elements of workgroup g (GPU_PARTIALS workgroups, each thread a
 * strided share, then a tree in workgroup memory): a fixed order, so the same sum every time.
 */
export const sum_squares: GpuKernel = {
  args: [
    ['partial', 'ptr'],
    ['x', 'ptr'],
    ['n', 'u32'],
  ],
  wgsl: `
var<workgroup> sums: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var s = 0.0;
  for (var i = wid.x * ${WORKGROUP}u + lid.x; i < args.n; i += ${GPU_PARTIALS * WORKGROUP}u) {
    let g = ld(args.x + i);
    s += g * g;
  }
  sums[lid.x] = s;
  for (var half = ${WORKGROUP / 2}u; half > 0u; half >>= 1u) {
    workgroupBarrier();
    if (lid.x < half) { sums[lid.x] += sums[lid.x + half]; }
  }
  if (lid.x == 0u) { st(args.partial + wid.x, sums[0]); }
}`,
  dispatches: () => [{ entry: 'main', workgroups: [GPU_PARTIALS] }],
};

/**
 * norm[0] = √(Σ partial) (the GPU_PARTIALS sums of sum_squares, in order), and x is scaled by
 * min(1, maxNorm / (norm + 1e-6)), as torch.nn.utils.clip_grad_norm_.
 */
export const clip_gradients: GpuKernel = {
  args: [
    ['x', 'ptr'],
    ['n', 'u32'],
    ['partial', 'ptr'],
    ['maxNorm', 'f32'],
    ['norm', 'ptr'],
  ],
  wgsl: `
var<workgroup> total: f32;
// One dispatch: every workgroup adds the partial sums itself (${GPU_PARTIALS} loads, in order, the
// same sum in each), instead of a second dispatch waiting for one that does.
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(local_invocation_index) lid: u32, @builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (lid == 0u) {
    var s = 0.0;
    for (var p = 0u; p < ${GPU_PARTIALS}u; p++) { s += ld(args.partial + p); }
    total = sqrt(s);
    if (gid.x == 0u) { st(args.norm, total); }
  }
  let norm = workgroupUniformLoad(&total);
  let factor = args.maxNorm / (norm + 1e-6);
  if (factor >= 1.0) { return; }
  let stride = nwg.x * ${WORKGROUP}u;
  for (var i = gid.x; i < args.n; i += stride) { st(args.x + i, ld(args.x + i) * factor); }
}`,
  dispatches: (a) => elementwise(Math.max(1, a.n!)),
};
