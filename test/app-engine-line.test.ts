// The line under the page's title that says what it runs on, in Chromium: relaxed SIMD on every
// core when cross-origin isolated; one thread, and why, when served without the isolation headers
// (no SharedArrayBuffer there: the kernels built for a plain memory run). The engines that lack
// relaxed SIMD or SharedArrayBuffer even when isolated are toured in app-firefox and app-webkit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHarness } from './browser-harness.js';

const browser = browserHarness();

async function seen(isolated: boolean): Promise<{ line: string | null; cores: number; threads: { value: string; disabled: boolean } }> {
  const { page, consoleErrors, pageErrors, close } = await browser.open('', { isolated });
  try {
    await page
      .getByTestId('engine')
      .filter({ hasText: /^Runs on / })
      .waitFor();
    // The form takes settings once the sample is loaded.
    await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
    const facts = await page.evaluate(() => {
      const field = document.querySelector<HTMLInputElement>('[data-testid="setting-threads"]')!;
      return {
        line: document.querySelector('[data-testid="engine"]')!.textContent,
        cores: navigator.hardwareConcurrency,
        threads: { value: field.value, disabled: field.disabled },
      };
    });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
    return facts;
  } finally {
    await close();
  }
}

test('cross-origin isolated, Chromium runs relaxed SIMD on every core, and says so', { timeout: 60_000 }, async () => {
  const { line, cores, threads } = await seen(true);
  assert.equal(line, `Runs on WebAssembly SIMD with relaxed SIMD, ${cores} thread${cores === 1 ? '' : 's'}.`);
  assert.deepEqual(threads, { value: String(cores), disabled: false });
});

test('served without the isolation headers, the page says it runs one thread and why', { timeout: 60_000 }, async () => {
  const { line, threads } = await seen(false);
  assert.equal(line, 'Runs on WebAssembly SIMD with relaxed SIMD, 1 thread (the page is not cross-origin isolated).');
  assert.deepEqual(threads, { value: '1', disabled: true });
});
