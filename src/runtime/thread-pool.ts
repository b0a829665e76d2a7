// Runs a kernel on all threads: the calling thread takes share 0, the workers the rest.
import { ARGS_OFFSET, CONTROL_BYTES, FAILED, GENERATION, KERNEL, MESSAGE_OFFSET, PAGES, REMAINING, SPIN_POLLS, STOP } from './control.js';
import { MAX_KERNEL_ARGS, KERNEL_NAMES, callKernel, type KernelFunction } from './kernels.js';
import type { WorkerInit } from './worker.js';

interface WorkerHandle {
  terminate(): unknown;
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  /** Where a worker leaves the message of an error it caught (see FAILED). */
  private readonly message: Uint8Array;
  /** Atomics.wait is refused on a browser's main thread; there the caller polls instead. */
  private readonly canWait: boolean;

  private constructor(
    readonly threads: number,
    private readonly workers: WorkerHandle[],
    memory: WebAssembly.Memory,
    control: number,
    private readonly kernels: readonly KernelFunction[],
  ) {
    this.ctl = new Int32Array(memory.buffer, control, CONTROL_BYTES / 4);
    this.args = new Float64Array(memory.buffer, control + ARGS_OFFSET, MAX_KERNEL_ARGS);
    this.message = new Uint8Array(memory.buffer, control + MESSAGE_OFFSET, CONTROL_BYTES - MESSAGE_OFFSET);
    this.canWait = isNode || typeof (globalThis as { document?: unknown }).document === 'undefined';
  }

  /** Starts threads − 1 workers on the module and memory, and waits until each is ready. */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    control: number,
    threads: number,
    kernels: readonly KernelFunction[],
  ): Promise<ThreadPool> {
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const init: WorkerInit = { module, memory, control, tid, nt: threads };
      const { handle, started } = await spawn(init);
      workers.push(handle);
      ready.push(started);
    }
    await Promise.all(ready);
    return new ThreadPool(threads, workers, memory, control, kernels);
  }

  /** Runs kernel `index` with `args` on every thread and returns when all are done. */
  run(index: number, args: readonly number[]): void {
    const nt = this.threads;
    const kernel = this.kernels[index]!;
    if (nt === 1) {
      // Straight to the kernel, not through the control block: a plain (unshared) memory, which
      // runs one thread, detaches this pool's views of it when it grows.
      callKernel(kernel, 0, 1, args);
      return;
    }
    const a = this.args;
    for (let i = 0; i < args.length; i++) a[i] = args[i]!;
    const ctl = this.ctl;
    ctl[KERNEL] = index;
    ctl[FAILED] = 0;
    Atomics.store(ctl, REMAINING, nt - 1);
    Atomics.add(ctl, GENERATION, 1);
    Atomics.notify(ctl, GENERATION);
    try {
      callKernel(kernel, 0, nt, a);
    } finally {
      // Even when share 0 threw: the next dispatch must not start while workers still run this one.
      this.waitForWorkers();
    }
    const failed = Atomics.load(ctl, FAILED);
    if (failed !== 0) {
      const message = new TextDecoder().decode(this.message.slice()).replace(/\0+$/, '');
      throw new Error(`kernel ${KERNEL_NAMES[index]} failed on worker thread ${failed}: ${message}`);
    }
  }

  /** Tells the workers that the memory now has `pages` pages (see worker.ts). */
  memoryGrew(pages: number): void {
    if (this.threads > 1) Atomics.store(this.ctl, PAGES, pages);
  }

  private waitForWorkers(): void {
    const ctl = this.ctl;
    let remaining = Atomics.load(ctl, REMAINING);
    for (let i = 0; remaining !== 0 && i < SPIN_POLLS; i++) remaining = Atomics.load(ctl, REMAINING);
    while (remaining !== 0) {
      if (this.canWait) Atomics.wait(ctl, REMAINING, remaining);
      remaining = Atomics.load(ctl, REMAINING);
    }
  }

  close(): void {
    if (this.threads > 1) {
      this.ctl[KERNEL] = STOP;
      Atomics.add(this.ctl, GENERATION, 1);
      Atomics.notify(this.ctl, GENERATION);
    }
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

async function spawn(init: WorkerInit): Promise<{ handle: WorkerHandle; started: Promise<void> }> {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    // Not in the `new Worker(new URL(…))` form, which a bundler would take for a web worker to bundle.
    const url = new URL(/* @vite-ignore */ './worker.js', import.meta.url);
    const worker = new Worker(url, { workerData: init });
    // Idle workers must not keep a finished program alive.
    worker.unref();
    const started = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { handle: worker, started };
  }
  // Written in the one form bundlers (Vite) recognise, so that they bundle worker.ts and point here.
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  const started = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
  });
  worker.postMessage(init);
  return { handle: worker, started };
}
