// What every WGSL kernel is compiled with: the two bindings (the engine's whole memory as 4-byte
// words, and this dispatch's arguments), float loads and stores by bitcast, and the `struct Args`
// generated from the kernel's argument list.

/** How an argument arrives in WGSL: a pointer as a u32 word index (byte offset / 4), the others as declared. */
export type GpuArgType = 'ptr' | 'u32' | 'i32' | 'f32';

export interface GpuDispatch {
  /** The entry point (an @compute function of the kernel's WGSL). */
  readonly entry: string;
  /** Workgroup counts, x then y and z (each at most 65535). */
  readonly workgroups: readonly [number, number?, number?];
}

export interface GpuKernel {
  /** Argument names and types in the order of the WebAssembly kernel's (without tid, nt). */
  readonly args: readonly (readonly [string, GpuArgType])[];
  /** The WGSL after the prelude: one or more entry points. */
  readonly wgsl: string;
  /** The dispatches, in order, for these argument values (pointers as byte offsets). */
  dispatches(a: Readonly<Record<string, number>>): readonly GpuDispatch[];
  /**
   * Floats of working memory the kernel needs for these arguments (split sums, say), handed to it
   * as the word index `args.tmp`; the engine owns that memory, so the model allocates nothing for it.
   */
  tmp?(a: Readonly<Record<string, number>>): number;
}

/** A kernel table: kernel name → its WGSL version. */
export type GpuKernelTable = Readonly<Record<string, GpuKernel>>;

/**
 * Partial sums that layernorm_backward and sum_squares write (one per workgroup or group of rows, in
 * a fixed order): layernorm_reduce's `parts`, the engine's sizes.partials.
 */
export const GPU_PARTIALS = 128;

/** Bytes of the uniform slot each dispatch's arguments take (WebGPU's minUniformBufferOffsetAlignment at most). */
export const ARG_SLOT_BYTES = 256;

/** The name of the engine-owned working memory's argument, after the kernel's own. */
export const TMP_ARG = 'tmp';

const WGSL_TYPE: Record<GpuArgType, string> = { ptr: 'u32', u32: 'u32', i32: 'i32', f32: 'f32' };

/** The WGSL module of a kernel: bindings, helpers, `struct Args`, then its own code. */
export function kernelSource(kernel: GpuKernel): string {
  const members = [...kernel.args, [TMP_ARG, 'ptr'] as const].map(([name, type]) => `  ${name}: ${WGSL_TYPE[type]},`);
  return `struct Args {
${members.join('\n')}
}
@group(0) @binding(0) var<storage, read_write> mem: array<u32>;
@group(0) @binding(1) var<uniform> args: Args;
fn ld(i: u32) -> f32 { return bitcast<f32>(mem[i]); }
fn st(i: u32, v: f32) { mem[i] = bitcast<u32>(v); }
fn ldi(i: u32) -> i32 { return bitcast<i32>(mem[i]); }
${kernel.wgsl}`;
}

/**
 * Workgroup counts for `count` workgroups of a one-dimensional grid, spread over x and y so that
 * neither exceeds 65535; the kernel recovers its index with `flatWorkgroup`.
 */
export function grid(count: number): [number, number] {
  const MAX = 65535;
  if (count <= MAX) return [Math.max(1, count), 1];
  const y = Math.ceil(count / MAX);
  return [Math.ceil(count / y), y];
}

/** WGSL: the index of this workgroup in a grid() of workgroups (wid, nwg: the builtins). */
export const FLAT_WORKGROUP = `fn flatWorkgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }`;
