// The WGSL kernel cases of test/webgpu-kernel-cases.ts and test/webgpu-attention-cases.ts in Chromium,
// on its own WebGPU adapter (SwiftShader here, through --enable-unsafe-webgpu), against the WebAssembly kernels in the same
// page: the engine as the page runs it, not only as Dawn's Node binding does (page: test/webgpu-browser-page.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTRY, type Entry, webGpuPage } from './webgpu-browser-page.js';
import { kernelCases } from './webgpu-kernel-cases.js';
import { attentionKernelCases } from './webgpu-attention-cases.js';

describe('WGSL kernels against the WebAssembly kernels (Chromium)', () => {
  const page = webGpuPage('WebGPU kernels');

  for (const { name } of [...kernelCases(), ...attentionKernelCases()]) {
    test(name, async (t) => {
      if (page.skip !== null) {
        t.skip(page.skip);
        return;
      }
      const failure = await page.open.page.evaluate(
        async ([url, caseName]) => {
          const entry = (await import(url)) as Entry;
          return entry.runCase(caseName);
        },
        [ENTRY, name] as const,
      );
      assert.equal(failure, null);
      assert.deepEqual(page.open.pageErrors, []);
    });
  }
});
