// Stopping a page run before its first epoch ends: nothing was saved, and the page says so instead
// of offering a Continue it does not have. The Stop is pressed at once after Start, before the
// worker has begun the run, so the test does not depend on how fast the machine trains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserHarness } from './browser-harness.js';

const browser = browserHarness();

test(
  'Stop pressed right after Start: the run stops at its first step, the status says no epoch was saved, no Continue is offered',
  { timeout: 90_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await browser.open();
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      for (const [key, value] of Object.entries({ epochs: 3, batchSize: 50, threads: 2 }))
        await page.getByTestId(`setting-${key}`).fill(String(value));
      await page.getByTestId('start').click();
      await page.getByTestId('stop').click();
      const status = page.getByTestId('train-status');
      await status.filter({ hasText: /^Stopped/ }).waitFor({ timeout: 60_000 });
      await status.filter({ hasText: /Start begins a new run\.$/ }).waitFor();
      assert.equal(
        await status.textContent(),
        'Stopped before the first epoch ended: no epoch was saved, so there is nothing to continue. Start begins a new run.',
      );
      assert.equal(await page.getByTestId('continue-run').isVisible(), false, 'no Continue without a saved epoch');
      assert.equal(await page.getByTestId('chart-loss').getAttribute('data-points'), '0', 'no epoch finished');
      assert.equal(await page.getByTestId('start').isEnabled(), true);

      // After a reload there is still nothing to continue.
      await page.reload();
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      assert.equal(await page.getByTestId('continue-run').isVisible(), false);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
