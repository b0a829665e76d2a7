// What the runtime offers the engine, asked without starting one: relaxed SIMD, and shared memory
// for threads. A page says from this what it runs on.

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

/** What the runtime offers the engine. */
export interface EngineSupport {
  /** Relaxed SIMD's fused multiply-add. */
  relaxedSimd: boolean;
  /** SharedArrayBuffer, and so more than one thread on one memory. */
  sharedMemory: boolean;
}

/** What this runtime offers the engine: a page says what it runs on, and falls back to one thread without shared memory. */
export async function engineSupport(): Promise<EngineSupport> {
  return { relaxedSimd: await relaxedSimdAvailable(), sharedMemory: sharedMemoryAvailable() };
}

/**
 * SharedArrayBuffer is what threads share. A page that is not cross-origin isolated lacks it, and
 * WebKit has none at all, though it still constructs a shared WebAssembly.Memory, which it cannot
 * post to a worker (DataCloneError): the global, not the constructor, decides.
 */
export function sharedMemoryAvailable(): boolean {
  return typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === 'function';
}

/** Relaxed SIMD is behind a flag in Node 20; turning the flag on before any compile enables it. */
export async function relaxedSimdAvailable(): Promise<boolean> {
  // the smallest module using f32x4.relaxed_madd: (func (result v128) v128.const×3 relaxed_madd)
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 133, 2, 11,
  ]);
  if (WebAssembly.validate(probe)) return true;
  if (!isNode) return false;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return WebAssembly.validate(probe);
}
