// The engine the model runs on: kernels by name on byte offsets into one memory, host access by
// copies. Two implementations: WebAssembly SIMD on CPU threads (wasm-engine.ts) and WebGPU
// (webgpu/engine.ts). The model, the trainer, evaluation, the page and the CLI use only this interface.
import { checkOptionalObject } from '../arguments.js';
import { UserError } from '../errors.js';
import type { KernelName, Kernels } from './kernels.js';
import { WasmEngine, type WasmEngineOptions } from './wasm-engine.js';

/** Floats of working memory the kernels need beyond their tensors (0 on WebGPU). */
export interface EngineSizes {
  /** gemm's and linear_backward's `scratch` for K input features. */
  gemmScratch(K: number): number;
  /** gemm's and linear_backward's `packed` for a [M, K] weight. */
  gemmPacked(K: number, M: number): number;
  /** attention_forward's and attention_backward's `scratch` for T tokens of headSize. */
  attentionScratch(T: number, headSize: number): number;
  /** The partial sums layernorm_backward and sum_squares write: layernorm_reduce's `parts`. */
  readonly partials: number;
}

export interface Engine {
  readonly kind: 'wasm' | 'webgpu';
  /** For messages: "WebAssembly SIMD, 2 threads" / the adapter's name. */
  readonly description: string;
  /** Runs (WebAssembly) or records (WebGPU) one kernel; kernels take effect in the order they are run. */
  run<K extends KernelName>(name: K, ...args: Parameters<Kernels[K]>): void;
  /** Reserves `floats` 4-byte values; returns the byte offset (never 0). */
  allocate(floats: number): number;
  release(ptr: number): void;
  /** Host → engine memory, ordered after the kernels run before it and before those after it. */
  write(ptr: number, values: Float32Array | Int32Array): void;
  /** Engine memory → host (a copy), ordered after the kernels run before it. */
  read(ptr: number, floats: number): Promise<Float32Array>;
  readInt32(ptr: number, count: number): Promise<Int32Array>;
  /** Submits what has been recorded (WebGPU); nothing on WebAssembly. */
  flush(): void;
  readonly sizes: EngineSizes;
  /** Starts (or restarts) timing every kernel; returns the live table. */
  profile(): Map<string, { ms: number; calls: number }>;
  stopProfile(): void;
  close(): void;
}

/** Where the kernels run: WebAssembly SIMD on the CPU, WebGPU, or WebGPU when a hardware GPU fits. */
export type Backend = 'wasm' | 'webgpu' | 'auto';

export const BACKENDS: readonly Backend[] = ['wasm', 'webgpu', 'auto'];

export interface EngineOptions extends WasmEngineOptions {
  /** Default 'wasm'. */
  backend?: Backend;
  /** Bytes the work will need: `auto` picks WebGPU only where the adapter can hold them in one buffer. */
  memoryBytes?: number;
  /** Told which engine `auto` picked and why, in one line. */
  onChoice?: (line: string) => void;
}

/**
 * A new engine on the chosen backend. `webgpu` without WebGPU (the optional `webgpu` package
 * missing in Node, no adapter) is one UserError; `auto` picks WebGPU only for a hardware adapter
 * whose limits fit `memoryBytes`, and otherwise WebAssembly, saying which through onChoice.
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  checkOptionalObject(options, 'createEngine: "options"');
  const { backend = 'wasm', memoryBytes = 0, onChoice, ...wasm } = options;
  if (!BACKENDS.includes(backend)) throw new UserError(`backend must be one of ${BACKENDS.join(', ')} (got ${JSON.stringify(backend)})`);
  if (backend === 'wasm') return WasmEngine.create(wasm);
  const { WebGpuEngine } = await import('./webgpu/engine.js');
  if (backend === 'webgpu') return WebGpuEngine.create();
  const refusal = await webGpuRefusal(memoryBytes);
  if (refusal === null) {
    const engine = await WebGpuEngine.create();
    onChoice?.(`backend auto: WebGPU on ${engine.description}`);
    return engine;
  }
  const engine = await WasmEngine.create(wasm);
  onChoice?.(`backend auto: ${engine.description} (${refusal})`);
  return engine;
}

/** Why `auto` does not take WebGPU here, or null when it does. */
async function webGpuRefusal(memoryBytes: number): Promise<string | null> {
  const { findAdapter } = await import('./webgpu/adapter.js');
  let found;
  try {
    found = await findAdapter();
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return error.message.split(':')[0]!;
  }
  if (found.software) return `${found.name} is a software adapter, slower than the CPU's own kernels`;
  const { maxStorageBufferBindingSize, maxBufferSize } = found.adapter.limits;
  const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
  if (limit < memoryBytes)
    return `${found.name} holds ${Math.floor(limit / 2 ** 20)} MiB in one buffer, less than the ${Math.ceil(memoryBytes / 2 ** 20)} MiB needed`;
  return null;
}

/** The threads of a WebAssembly engine; undefined on WebGPU. */
export function engineThreads(engine: Engine): number | undefined {
  return engine instanceof WasmEngine ? engine.threads : undefined;
}

const shared = new Map<Backend, Promise<Engine>>();

/** The program's engine for `options.backend` (default wasm), created on first use. Options apply only to that first call. */
export function getEngine(options: EngineOptions = {}): Promise<Engine> {
  const backend = options.backend ?? 'wasm';
  let engine = shared.get(backend);
  if (engine === undefined) {
    engine = createEngine(options);
    shared.set(backend, engine);
    // A failed start (no adapter, say) is not kept: the next call tries again.
    engine.catch(() => shared.delete(backend));
  }
  return engine;
}
