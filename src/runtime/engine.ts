// The engine: one shared WebAssembly.Memory, the compiled kernels, an allocator for the memory,
// and the thread pool that runs the kernels. One engine serves every model in a program.
import { Allocator } from './allocator.js';
import { CONTROL_BYTES } from './control.js';
import { PARALLEL_KERNELS, type KernelFunction, type ParallelKernelName, type ParallelKernels, type SerialKernels } from './kernels.js';
import { ThreadPool } from './thread-pool.js';
import { UserError } from '../errors.js';
import { checkOptionalObject } from '../arguments.js';

const PAGE = 65536;
const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
/** The most memory an engine may grow to: wasm32's 4 GiB in Node, 1 GiB in a page. */
const MAX_PAGES = isNode ? 65536 : 16384;

export interface EngineOptions {
  /** Threads running the kernels, the caller's included. Default: VIT_THREADS, else the number of cores. */
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

/** The URLs of the two builds of the kernels (see scripts/build-wasm.js). */
export interface KernelUrls {
  simd: string | URL;
  relaxed: string | URL;
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

export class Engine {
  private readonly allocator: Allocator;
  private readonly kernelIndex = new Map<string, number>();
  /** Kernels run on the calling thread alone. */
  readonly serial: SerialKernels;

  private constructor(
    readonly memory: EngineMemory,
    private readonly pool: ThreadPool,
    exports: Record<string, unknown>,
    heapBase: number,
    /** Whether the kernels use relaxed SIMD's fused multiply-add. */
    readonly relaxedSimd: boolean,
  ) {
    this.allocator = new Allocator(heapBase);
    PARALLEL_KERNELS.forEach((name, i) => this.kernelIndex.set(name, i));
    this.serial = exports as unknown as SerialKernels;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    checkOptionalObject(options, 'Engine.create: "options"');
    const threads = options.threads ?? (await defaultThreads());
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new UserError(`threads must be a whole number from 1 to 256 (got ${threads})`);
    }
    const relaxed = (options.relaxedSimd ?? true) && (await relaxedSimdAvailable());
    const urls = options.kernelUrls ?? DEFAULT_KERNEL_URLS;
    const module = await compileOptimized(await loadWasm(relaxed ? urls.relaxed : urls.simd));
    // The module's own data sits in its first page; the control block and the heap follow.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
    const control = PAGE;
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as Record<string, unknown>;
    const kernels = PARALLEL_KERNELS.map((name) => exports[name] as KernelFunction);
    const pool = await ThreadPool.start(module, memory, control, threads, kernels);
    return new Engine(memory, pool, exports, control + CONTROL_BYTES, relaxed);
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Time spent in each kernel, in milliseconds, while profiling is on (see profile()). */
  private timings: Map<string, { ms: number; calls: number }> | null = null;

  /** Runs a kernel on all threads. */
  run<K extends ParallelKernelName>(name: K, ...args: Parameters<ParallelKernels[K]>): void {
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
        throw new UserError(`out of WebAssembly memory: ${Math.round(needed / 2 ** 20)} MiB needed, more than the ` +
          `${(MAX_PAGES * PAGE) / 2 ** 20} MiB this engine can hold; a smaller batch or model needs less`);
      }
      this.pool.memoryGrew(this.memory.buffer.byteLength / PAGE);
    }
    return this.allocator.allocate(bytes);
  }

  release(ptr: number): void {
    this.allocator.release(ptr);
  }

  /** A Float32Array over `length` floats at byte offset `ptr` (valid until the memory grows). */
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
};

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

/** Relaxed SIMD is behind a flag in Node 20; turning the flag on before any compile enables it. */
async function relaxedSimdAvailable(): Promise<boolean> {
  // the smallest module using f32x4.relaxed_madd: (func (result v128) v128.const×3 relaxed_madd)
  const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11]);
  if (WebAssembly.validate(probe)) return true;
  if (!isNode) return false;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(probe);
}

let shared: Promise<Engine> | undefined;

/** The program's engine, created on first use. Options apply only to that first call. */
export function getEngine(options?: EngineOptions): Promise<Engine> {
  shared ??= Engine.create(options);
  return shared;
}
