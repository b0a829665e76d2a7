// The Train view on WebGPU in Chromium (--enable-unsafe-webgpu: SwiftShader's adapter without a GPU,
// correctness only): with the Backend set to webgpu the page trains the sample, names the adapter,
// and a run reloaded midway and continued ends with the metrics of an uninterrupted WebGPU run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserHarness } from './browser-harness.js';

const browser = browserHarness();
const SETTINGS = { epochs: 2, batchSize: 50, trainSamples: 100, testSamples: 50, seed: 3 };

interface MetricsFile {
  train_losses: number[];
  test_losses: (number | null)[];
  accuracies: (number | null)[];
}

/** Starts a WebGPU run of SETTINGS in a fresh page; `midway` reloads it after its first epoch and continues. */
async function webGpuRun(midway: boolean, work: string): Promise<MetricsFile> {
  const { page, consoleErrors, pageErrors, close } = await browser.open();
  try {
    await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
    await page.getByTestId('setting-recipe').selectOption('seed');
    await page.getByTestId('setting-timeBudget').fill('');
    await page.getByTestId('setting-backend').selectOption('webgpu');
    for (const [key, value] of Object.entries(SETTINGS)) await page.getByTestId(`setting-${key}`).fill(String(value));
    await page.getByTestId('start').click();
    // The start line names the engine: the adapter's name on WebGPU.
    await page
      .getByTestId('train-status')
      .filter({ hasText: /^Training .*\(.*SwiftShader.*\)/i })
      .waitFor({ timeout: 300_000 });
    if (midway) {
      await page.waitForFunction(
        () => document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points') === '1',
        null,
        { timeout: 300_000 },
      );
      await page.reload();
      const continueRun = page.getByTestId('continue-run');
      await continueRun.waitFor({ timeout: 60_000 });
      await continueRun.click();
    }
    await page
      .getByTestId('train-status')
      .filter({ hasText: /^Finished/ })
      .waitFor({ timeout: 600_000 });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
    return await readMetrics(page, work);
  } finally {
    await close();
  }
}

async function readMetrics(page: Page, work: string): Promise<MetricsFile> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-metrics').click()]);
  const path = join(work, `metrics-${Date.now()}.json`);
  await file.saveAs(path);
  return JSON.parse(readFileSync(path, 'utf8')) as MetricsFile;
}

test(
  'with the Backend set to webgpu the page trains the sample, and a reload + Continue ends as an uninterrupted WebGPU run',
  { timeout: 1_500_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'vit-app-webgpu-'));
    try {
      const resumed = await webGpuRun(true, work);
      const whole = await webGpuRun(false, work);
      assert.equal(whole.accuracies.length, 2);
      assert.deepEqual(
        { train: resumed.train_losses, test: resumed.test_losses, accuracy: resumed.accuracies },
        { train: whole.train_losses, test: whole.test_losses, accuracy: whole.accuracies },
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
