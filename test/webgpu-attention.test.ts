// The WGSL attention, embedding and dropout kernels against the WebAssembly kernels
// (test/webgpu-attention-cases.ts), in Node through Dawn (the `webgpu` package) on SwiftShader's
// Vulkan driver. Without an adapter they skip with one line, unless VIT_WEBGPU_REQUIRED=1 (CI),
// where they fail. SwiftShader runs here are correctness checks only, never timings.
import { after, before, describe, test } from 'node:test';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { attentionKernelCases } from './webgpu-attention-cases.js';
import { openTestEngine } from './webgpu-helpers.js';

const gpu = await openTestEngine();

describe('WGSL attention, embedding and dropout kernels against the WebAssembly kernels (Dawn)', { skip: gpu.skip }, () => {
  let wasm: WasmEngine;
  before(async () => {
    wasm = await WasmEngine.create({ threads: 2 });
  });
  after(() => {
    wasm.close();
    gpu.engine?.close();
  });
  for (const c of attentionKernelCases()) test(c.name, () => c.run(gpu.engine!, wasm));
});
