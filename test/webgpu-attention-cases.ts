// The WGSL attention, embedding and dropout kernels against the WebAssembly kernels of the same name
// and arguments, on the same inputs: real shapes (65 tokens, head sizes 12 and 32) and awkward ones
// (batch 1, 3 and 257, [CLS]-only queries, kept tokens, head sizes 5, 6 and 7, 257 tokens), dropout on
// and off. Outputs start as the same noise in both engines, so an element one engine skips shows;
// every tensor is compared (inputs too: neither engine may change them), and the floats around
// each on the GPU must be untouched.
//
// Tolerance: 1e-5 of each tensor's largest magnitude. The sums run in the WebAssembly kernel's
// order, so what differs is rounding: fused or separate multiply-adds, and WGSL's exp (within
// 3 + 2·|x| ULP) against the WebAssembly kernel's polynomial (about 2e-8 relative). Seen on
// SwiftShader: below 1e-6 of the scale everywhere. Copies (patchify, copy_rows,
// gather/scatter_tokens) must be exact; a dropout mask that differs shows as a whole value.
//
// No node: imports: the same cases run in Node (test/webgpu-attention.test.ts, Dawn) and can run in
// a page beside test/webgpu-kernel-cases.ts's.
import type { WasmEngine } from '../src/runtime/wasm-engine.js';
import type { KernelName } from '../src/runtime/kernels.js';
import type { WebGpuEngine } from '../src/runtime/webgpu/engine.js';
import { Random } from '../src/random.js';
import { checkClose, type KernelCase } from './webgpu-kernel-cases.js';

/** Floats of sentinel on each side of every GPU tensor. */
const GUARD = 64;
const SENTINEL = Math.fround(-1.2345e30);

type Data = Float32Array | Int32Array;
/** A kernel argument: a number, or the name of one of the case's tensors (its pointer). */
type Arg = number | { tensor: string };
const t = (tensor: string): Arg => ({ tensor });

/** One call of a kernel on both engines. */
interface Case {
  kernel: KernelName;
  tensors: Record<string, Data>;
  args: Arg[];
  /** Tensors whose floats are copied, so the two engines must agree bit for bit. */
  exact?: readonly string[];
}

type Results = Record<string, { wasm: Data; gpu: Data }>;

/** Runs the case on both engines; returns each tensor as each engine left it. */
async function runBoth(gpu: WebGpuEngine, wasm: WasmEngine, c: Case): Promise<Results> {
  const names = Object.keys(c.tensors);
  const wasmPtr: Record<string, number> = {};
  const gpuPtr: Record<string, number> = {};
  for (const name of names) {
    const data = c.tensors[name]!;
    wasmPtr[name] = wasm.allocate(Math.max(data.length, 1));
    (data instanceof Int32Array ? wasm.i32(wasmPtr[name], data.length) : wasm.f32(wasmPtr[name], data.length)).set(data);
    const base = gpu.allocate(data.length + 2 * GUARD);
    gpu.write(base, new Float32Array(GUARD).fill(SENTINEL));
    gpu.write(base + 4 * (GUARD + data.length), new Float32Array(GUARD).fill(SENTINEL));
    gpu.write(base + 4 * GUARD, data);
    gpuPtr[name] = base + 4 * GUARD;
  }
  // The WebAssembly attention kernels need scratch per thread; the WebGPU ones ignore theirs.
  let scratch = 0;
  if (c.kernel === 'attention_forward' || c.kernel === 'attention_backward') {
    const [T, C, NH] = c.args.slice(-6, -3) as number[];
    scratch = wasm.allocate(wasm.sizes.attentionScratch(T!, C! / NH!));
  }
  const resolve = (ptrs: Record<string, number>, scratchPtr: number): number[] =>
    c.args.map((a) => (a === SCRATCH ? scratchPtr : typeof a === 'number' ? a : ptrs[a.tensor]!));
  (wasm.run as (name: string, ...args: number[]) => void)(c.kernel, ...resolve(wasmPtr, scratch));
  gpu.run(c.kernel, ...resolve(gpuPtr, 0));
  const result: Results = {};
  for (const name of names) {
    const data = c.tensors[name]!;
    const whole = await gpu.read(gpuPtr[name]! - 4 * GUARD, data.length + 2 * GUARD);
    for (let i = 0; i < GUARD; i++) {
      if (!Object.is(whole[i], SENTINEL))
        throw new Error(`${c.kernel}: ${name}: float ${i - GUARD} before it was overwritten (${whole[i]})`);
      const j = GUARD + data.length + i;
      if (!Object.is(whole[j], SENTINEL))
        throw new Error(`${c.kernel}: ${name}: float ${data.length + i} past its end was overwritten (${whole[j]})`);
    }
    const fromGpu = whole.slice(GUARD, GUARD + data.length);
    result[name] =
      data instanceof Int32Array
        ? { wasm: wasm.i32(wasmPtr[name]!, data.length).slice(), gpu: new Int32Array(fromGpu.buffer) }
        : { wasm: wasm.f32(wasmPtr[name]!, data.length).slice(), gpu: fromGpu };
    wasm.release(wasmPtr[name]!);
    gpu.release(gpuPtr[name]! - 4 * GUARD);
  }
  if (scratch !== 0) wasm.release(scratch);
  return result;
}

/** The scratch argument's placeholder (a pointer each engine fills in). */
const SCRATCH: Arg = { tensor: '(scratch)' };

/** Runs the case and compares every tensor; returns the results for further checks. */
async function check(gpu: WebGpuEngine, wasm: WasmEngine, c: Case, what: string): Promise<Results> {
  const result = await runBoth(gpu, wasm, c);
  for (const [name, { wasm: expected, gpu: actual }] of Object.entries(result)) {
    if (c.exact?.includes(name) || expected instanceof Int32Array) {
      const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
      const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
      const at = a.findIndex((bits, i) => bits !== e[i]);
      if (at >= 0) throw new Error(`${what}: ${name} differs at ${at} (bits ${a[at]}, expected ${e[at]})`);
    } else {
      checkClose(actual, expected, `${what}: ${name}`);
    }
  }
  return result;
}

function uniform(rng: Random, n: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

interface AttentionShape {
  B: number;
  T: number;
  C: number;
  NH: number;
  queries: number;
  dropout: number;
}

function attentionCases(s: AttentionShape, rng: Random): { forward: Case; backward: Case } {
  const { B, T, C, NH, queries, dropout } = s;
  const seed = rng.nextUint32();
  // Scores of a few units: probabilities from near one-hot to spread out.
  const qkv = uniform(rng, B * T * 3 * C, -2, 2);
  const tail = [B, T, C, NH, queries, dropout, seed];
  const forward: Case = {
    kernel: 'attention_forward',
    tensors: { out: uniform(rng, B * T * C, -1, 1), att: uniform(rng, B * NH * T * T, 0, 1), qkv },
    args: [t('out'), t('att'), t('qkv'), SCRATCH, ...tail],
  };
  const backward: Case = {
    kernel: 'attention_backward',
    tensors: { dqkv: uniform(rng, B * T * 3 * C, -1, 1), dout: uniform(rng, B * T * C, -1, 1), qkv, att: new Float32Array(B * NH * T * T) },
    args: [t('dqkv'), t('dout'), t('qkv'), t('att'), SCRATCH, ...tail],
  };
  return { forward, backward };
}

const ATTENTION_SHAPES: Record<string, AttentionShape> = {
  'seed (65 tokens, head size 12), batch 3': { B: 3, T: 65, C: 48, NH: 4, queries: 65, dropout: 0 },
  'seed, batch 3, attention dropout 0.1': { B: 3, T: 65, C: 48, NH: 4, queries: 65, dropout: 0.1 },
  // Batch 257 at all 65 queries takes a minute on SwiftShader; the [CLS]-only and 17-token ones cover the same indexing.
  'seed, [CLS]-only queries, batch 257, dropout 0.1': { B: 257, T: 65, C: 48, NH: 4, queries: 1, dropout: 0.1 },
  'seed, [CLS]-only queries, batch 3, dropout 0.1': { B: 3, T: 65, C: 48, NH: 4, queries: 1, dropout: 0.1 },
  'wide (head size 32), batch 3': { B: 3, T: 65, C: 192, NH: 6, queries: 65, dropout: 0 },
  'wide, batch 1, dropout 0.2': { B: 1, T: 65, C: 192, NH: 6, queries: 65, dropout: 0.2 },
  'wide, [CLS]-only queries, batch 3': { B: 3, T: 65, C: 192, NH: 6, queries: 1, dropout: 0 },
  'kept tokens (17), batch 257, dropout 0.1': { B: 257, T: 17, C: 48, NH: 4, queries: 17, dropout: 0.1 },
  'kept tokens (17), wide, [CLS]-only, batch 3, dropout 0.1': { B: 3, T: 17, C: 192, NH: 6, queries: 1, dropout: 0.1 },
  // The kernels work on four keys or four columns at a time: these leave 1, 2 or 3 of them over.
  'head size 5, 10 tokens, batch 2, dropout 0.3': { B: 2, T: 10, C: 15, NH: 3, queries: 10, dropout: 0.3 },
  'head size 7, 11 tokens, batch 2, dropout 0.2': { B: 2, T: 11, C: 21, NH: 3, queries: 11, dropout: 0.2 },
  'head size 6, 7 tokens, [CLS]-only, batch 3': { B: 3, T: 7, C: 12, NH: 2, queries: 1, dropout: 0 },
  '257 tokens (patch 2), head size 12, batch 1': { B: 1, T: 257, C: 24, NH: 2, queries: 257, dropout: 0.1 },
  '257 tokens, head size 32, batch 1': { B: 1, T: 257, C: 64, NH: 2, queries: 257, dropout: 0 },
};

/** Each image's K kept patch indices out of P: distinct, in random order. */
function keptIndices(rng: Random, B: number, P: number, K: number): Int32Array {
  const kept = new Int32Array(B * K);
  for (let b = 0; b < B; b++) {
    const order = Array.from({ length: P }, (_, i) => i);
    for (let i = P - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    kept.set(order.slice(0, K), b * K);
  }
  return kept;
}

/** Every case: attention forward then backward per shape, then the embedding and dropout kernels. */
export function attentionKernelCases(): KernelCase[] {
  const cases: KernelCase[] = Object.entries(ATTENTION_SHAPES).map(([name, shape]) => ({
    name: `attention, ${name}`,
    run: async (gpu, wasm) => {
      const { forward, backward } = attentionCases(shape, new Random(name.length * 7919 + shape.B));
      const fwd = await check(gpu, wasm, forward, `attention_forward, ${name}`);
      // The backward pass gets the probabilities the forward pass wrote (the WebAssembly kernel's).
      backward.tensors.att = fwd.att!.wasm;
      await check(gpu, wasm, backward, `attention_backward, ${name}`);
    },
  }));
  cases.push({
    name: 'attention and embed_backward: the same bits on a second run (no atomics, fixed order)',
    run: async (gpu, wasm) => {
      const { forward, backward } = attentionCases(ATTENTION_SHAPES['seed, batch 3, attention dropout 0.1']!, new Random(5));
      backward.tensors.att = uniform(new Random(6), backward.tensors.att!.length, 0, 0.1);
      const rng = new Random(7);
      const embed: Case = {
        kernel: 'embed_backward',
        tensors: {
          dpatchOut: uniform(rng, 3 * 64 * 48, -1, 1),
          dcls: uniform(rng, 48, -1, 1),
          dpos: uniform(rng, 65 * 48, -1, 1),
          dx: uniform(rng, 3 * 65 * 48, -1, 1),
        },
        args: [t('dpatchOut'), t('dcls'), t('dpos'), t('dx'), 3, 65, 48],
      };
      for (const c of [forward, backward, embed]) {
        const [first, second] = [await runBoth(gpu, wasm, c), await runBoth(gpu, wasm, c)];
        for (const [tensor, { gpu: bits }] of Object.entries(first)) {
          const again = new Uint32Array(second[tensor]!.gpu.buffer),
            once = new Uint32Array(bits.buffer);
          const at = once.findIndex((word, i) => word !== again[i]);
          if (at >= 0) throw new Error(`${c.kernel}: ${tensor} differs between two runs at ${at}`);
        }
      }
    },
  });
  const rng = new Random(16);
  const others: Record<string, () => Case> = {
    'patchify, CIFAR (3×32×32, patch 4), batch 3': () => ({
      kernel: 'patchify',
      exact: ['patches'],
      tensors: { patches: uniform(rng, 3 * 64 * 48, -1, 1), images: uniform(rng, 3 * 3 * 32 * 32, -1, 1) },
      args: [t('patches'), t('images'), 3, 3, 32, 32, 4],
    }),
    'patchify, 1×8×12 images, patch 4, batch 257': () => ({
      kernel: 'patchify',
      exact: ['patches'],
      tensors: { patches: uniform(rng, 257 * 6 * 16, -1, 1), images: uniform(rng, 257 * 8 * 12, -1, 1) },
      args: [t('patches'), t('images'), 257, 1, 8, 12, 4],
    }),
    'embed_forward, 65 tokens, batch 3': () => ({
      kernel: 'embed_forward',
      tensors: {
        x: uniform(rng, 3 * 65 * 48, -1, 1),
        patchOut: uniform(rng, 3 * 64 * 48, -1, 1),
        cls: uniform(rng, 48, -1, 1),
        pos: uniform(rng, 65 * 48, -1, 1),
      },
      args: [t('x'), t('patchOut'), t('cls'), t('pos'), 3, 65, 48],
    }),
    'embed_forward, width 192, batch 1': () => ({
      kernel: 'embed_forward',
      tensors: {
        x: uniform(rng, 65 * 192, -1, 1),
        patchOut: uniform(rng, 64 * 192, -1, 1),
        cls: uniform(rng, 192, -1, 1),
        pos: uniform(rng, 65 * 192, -1, 1),
      },
      args: [t('x'), t('patchOut'), t('cls'), t('pos'), 1, 65, 192],
    }),
    'embed_backward, 65 tokens, batch 257 (sums over the batch added to the gradients)': () => ({
      kernel: 'embed_backward',
      tensors: {
        dpatchOut: uniform(rng, 257 * 64 * 48, -1, 1),
        dcls: uniform(rng, 48, -1, 1),
        dpos: uniform(rng, 65 * 48, -1, 1),
        dx: uniform(rng, 257 * 65 * 48, -1, 1),
      },
      args: [t('dpatchOut'), t('dcls'), t('dpos'), t('dx'), 257, 65, 48],
    }),
    'embed_backward, width 192, batch 3': () => ({
      kernel: 'embed_backward',
      tensors: {
        dpatchOut: uniform(rng, 3 * 64 * 192, -1, 1),
        dcls: uniform(rng, 192, -1, 1),
        dpos: uniform(rng, 65 * 192, -1, 1),
        dx: uniform(rng, 3 * 65 * 192, -1, 1),
      },
      args: [t('dpatchOut'), t('dcls'), t('dpos'), t('dx'), 3, 65, 192],
    }),
    'copy_rows, the [CLS] rows of 257 images': () => ({
      kernel: 'copy_rows',
      exact: ['dst'],
      tensors: { dst: uniform(rng, 257 * 50, -1, 1), src: uniform(rng, 257 * 65 * 48, -1, 1) },
      args: [t('dst'), 50, t('src'), 65 * 48, 257, 48],
    }),
    'gather_tokens, 16 of 64 patches kept, batch 3': () => ({
      kernel: 'gather_tokens',
      exact: ['dst'],
      tensors: { dst: uniform(rng, 3 * 17 * 48, -1, 1), src: uniform(rng, 3 * 65 * 48, -1, 1), kept: keptIndices(rng, 3, 64, 16) },
      args: [t('dst'), t('src'), t('kept'), 3, 65, 16, 48],
    }),
    'gather_tokens, 48 of 64 kept, width 192, batch 257': () => ({
      kernel: 'gather_tokens',
      exact: ['dst'],
      tensors: { dst: uniform(rng, 257 * 49 * 192, -1, 1), src: uniform(rng, 257 * 65 * 192, -1, 1), kept: keptIndices(rng, 257, 64, 48) },
      args: [t('dst'), t('src'), t('kept'), 257, 65, 48, 192],
    }),
    'scatter_tokens, 16 of 64 kept, batch 3': () => ({
      kernel: 'scatter_tokens',
      exact: ['dst'],
      tensors: { dst: uniform(rng, 3 * 65 * 48, -1, 1), src: uniform(rng, 3 * 17 * 48, -1, 1), kept: keptIndices(rng, 3, 64, 16) },
      args: [t('dst'), t('src'), t('kept'), 3, 65, 16, 48],
    }),
    'scatter_tokens, 1 of 64 kept, batch 1': () => ({
      kernel: 'scatter_tokens',
      exact: ['dst'],
      tensors: { dst: uniform(rng, 65 * 48, -1, 1), src: uniform(rng, 2 * 48, -1, 1), kept: keptIndices(rng, 1, 64, 1) },
      args: [t('dst'), t('src'), t('kept'), 1, 65, 1, 48],
    }),
    'dropout 0.1, 257·65·48 floats': () => ({
      kernel: 'dropout',
      tensors: { out: uniform(rng, 257 * 65 * 48, -1, 1), inp: uniform(rng, 257 * 65 * 48, -1, 1) },
      args: [t('out'), t('inp'), 257 * 65 * 48, 0.1, 0xdeadbeef],
    }),
    'dropout 0.5 in place, 1001 floats': () => {
      const x = uniform(rng, 1001, -1, 1);
      return { kernel: 'dropout', tensors: { x }, args: [t('x'), t('x'), 1001, 0.5, 12345] };
    },
  };
  for (const [name, make] of Object.entries(others)) {
    cases.push({
      name,
      run: async (gpu, wasm) => {
        await check(gpu, wasm, make(), name);
      },
    });
  }
  return cases;
}
