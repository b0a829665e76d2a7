// A kernel that traps on any thread must come back to the caller as an error, never as a hang,
// and leave the pool able to run the next kernel.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WasmEngine } from '../src/runtime/wasm-engine.js';

describe('thread pool failures', { timeout: 30_000 }, () => {
  let engine: WasmEngine;
  before(async () => {
    engine = await WasmEngine.create({ threads: 2 });
  });
  after(() => engine.close());

  /** The pool still dispatches: fill a small buffer on both threads and read it back. */
  function assertStillWorks(): void {
    const ptr = engine.allocate(64);
    engine.run('fill', ptr, 64, 2.5);
    assert.deepEqual([...engine.f32(ptr, 64)], new Array<number>(64).fill(2.5));
    engine.release(ptr);
  }

  test("a trap in a worker's share is reported with the kernel and the thread", () => {
    const ptr = engine.allocate(16);
    const end = engine.memory.buffer.byteLength;
    // fill splits n in two: share 0 ends exactly at the end of memory, share 1 (the worker's) lies past it.
    const n = 2 * Math.floor((end - ptr) / 4);
    assert.throws(() => engine.run('fill', ptr, n, 0), /kernel fill failed on worker thread 1: RuntimeError: .*out of bounds/);
    engine.release(ptr);
    assertStillWorks();
  });

  test("a trap in the caller's share is thrown after the workers finish theirs", () => {
    const end = engine.memory.buffer.byteLength;
    assert.throws(() => engine.run('fill', end, 8, 0), /RuntimeError: .*out of bounds/);
    assertStillWorks();
  });
});
