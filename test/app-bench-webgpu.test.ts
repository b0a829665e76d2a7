// The benchmark page (`npm run bench:browser -- --backend webgpu` reads it) on Chromium's WebGPU adapter:
// ?backend=webgpu runs `vit bench`'s benchmark on the WebGPU engine, ?config=wide the wide config; bad
// values are named in one line. SwiftShader is the adapter here: this checks that the page runs, not its speed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { benchmark, type BenchResult } from '../src/bench/benchmark.js';
import { BENCH_CONFIGS } from '../src/bench/configs.js';
import { browserHarness } from './browser-harness.js';

describe('the benchmark page on WebGPU (Chromium)', () => {
  const harness = browserHarness();

  test('?backend=webgpu&config=wide runs the wide model on the WebGPU engine', async (t) => {
    const opened = await harness.open('bench.html?backend=webgpu&config=wide&batch=3&steps=1&warmup=0');
    try {
      const done = opened.page.locator('[data-testid="bench-result"]:not([hidden]), [data-testid="error"]:not([hidden])');
      await done.waitFor({ timeout: 300_000 });
      const error = opened.page.getByTestId('error');
      if (await error.isVisible()) {
        const line = await error.innerText();
        // Only a missing adapter may skip; anything else the page says is a failure.
        if (/no WebGPU|adapter/i.test(line) && process.env.VIT_WEBGPU_REQUIRED !== '1') {
          t.skip(`no WebGPU adapter in Chromium: ${line}`);
          return;
        }
        assert.fail(`the page failed: ${line}`);
      }
      const inPage = JSON.parse(await opened.page.getByTestId('bench-result').innerText()) as BenchResult;
      const inNode = await benchmark({ threads: 1, config: BENCH_CONFIGS.wide, steps: 1, batch: 3, warmup: 0 });
      assert.equal(inPage.threads, 0, `a WebGPU engine has no threads (ran on ${inPage.engine})`);
      assert.doesNotMatch(inPage.engine, /WebAssembly/);
      assert.equal(inPage.params, inNode.params);
      assert.deepEqual(inPage.config, inNode.config);
      assert.equal(inPage.config.hidden_size, 192);
      assert.equal(inPage.batch, 3);
      assert.ok(inPage.train_img_s > 0 && inPage.infer_img_s > 0);
      assert.match(
        await opened.page.getByTestId('bench-status').innerText(),
        new RegExp(`\\(${inPage.engine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`),
      );
      assert.deepEqual(opened.pageErrors, []);
    } finally {
      await opened.close();
    }
  });

  for (const [query, line] of [
    ['backend=cuda', '?backend= must be one of wasm, webgpu (got "cuda")'],
    ['config=huge', '?config= must be one of seed, wide (got "huge")'],
    ['warmup=-1', '?warmup= must be a non-negative whole number (got "-1")'],
  ] as const) {
    test(`?${query} is named in one visible line`, async () => {
      const opened = await harness.open(`bench.html?${query}`);
      try {
        const error = opened.page.getByTestId('error');
        await error.waitFor();
        assert.equal(await error.innerText(), line);
        assert.deepEqual(opened.pageErrors, []);
      } finally {
        await opened.close();
      }
    });
  }
});
