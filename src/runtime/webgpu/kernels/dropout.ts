// Dropout in WGSL, and the counter-based random stream it shares with attention dropout: the same
// hash as assembly/simd.ts's uniformAt, so a mask drawn here is the WebAssembly kernel's mask bit
// for bit, and the backward pass (same seed) redraws it instead of storing it.
import { FLAT_WORKGROUP, grid, type GpuKernel, type GpuKernelTable } from '../prelude.js';

/**
 * WGSL: uniformAt(seed, index), a number in [0, 1) for element `index` of the stream `seed`
 * (u32 arithmetic wraps as WebAssembly's i32 does), and the keep-or-drop multiplier 0 or 1/(1−p).
 */
export const RANDOM_WGSL = `
fn uniformAt(seed: u32, index: u32) -> f32 {
  var h = index * 0x9e3779b1u + seed;
  h ^= h >> 16u; h *= 0x85ebca6bu;
  h ^= h >> 13u; h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return f32(h >> 8u) * (1.0 / 16777216.0);
}
fn dropMultiplier(seed: u32, index: u32, p: f32) -> f32 {
  return select(1.0 / (1.0 - p), 0.0, uniformAt(seed, index) < p);
}`;

/** Invocations per workgroup of the element-wise kernels here and in embeddings.ts. */
export const ELEMENTWISE_GROUP = 256;

/** The workgroups for `n` invocations of ELEMENTWISE_GROUP, spread over x and y (see flatIndex). */
export function elementwiseGrid(n: number): [number, number] {
  return grid(Math.ceil(n / ELEMENTWISE_GROUP));
}

/** WGSL: the invocation's index in an elementwiseGrid. */
export const FLAT_INDEX_WGSL = `
${FLAT_WORKGROUP}
fn flatIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 { return flatWorkgroup(wid, nwg) * ${ELEMENTWISE_GROUP}u + lid; }`;

/** The builtins an element-wise entry point takes. */
export const ELEMENTWISE_PARAMS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32';

/** out = inp · keep / (1 − p), keep drawn from (seed, index): in place is fine; with the same seed also the backward pass. */
const dropout: GpuKernel = {
  args: [
    ['out', 'ptr'],
    ['inp', 'ptr'],
    ['n', 'u32'],
    ['p', 'f32'],
    ['seed', 'u32'],
  ],
  wgsl: `${RANDOM_WGSL}
${FLAT_INDEX_WGSL}
@compute @workgroup_size(${ELEMENTWISE_GROUP})
fn dropout(${ELEMENTWISE_PARAMS}) {
  let i = flatIndex(wid, nwg, lid);
  if (i >= args.n) { return; }
  let scale = 1.0 / (1.0 - args.p);
  st(args.out + i, select(ld(args.inp + i) * scale, 0.0, uniformAt(args.seed, i) < args.p));
}`,
  dispatches: (a) => [{ entry: 'dropout', workgroups: elementwiseGrid(a.n!) }],
};

export const dropoutKernels: GpuKernelTable = { dropout };
