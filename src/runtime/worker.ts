// A worker thread of the kernel pool: instantiates the same compiled module on the shared
// memory, then runs its share of each dispatched kernel until told to stop.
import { ARGS_OFFSET, CONTROL_BYTES, FAILED, GENERATION, KERNEL, MESSAGE_OFFSET, PAGES, REMAINING, SPIN_POLLS, STOP } from './control.js';
import { MAX_KERNEL_ARGS, KERNEL_NAMES, callKernel, type KernelFunction } from './kernels.js';

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  tid: number;
  nt: number;
}

export function serve(init: WorkerInit, ready: () => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const exports = instance.exports as Record<string, unknown>;
  const kernels = KERNEL_NAMES.map((name) => exports[name] as KernelFunction);
  const ctl = new Int32Array(init.memory.buffer, init.control, CONTROL_BYTES / 4);
  const args = new Float64Array(init.memory.buffer, init.control + ARGS_OFFSET, MAX_KERNEL_ARGS);
  const message = new Uint8Array(init.memory.buffer, init.control + MESSAGE_OFFSET, CONTROL_BYTES - MESSAGE_OFFSET);
  const { tid, nt } = init;
  let seen = Atomics.load(ctl, GENERATION);
  let pages = Atomics.load(ctl, PAGES);
  ready();
  for (;;) {
    let generation = Atomics.load(ctl, GENERATION);
    for (let i = 0; generation === seen && i < SPIN_POLLS; i++) generation = Atomics.load(ctl, GENERATION);
    if (generation === seen) {
      Atomics.wait(ctl, GENERATION, seen);
      continue;
    }
    seen = generation;
    const k = ctl[KERNEL]!;
    if (k === STOP) return;
    if (ctl[PAGES] !== pages) {
      // The caller grew the memory. V8 tells this thread's instance of the module the new size
      // by an interrupt, which a kernel started at once could outrun and trap on the new pages
      // (seen, rarely, under load); growing by zero pages updates this thread synchronously.
      pages = ctl[PAGES]!;
      init.memory.grow(0);
    }
    try {
      callKernel(kernels[k]!, tid, nt, args);
    } catch (error) {
      // A trap (an out-of-bounds access, say) must reach the caller, which would otherwise wait
      // for this thread forever: leave the message in the control block and report done.
      new TextEncoder().encodeInto(String(error), message.fill(0));
      Atomics.store(ctl, FAILED, tid);
    }
    if (Atomics.sub(ctl, REMAINING, 1) === 1) Atomics.notify(ctl, REMAINING);
  }
}

// Entry point: in Node the init data comes as workerData; in a browser as the first message.
const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;
if (isNode) {
  const { parentPort, workerData, isMainThread } = await import('node:worker_threads');
  if (!isMainThread && parentPort) serve(workerData as WorkerInit, () => parentPort.postMessage('ready'));
} else {
  const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<WorkerInit>) => void) | null; postMessage(m: unknown): void };
  scope.onmessage = (e) => {
    scope.onmessage = null;
    serve(e.data, () => scope.postMessage('ready'));
  };
}
