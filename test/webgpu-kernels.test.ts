// Every WGSL kernel of the WebGPU engine against the WebAssembly kernel (test/webgpu-kernel-cases.ts),
// in Node through Dawn (the `webgpu` package) on SwiftShader's Vulkan driver. SwiftShader runs
// here are correctness checks only, never timings.
import { after, before, describe, test } from 'node:test';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { kernelCases } from './webgpu-kernel-cases.js';
import { openTestEngine } from './webgpu-helpers.js';

const gpu = await openTestEngine();

describe('WGSL kernels against the WebAssembly kernels (Dawn)', { skip: gpu.skip }, () => {
  let wasm: WasmEngine;
  before(async () => {
    wasm = await WasmEngine.create({ threads: 1 });
  });
  after(() => {
    wasm.close();
    gpu.engine?.close();
  });
  for (const c of kernelCases()) test(c.name, () => c.run(gpu.engine!, wasm));
});
