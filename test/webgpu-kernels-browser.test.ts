// The WGSL kernel cases of test/webgpu-kernel-cases.ts and test/webgpu-attention-cases.ts in Chromium,
// on its own WebGPU adapter (SwiftShader here, through --enable-unsafe-webgpu), against the WebAssembly kernels in the same
// page: the engine as the page runs it, not only as Dawn's Node binding does. The compiled modules
// are served as they are (ES modules, no bundler) from a folder holding dist's src, test and wasm.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserHarness, type OpenPage } from './browser-harness.js';
import { kernelCases } from './webgpu-kernel-cases.js';
import { attentionKernelCases } from './webgpu-attention-cases.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
/** The page's module: served from the copy of dist/test. */
const ENTRY = '/test/webgpu-browser-entry.js';
type Entry = typeof import('./webgpu-browser-entry.js');

describe('WGSL kernels against the WebAssembly kernels (Chromium)', () => {
  const harness = browserHarness();
  let root: string;
  let open: OpenPage;
  let skip: string | null = null;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'vit-webgpu-page-'));
    for (const folder of ['src', 'test', 'wasm']) cpSync(join(DIST, folder), join(root, folder), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><meta charset="utf-8"><title>WebGPU kernels</title>');
    open = await harness.open('', { root });
    const found = await open.page.evaluate(async (url) => {
      try {
        const entry = (await import(url)) as Entry;
        return await entry.adapter();
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    }, ENTRY);
    if ('error' in found) {
      const reason = `no WebGPU adapter in Chromium, WebGPU browser tests skipped: ${found.error}`;
      if (process.env.VIT_WEBGPU_REQUIRED === '1') throw new Error(`VIT_WEBGPU_REQUIRED=1 but ${reason}`);
      console.log(reason);
      skip = reason;
    } else {
      console.log(`Chromium's WebGPU adapter: ${found.description}`);
    }
  });
  after(async () => {
    await open?.close();
    rmSync(root, { recursive: true, force: true });
  });

  for (const { name } of [...kernelCases(), ...attentionKernelCases()]) {
    test(name, async (t) => {
      if (skip !== null) {
        t.skip(skip);
        return;
      }
      const failure = await open.page.evaluate(
        async ([url, caseName]) => {
          const entry = (await import(url)) as Entry;
          return entry.runCase(caseName);
        },
        [ENTRY, name] as const,
      );
      assert.equal(failure, null);
      assert.deepEqual(open.pageErrors, []);
    });
  }
});
