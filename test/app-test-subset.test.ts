// The page's "Test images" takes the first N images of the test split, as `vit train
// --test-samples N` does, so `vit eval --test-samples N` on the page's model measures the accuracy
// the page showed; the page and vit train say which images they evaluate on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserHarness } from './browser-harness.js';
import { CLI } from './helpers.js';

const browser = browserHarness();
let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vit-app-subset-'));
});
after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

async function download(page: Page, testid: string, name: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(work, `${testid}-${name}`);
  await file.saveAs(path);
  return path;
}

test(
  'a page run on 100 test images: the page names them (the first 100 of 500) and vit eval --test-samples 100 gives its accuracy',
  { timeout: 120_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await browser.open();
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      await page.getByTestId('setting-timeBudget').fill('');
      const settings = { epochs: 1, batchSize: 50, trainSamples: 300, testSamples: 100, threads: 2, seed: 5 };
      for (const [key, value] of Object.entries(settings)) await page.getByTestId(`setting-${key}`).fill(String(value));
      // Every line the status shows, however fast the run goes by.
      await page.evaluate(() => {
        const lines: string[] = [];
        (window as unknown as { statusLines: string[] }).statusLines = lines;
        const status = document.querySelector('[data-testid="train-status"]')!;
        new MutationObserver(() => lines.push(status.textContent ?? '')).observe(status, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.getByTestId('start').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Finished/ })
        .waitFor({ timeout: 90_000 });
      const lines = await page.evaluate(() => (window as unknown as { statusLines: string[] }).statusLines);
      assert.ok(
        lines.some((line) =>
          /on 300 images \(.+\), evaluating on the first 100 of the 500 test images \(vit eval --test-samples 100 takes the same\)/.test(
            line,
          ),
        ),
        `the page says which test images it evaluates on: ${JSON.stringify(lines)}`,
      );

      const metrics = JSON.parse(readFileSync(await download(page, 'download-metrics', 'metrics.json'), 'utf8')) as {
        accuracies: (number | null)[];
      };
      const model = await download(page, 'download-model', 'model_final.safetensors');
      const evaluation = JSON.parse(
        execFileSync('node', [CLI, 'eval', '--model', model, '--sample', '--test-samples', '100', '--json', '--threads', '2'], {
          encoding: 'utf8',
        }),
      ) as { accuracy: number; images: number };
      assert.equal(evaluation.images, 100);
      assert.equal(evaluation.accuracy, metrics.accuracies[0], 'vit eval --test-samples 100 measures the accuracy the page showed');
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'vit train --test-samples 50 says it evaluates on the first 50 test images, and vit eval --test-samples 50 measures its accuracy again',
  { timeout: 120_000 },
  () => {
    const out = join(work, 'experiments');
    const stdout = execFileSync(
      'node',
      [
        CLI,
        'train',
        '--sample',
        '--exp-name',
        'first50',
        '--out',
        out,
        '--epochs',
        '1',
        '--batch-size',
        '50',
        '--train-samples',
        '100',
        '--test-samples',
        '50',
        '--threads',
        '2',
        '--seed',
        '11',
      ],
      { encoding: 'utf8' },
    );
    assert.match(stdout, /^Training on 100 images \(2 batches of 50\), evaluating on the first 50 test images;/m);
    const metrics = JSON.parse(readFileSync(join(out, 'first50', 'metrics.json'), 'utf8')) as { accuracies: (number | null)[] };
    const evaluation = JSON.parse(
      execFileSync('node', [CLI, 'eval', '--model', join(out, 'first50'), '--sample', '--test-samples', '50', '--json', '--threads', '2'], {
        encoding: 'utf8',
      }),
    ) as { accuracy: number; images: number };
    assert.deepEqual([evaluation.images, evaluation.accuracy], [50, metrics.accuracies[0]]);
  },
);
