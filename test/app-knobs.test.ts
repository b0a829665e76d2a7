// The Train form's knobs come from the settings table, in Chromium: each empty field shows the
// table's default for the chosen recipe; every knob set reaches config.json's "training" block
// as given (the worker passes them through); and the progress shows what the trainer reports:
// the loss shown at the end is metrics.json's last train loss (the epoch's mean, as `vit train`
// prints it), and times read as a clock (0:00), one format for the budget and the epochs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECIPES, RECIPE_NAMES } from '../src/train/recipes.js';
import { browserHarness, screenshotPath } from './browser-harness.js';

const browser = browserHarness();

test(
  "each empty knob shows its recipe default; every knob set reaches config.json; the loss shown is the trainer's, the time a clock",
  { timeout: 120_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await browser.open();
    const work = mkdtempSync(join(tmpdir(), 'vit-app-knobs-'));
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      await page.getByTestId('setting-timeBudget').fill('');
      for (const recipe of RECIPE_NAMES) {
        await page.getByTestId('setting-recipe').selectOption(recipe);
        const shown = await Promise.all(
          ['epochs', 'batchSize', 'lr', 'seed', 'trainSamples', 'timeBudget'].map((key) =>
            page.getByTestId(`setting-${key}`).getAttribute('placeholder'),
          ),
        );
        const { epochs, batchSize, lr } = RECIPES[recipe];
        assert.deepEqual(shown, [String(epochs), String(batchSize), String(lr), '0', 'all', 'none'], recipe);
      }

      const knobs = { seed: 3, epochs: 2, batchSize: 50, lr: 0.002, trainSamples: 300, testSamples: 100, threads: 2 };
      await page.getByTestId('setting-recipe').selectOption('fast');
      for (const [key, value] of Object.entries(knobs)) await page.getByTestId(`setting-${key}`).fill(String(value));
      await page.getByTestId('start').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Finished/ })
        .waitFor({ timeout: 90_000 });

      const save = async (testid: string): Promise<string> => {
        const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
        const path = join(work, file.suggestedFilename());
        await file.saveAs(path);
        return readFileSync(path, 'utf8');
      };
      const { training } = JSON.parse(await save('download-config')) as { training: Record<string, unknown> };
      assert.deepEqual(
        {
          recipe: training.recipe,
          seed: training.seed,
          epochs: training.epochs,
          batchSize: training.batch_size,
          lr: training.lr,
          trainSamples: training.train_samples,
          testSamples: training.test_samples,
          threads: training.threads,
          timeBudget: training.time_budget,
        },
        { recipe: 'fast', ...knobs, timeBudget: null },
      );
      const metrics = JSON.parse(await save('download-metrics')) as { train_losses: number[] };
      assert.equal(
        await page.getByTestId('running-loss').textContent(),
        metrics.train_losses.at(-1)!.toFixed(4),
        'the loss shown is the epoch mean the trainer reported',
      );
      assert.equal(await page.getByTestId('time-left').textContent(), '0:00');
      await page.getByTestId('recipe-settings').screenshot({ path: screenshotPath('train-knobs') });
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      rmSync(work, { recursive: true, force: true });
      await close();
    }
  },
);
