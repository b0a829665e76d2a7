// A first visit, in Chromium: Start is set to a run that ends in about a minute and learns (the
// fast recipe with a 1-minute budget), with those settings in view in the form; before a run each
// chart says what it will show instead of a legend of "--"; the settings reach the run (config.json);
// typing epochs replaces the budget. And the final evaluation's progress shows as the trainer reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECIPES } from '../src/train/recipes.js';
import { browserHarness, screenshotPath } from './browser-harness.js';

const browser = browserHarness();
const CHARTS = ['chart-running-loss', 'chart-loss', 'chart-accuracy'];

test(
  'first visit: the fast recipe for 1 minute, in view; empty charts show a hint, not "--"; Start trains those settings',
  { timeout: 90_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await browser.open();
    const work = mkdtempSync(join(tmpdir(), 'vit-app-first-run-'));
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      assert.equal(await page.getByTestId('setting-recipe').inputValue(), 'fast');
      assert.equal(await page.getByTestId('setting-timeBudget').inputValue(), '1');
      const epochs = page.getByTestId('setting-epochs');
      assert.deepEqual([await epochs.inputValue(), await epochs.getAttribute('placeholder')], ['', '—']);
      assert.equal(await page.getByTestId('setting-batchSize').getAttribute('placeholder'), String(RECIPES.fast.batchSize));
      // Beside Start, in view on any screen: what it will train.
      const plan = page.getByTestId('run-plan');
      assert.equal(
        await plan.textContent(),
        'Start trains a ViT of 4 blocks of 48 with the fast recipe for 1 min on the bundled sample; the Model and Recipe cards hold every setting.',
      );
      assert.equal(
        await plan.evaluate((p) => p.getBoundingClientRect().bottom <= innerHeight),
        true,
        'the plan is on screen without scrolling',
      );

      for (const chart of CHARTS) {
        const figure = page.getByTestId(chart);
        assert.equal(await page.getByTestId(`${chart}-empty`).isVisible(), true, `${chart}: a hint`);
        assert.doesNotMatch(await figure.innerText(), /--/, `${chart}: no "--" legend`);
      }
      await page.screenshot({ path: screenshotPath('first-visit') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: screenshotPath('first-visit-phone'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });

      await page.getByTestId('start').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /within a budget of 1 min\.$/ })
        .waitFor();
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="chart-running-loss"]')?.getAttribute('data-points')) >= 1,
      );
      assert.equal(await page.getByTestId('chart-running-loss-empty').isVisible(), false, 'the hint goes with the first point');
      assert.equal(await page.getByTestId('chart-running-loss').locator('.u-legend').isVisible(), true, 'the legend comes with it');
      await page.getByTestId('stop').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Stopped/ })
        .waitFor({ timeout: 60_000 });
      const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-config').click()]);
      const path = join(work, 'config.json');
      await file.saveAs(path);
      const { training } = JSON.parse(readFileSync(path, 'utf8')) as { training: { recipe: string; time_budget: number; epochs: number } };
      assert.deepEqual([training.recipe, training.time_budget], ['fast', 60]);

      // Typing epochs replaces the budget (and a budget typed again replaces the epochs).
      await epochs.fill('2');
      assert.equal(await page.getByTestId('setting-timeBudget').inputValue(), '');
      assert.match((await plan.textContent()) ?? '', /with the fast recipe for 2 epochs on the bundled sample/);
      await page.getByTestId('setting-timeBudget').fill('0.5');
      assert.equal(await epochs.inputValue(), '');
      assert.match((await plan.textContent()) ?? '', /with the fast recipe for 0\.5 min on the bundled sample/);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      rmSync(work, { recursive: true, force: true });
      await close();
    }
  },
);

test('the final evaluation shows its progress as the trainer reports it, up to all the test images', { timeout: 90_000 }, async () => {
  const { page, consoleErrors, pageErrors, close } = await browser.open();
  try {
    await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
    for (const [key, value] of Object.entries({ epochs: 2, batchSize: 50, trainSamples: 200, threads: 2 }))
      await page.getByTestId(`setting-${key}`).fill(String(value));
    // Every text the evaluation line shows, recorded as it changes.
    await page.evaluate(() => {
      const line = document.querySelector<HTMLElement>('[data-testid="evaluation"]')!;
      const seen: string[] = [];
      (window as unknown as { evaluationLines: string[] }).evaluationLines = seen;
      new MutationObserver(() => seen.push(line.hidden ? '(hidden)' : (line.textContent ?? ''))).observe(line, {
        childList: true,
        characterData: true,
        subtree: true,
        attributes: true,
      });
    });
    await page.getByTestId('start').click();
    await page
      .getByTestId('train-status')
      .filter({ hasText: /^Finished/ })
      .waitFor({ timeout: 80_000 });
    const seen = await page.evaluate(() => (window as unknown as { evaluationLines: string[] }).evaluationLines);
    assert.ok(seen.includes('Evaluating after epoch 1: 500 / 500 test images'), seen.join(' | '));
    assert.ok(seen.includes('Final evaluation: 500 / 500 test images'), seen.join(' | '));
    assert.equal(await page.getByTestId('evaluation').isHidden(), true, 'the line goes once the evaluation is done');
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});
