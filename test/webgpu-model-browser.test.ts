// The whole model on Chromium's WebGPU adapter (SwiftShader here: correctness only, never timings),
// with the checks Node runs (test/webgpu-model-cases.ts): every PyTorch fixture's forward, gradients
// and AdamW step on WebGPU (as test/pytorch-parity.test.ts), and 30 training steps on WebGPU tracking
// the same page's WebAssembly run within 1e-3 relative (as test/webgpu-training.test.ts, at a smaller
// batch: SwiftShader is slow). The fixtures and the sample's first training file are served to the page.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { sampleDataDir } from '../src/data/location.js';
import { fixturesDir } from './helpers.js';
import { ENTRY, type Entry, webGpuPage } from './webgpu-browser-page.js';
import { checkLossesTrack } from './webgpu-model-cases.js';

const fixtures = readdirSync(fixturesDir).filter((d) => !d.startsWith('.'));
const STEPS = 30;
/** Images a step: 4 instead of Node's 16, since SwiftShader in a page runs each dispatch slowly. */
const BATCH = 4;

describe('the model on WebGPU (Chromium)', () => {
  const page = webGpuPage('WebGPU model', { fixtures: fixturesDir, data: sampleDataDir() });

  for (const name of fixtures) {
    test(`${name} matches PyTorch (WebGPU in Chromium)`, async (t) => {
      if (page.skip !== null) return t.skip(page.skip);
      const failure = await page.open.page.evaluate(
        async ([url, fixture]) => ((await import(url)) as Entry).runFixture(`/fixtures/${fixture}`, fixture),
        [ENTRY, name] as const,
      );
      assert.equal(failure, null);
      assert.deepEqual(page.open.pageErrors, []);
    });
  }

  test(`${STEPS} training steps on WebGPU track the WebAssembly run's losses within 1e-3 relative (Chromium)`, async (t) => {
    if (page.skip !== null) return t.skip(page.skip);
    const losses: Record<'wasm' | 'webgpu', number[]> = { wasm: [], webgpu: [] };
    for (const kind of ['wasm', 'webgpu'] as const) {
      // One call a step: no single call of the page lasts long, however slow the machine.
      const started = await page.open.page.evaluate(
        async ([url, engine, batch]) => ((await import(url)) as Entry).startTrainingRun(engine, '/data/data_batch_1.bin', batch),
        [ENTRY, kind, BATCH] as const,
      );
      assert.equal(started, null);
      for (let step = 0; step < STEPS; step++) {
        losses[kind].push(await page.open.page.evaluate(async (url) => ((await import(url)) as Entry).trainingRunStep(), ENTRY));
      }
      await page.open.page.evaluate(async (url) => ((await import(url)) as Entry).stopTrainingRun(), ENTRY);
    }
    assert.ok(losses.wasm.every(Number.isFinite), `WebAssembly losses: ${losses.wasm.join(', ')}`);
    checkLossesTrack(losses.webgpu, losses.wasm, 'WebGPU against WebAssembly in Chromium');
    assert.deepEqual(page.open.pageErrors, []);
  });
});
