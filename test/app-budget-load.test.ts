// A time budget in the page on a busy machine (issue 17): with another thread spinning on one of the
// cores the whole time, a 1-minute budget on the sample uses at least 85% of it and ends inside it
// (a tour saw a 1.5-minute budget stop after 24 s: the reserve for the final evaluation was one
// timed batch × 1.2). Real time, on purpose; a minute of it is what the test costs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { browserHarness } from './browser-harness.js';
import { spinningWorker } from './helpers.js';

const BUDGET = 60;
const browser = browserHarness();

test('the page: a 1-minute budget with a core kept busy uses ≥ 85% of it and ends inside it', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'vit-app-budget-'));
  const { page, consoleErrors, pageErrors, close } = await browser.open();
  const spinner = spinningWorker();
  try {
    await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
    await page.getByTestId('setting-threads').fill('2');
    await page.getByTestId('setting-timeBudget').fill(String(BUDGET / 60));
    const started = performance.now();
    await page.getByTestId('start').click();
    await page
      .getByTestId('train-status')
      .filter({ hasText: /^Finished/ })
      .waitFor({ timeout: 3 * BUDGET * 1000 });
    // From the click to the status: the run's clock, and a page's message hops (milliseconds).
    const wall = (performance.now() - started) / 1000;
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-metrics').click()]);
    const path = join(work, 'metrics.json');
    await file.saveAs(path);
    const metrics = JSON.parse(readFileSync(path, 'utf8')) as { elapsed_seconds: number[]; accuracies: (number | null)[] };
    const spent = metrics.elapsed_seconds.at(-1)!;
    console.log(
      `the page used ${spent.toFixed(1)} s of ${BUDGET} s in ${metrics.accuracies.length} epochs; ${wall.toFixed(1)} s from Start to Finished`,
    );
    assert.ok(spent >= 0.85 * BUDGET, `uses at least 85% of the budget (${spent} s)`);
    assert.ok(spent <= BUDGET, `its clock ends inside the budget (${spent} s)`);
    assert.ok(wall <= BUDGET + 1, `the run is over ${wall} s after Start`);
    assert.equal(typeof metrics.accuracies.at(-1), 'number', 'a final evaluation');
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await spinner.terminate();
    await close();
    rmSync(work, { recursive: true, force: true });
  }
});
