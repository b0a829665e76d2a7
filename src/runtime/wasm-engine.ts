// The WebAssembly engine: one WebAssembly.Memory (shared by the threads), the compiled kernels, an allocator
// for the memory, and the thread pool that runs the kernels. One engine serves every model in a
// program. Without SharedArrayBuffer (a page that is not cross-origin isolated; WebKit) the memory
// is a plain one and one thread runs.
import { Allocator } from './allocator.js';
import { CONTROL_BYTES } from './control.js';
import type { Engine, EngineSizes } from './engine.js';
import { KERNEL_NAMES, type KernelFunction, type KernelName, type Kernels, type WasmSizing } from './kernels.js';
import { relaxedSimdAvailable, sharedMemoryAvailable } from './support.js';
import { ThreadPool } from './thread-pool.js';
import { UserError } from '../errors.js';
import { checkOptionalObject } from '../arguments.js';

const PAGE = 65536;
const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
/** The most memory an engine may grow to: wasm32's 4 GiB in Node, 1 GiB in a page. */
const MAX_PAGES = isNode ? 65536 : 16384;

export interface WasmEngineOptions {
  /**
   * Threads running the kernels, the caller's included. Default: VIT_THREADS, else the number of
   * cores (1 where the runtime has no SharedArrayBuffer; more is then refused).
   */
  threads?: number;
  /** Use relaxed SIMD's fused multiply-add where the runtime has it (default true). */
  relaxedSimd?: boolean;
  /**
   * Where to fetch the compiled kernels from. Default: dist/wasm/ beside this module, which is
   * right for Node and for dist/ served as is; a bundler that renames assets (Vite) passes the
   * URLs it emitted.
   */
  kernelUrls?: KernelUrls;
}

/**
 * The URLs of the builds of the kernels (see scripts/build-wasm.js): on a shared memory, and the
 * same on a plain memory for a runtime without SharedArrayBuffer (needed only there).
 */
export interface KernelUrls {
  simd: string | URL;
  relaxed: string | URL;
  simdUnshared?: string | URL;
  relaxedUnshared?: string | URL;
}

/**
 * The engine's view of its WebAssembly.Memory (shared by all threads). Named here rather than as
 * WebAssembly.Memory so that vit-ts's declarations type-check in a Node project whose lib has no
 * WebAssembly types (ES2022 alone, as the DOM and WebWorker libs declare them).
 */
export interface EngineMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

export class WasmEngine implements Engine {
  readonly kind = 'wasm' as const;
  private readonly allocator: Allocator;
  private readonly kernelIndex = new Map<string, number>();
  readonly sizes: EngineSizes;

  private constructor(
    readonly memory: EngineMemory,
    private readonly pool: ThreadPool,
    exports: Record<string, unknown>,
    heapBase: number,
    /** Whether the kernels use relaxed SIMD's fused multiply-add. */
    readonly relaxedSimd: boolean,
    /** Whether the memory is shared (false: a plain memory, one thread). */
    readonly sharedMemory: boolean,
  ) {
    this.allocator = new Allocator(heapBase);
    KERNEL_NAMES.forEach((name, i) => this.kernelIndex.set(name, i));
    const sizing = exports as unknown as WasmSizing;
    const threads = pool.threads;
    // Each thread has its own working memory; layernorm_backward and sum_squares leave one partial sum per thread.
    this.sizes = {
      gemmScratch: (K) => threads * sizing.gemm_scratch_floats(K),
      gemmPacked: (K, M) => threads * sizing.gemm_packed_floats(K, M),
      attentionScratch: (T, headSize) => threads * sizing.attention_scratch_floats(T, headSize),
      partials: threads,
    };
  }

  static async create(options: WasmEngineOptions = {}): Promise<WasmEngine> {
    checkOptionalObject(options, 'WasmEngine.create: "options"');
    const shared = sharedMemoryAvailable();
    const threads = options.threads ?? (shared ? await defaultThreads() : 1);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new UserError(`threads must be a whole number from 1 to 256 (got ${threads})`);
    }
    if (threads > 1 && !shared) {
      throw new UserError(
        `${threads} threads need SharedArrayBuffer, which this runtime lacks (a page has it only when cross-origin isolated, ` +
          'and WebKit not at all): use 1 thread',
      );
    }
    const relaxed = (options.relaxedSimd ?? true) && (await relaxedSimdAvailable());
    const urls = options.kernelUrls ?? DEFAULT_KERNEL_URLS;
    const module = await compileOptimized(await loadWasm(kernelUrl(urls, relaxed, shared)));
    // The module's own data sits in its first page; the control block and the heap follow.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared });
    const control = PAGE;
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as Record<string, unknown>;
    const kernels = KERNEL_NAMES.map((name) => exports[name] as KernelFunction);
    const pool = await ThreadPool.start(module, memory, control, threads, kernels);
    return new WasmEngine(memory, pool, exports, control + CONTROL_BYTES, relaxed, shared);
  }

  get threads(): number {
    return this.pool.threads;
  }

  get description(): string {
    return `WebAssembly SIMD${this.relaxedSimd ? ' (relaxed)' : ''}, ${this.threads} thread${this.threads === 1 ? '' : 's'}`;
  }

  /** Time spent in each kernel, in milliseconds, while profiling is on (see profile()). */
  private timings: Map<string, { ms: number; calls: number }> | null = null;

  /** Runs a kernel on all threads; it is done when run() returns. */
  run<K extends KernelName>(name: K, ...args: Parameters<Kernels[K]>): void {
    if (this.timings === null) {
      this.pool.run(this.kernelIndex.get(name)!, args);
      return;
    }
    const start = performance.now();
    this.pool.run(this.kernelIndex.get(name)!, args);
    const entry = this.timings.get(name) ?? { ms: 0, calls: 0 };
    entry.ms += performance.now() - start;
    entry.calls++;
    this.timings.set(name, entry);
  }

  /** Starts (or restarts) timing every kernel call; returns the live table. */
  profile(): Map<string, { ms: number; calls: number }> {
    this.timings = new Map();
    return this.timings;
  }

  stopProfile(): void {
    this.timings = null;
  }

  /** Reserves `floats` 4-byte values; returns the byte offset. */
  allocate(floats: number): number {
    const bytes = floats * 4;
    const needed = this.allocator.requiredEnd(bytes);
    const have = this.memory.buffer.byteLength;
    if (needed > have) {
      const pages = Math.ceil((needed - have) / PAGE);
      try {
        this.memory.grow(pages);
      } catch {
        // Not a --batch-size hint: a model's parameters alone can be what does not fit (and a page has no flags).
        throw new UserError(
          `out of WebAssembly memory: ${Math.round(needed / 2 ** 20)} MiB needed, more than the ` +
            `${(MAX_PAGES * PAGE) / 2 ** 20} MiB this engine can hold; a smaller batch or model needs less`,
        );
      }
      this.pool.memoryGrew(this.memory.buffer.byteLength / PAGE);
    }
    return this.allocator.allocate(bytes);
  }

  release(ptr: number): void {
    this.allocator.release(ptr);
  }

  write(ptr: number, values: Float32Array | Int32Array): void {
    (values instanceof Float32Array ? this.f32(ptr, values.length) : this.i32(ptr, values.length)).set(values);
  }

  read(ptr: number, floats: number): Promise<Float32Array> {
    return Promise.resolve(this.f32(ptr, floats).slice());
  }

  readInt32(ptr: number, count: number): Promise<Int32Array> {
    return Promise.resolve(this.i32(ptr, count).slice());
  }

  /** Nothing to submit: every kernel has run when run() returns. */
  flush(): void {}

  /**
   * A live Float32Array over `length` floats at byte offset `ptr` (valid until the memory grows):
   * for WebAssembly-only code (benchmarks, kernel tests); the model goes through write() and read().
   */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  close(): void {
    this.pool.close();
  }
}

async function defaultThreads(): Promise<number> {
  const fromEnv = isNode ? process.env.VIT_THREADS : undefined;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`VIT_THREADS must be a positive whole number (got "${fromEnv}")`);
    return n;
  }
  if (isNode) return (await import('node:os')).availableParallelism();
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

// Bundlers are told to leave these alone: from the sources the built kernels are elsewhere (dist/wasm).
const DEFAULT_KERNEL_URLS: KernelUrls = {
  simd: new URL(/* @vite-ignore */ '../../wasm/kernels.wasm', import.meta.url),
  relaxed: new URL(/* @vite-ignore */ '../../wasm/kernels-relaxed.wasm', import.meta.url),
  simdUnshared: new URL(/* @vite-ignore */ '../../wasm/kernels-unshared.wasm', import.meta.url),
  relaxedUnshared: new URL(/* @vite-ignore */ '../../wasm/kernels-relaxed-unshared.wasm', import.meta.url),
};

/** The build for this runtime: a module declares its memory shared or not, and links only to such a memory. */
function kernelUrl(urls: KernelUrls, relaxed: boolean, shared: boolean): string | URL {
  if (shared) return relaxed ? urls.relaxed : urls.simd;
  const key = relaxed ? 'relaxedUnshared' : 'simdUnshared';
  const url = urls[key];
  if (url === undefined)
    throw new UserError(
      `WasmEngine.create: this runtime has no SharedArrayBuffer, so the kernels need a plain memory: give kernelUrls.${key}`,
    );
  return url;
}

async function loadWasm(location: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(location, import.meta.url);
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    try {
      return new Uint8Array(await readFile(url));
    } catch {
      throw new UserError(`the kernels are not built (${url.pathname} is missing): run \`npm install\` or \`npm run build\``);
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Compiles with V8's optimizing compiler from the start. By default V8 first runs a quick
 * baseline translation and optimizes hot functions later, which for kernels that run for
 * milliseconds per call means the first training steps run at a fraction of the speed.
 */
async function compileOptimized(bytes: Uint8Array<ArrayBuffer>): Promise<WebAssembly.Module> {
  if (!isNode) return WebAssembly.compile(bytes);
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--no-liftoff');
  try {
    return await WebAssembly.compile(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
  }
}
