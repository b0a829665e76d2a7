// The engine as the page's workers start it: the kernels come from the URLs the build emitted.
// A page's main thread may not block in Atomics.wait, so call this inside a Web Worker only.
import simd from '@kernels/kernels.wasm?url';
import relaxed from '@kernels/kernels-relaxed.wasm?url';
import simdUnshared from '@kernels/kernels-unshared.wasm?url';
import relaxedUnshared from '@kernels/kernels-relaxed-unshared.wasm?url';
import { type Backend, type Engine, createEngine } from '../../src/runtime/engine.js';

/** An engine on `backend` (default wasm): WebAssembly on `threads` threads, or WebGPU (the adapter's name is its description). */
export function startEngine(threads: number, backend: Backend = 'wasm'): Promise<Engine> {
  return createEngine({ threads, backend, kernelUrls: { simd, relaxed, simdUnshared, relaxedUnshared } });
}
