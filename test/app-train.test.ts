// The Train view in Chromium: a run on the bundled sample with 2 threads (live curves, a falling
// loss, no long task on the main thread), its model evaluated by `vit eval` in Node, a run reloaded
// midway and continued (metrics equal to `vit train`'s uninterrupted run: the loop is shared), the
// user's own archive (checksum shown; a truncated one is one visible error), and screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as createTar } from 'tar';
import type { Page } from 'playwright-core';
import { type MetricsFile, browserHarness, screenshotPath, trainInNode } from './browser-harness.js';
import { CLI } from './helpers.js';

const SAMPLE_DIR = fileURLToPath(new URL('../../data/cifar10-sample', import.meta.url));
const ARCHIVE = 'cifar-10-binary.tar.gz';
const browser = browserHarness();

let work: string;
/** The sample packed as the official archive is (cifar-10-batches-bin/…), and a truncated copy. */
let archive: string;
let truncated: Buffer;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vit-app-train-'));
  const folder = join(work, 'cifar-10-batches-bin');
  mkdirSync(folder);
  for (const name of ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt']) cpSync(join(SAMPLE_DIR, name), join(folder, name));
  archive = join(work, ARCHIVE);
  createTar({ gzip: true, file: archive, cwd: work, sync: true }, ['cifar-10-batches-bin']);
  truncated = readFileSync(archive).subarray(0, 1_000_000);
});
after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** The Train view with the bundled sample loaded, on `vit train`'s defaults (the seed recipe, no budget) rather than the first visit's. */
async function openTrain(): Promise<Awaited<ReturnType<typeof browser.open>>> {
  const opened = await browser.open();
  await opened.page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
  await opened.page.getByTestId('setting-recipe').selectOption('seed');
  await opened.page.getByTestId('setting-timeBudget').fill('');
  return opened;
}

async function fill(page: Page, settings: Record<string, number>): Promise<void> {
  for (const [key, value] of Object.entries(settings)) await page.getByTestId(`setting-${key}`).fill(String(value));
}

async function waitFinished(page: Page): Promise<void> {
  await page
    .getByTestId('train-status')
    .filter({ hasText: /^Finished/ })
    .waitFor({ timeout: 90_000 });
}

async function download(page: Page, testid: string, name: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  assert.equal(file.suggestedFilename(), name);
  const path = join(work, `${testid}-${Date.now()}-${name}`);
  await file.saveAs(path);
  return path;
}

const readMetrics = (path: string): MetricsFile => JSON.parse(readFileSync(path, 'utf8')) as MetricsFile;

test(
  'one epoch on the sample with 2 threads: live curves, the loss falls, the main thread stays free, and vit eval agrees with the page',
  { timeout: 150_000 },
  async (t) => {
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      await fill(page, { epochs: 1, batchSize: 64, threads: 2 });
      // Long tasks on the page's main thread while training (the Long Tasks API reports those over 50 ms),
      // and when training started, on the page's clock.
      await page.evaluate(() => {
        const w = window as unknown as { longTasks: number[]; trainingStarted: number };
        w.longTasks = [];
        new PerformanceObserver((list) => w.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
        w.trainingStarted = performance.now();
      });
      await page.getByTestId('start').click();
      const live = page.getByTestId('chart-running-loss');
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="chart-running-loss"]')?.getAttribute('data-points')) >= 1,
      );
      const firstLoss = Number(await page.getByTestId('running-loss').textContent());
      await waitFinished(page);
      const lastLoss = Number(await page.getByTestId('running-loss').textContent());
      const { longTasks, trainingMs } = await page.evaluate(() => {
        const w = window as unknown as { longTasks: number[]; trainingStarted: number };
        return { longTasks: w.longTasks, trainingMs: performance.now() - w.trainingStarted };
      });

      // 2,000 images in batches of 64: 32 steps, drawn every few.
      assert.ok(Number(await live.getAttribute('data-points')) >= 5, 'the running-loss chart got points');
      assert.equal(await page.getByTestId('chart-loss').getAttribute('data-points'), '1');
      assert.equal(await page.getByTestId('chart-accuracy').getAttribute('data-points'), '1');
      assert.ok(lastLoss < firstLoss, `the running loss falls (${firstLoss} → ${lastLoss})`);
      // The main thread only draws: its long tasks fill a small share of the training time. A share, not a
      // duration, so that a slower or busier machine (which slows the drawing and the training alike) passes;
      // training on the main thread would fill nearly all of it.
      const busy = longTasks.reduce((sum, ms) => sum + ms, 0);
      t.diagnostic(`main-thread long tasks: ${longTasks.length}, ${busy.toFixed(0)} ms of ${trainingMs.toFixed(0)} ms of training`);
      assert.ok(
        busy < 0.25 * trainingMs,
        `main-thread long tasks took ${busy.toFixed(0)} of the ${trainingMs.toFixed(0)} ms of training (${longTasks.length} tasks)`,
      );

      const metrics = readMetrics(await download(page, 'download-metrics', 'metrics.json'));
      // Better than the untrained model's uniform guess, whose cross-entropy is ln 10.
      assert.ok(metrics.test_losses[0]! < Math.log(10), `test loss ${metrics.test_losses[0]} below ln 10`);
      const shown = await page.getByTestId('accuracy').textContent();
      assert.equal(shown, `${(metrics.accuracies[0]! * 100).toFixed(2)}%`);

      const model = await download(page, 'download-model', 'model_final.safetensors');
      const config = JSON.parse(readFileSync(await download(page, 'download-config', 'config.json'), 'utf8')) as {
        hidden_size: number;
        training: { threads: number; batch_size: number };
      };
      assert.equal(config.hidden_size, 48);
      assert.deepEqual([config.training.threads, config.training.batch_size], [2, 64]);
      const evaluation = JSON.parse(
        execFileSync('node', [CLI, 'eval', '--model', model, '--sample', '--json', '--threads', '2'], { encoding: 'utf8' }),
      ) as { accuracy: number; images: number };
      assert.equal(evaluation.images, 500);
      assert.equal(evaluation.accuracy, metrics.accuracies[0], 'vit eval in Node gives the accuracy the page measured');

      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: screenshotPath('train') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: screenshotPath('train-phone'), fullPage: true });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, 'nothing wider than a phone screen');
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'a run reloaded midway continues from its last epoch to the metrics of an uninterrupted `vit train`',
  { timeout: 150_000 },
  async () => {
    const settings = { epochs: 3, batchSize: 50, trainSamples: 500, testSamples: 200, threads: 2, seed: 3 };
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      await fill(page, settings);
      await page.getByTestId('start').click();
      // At least one epoch kept (a busy page may draw two at once); the status below says which.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')) >= 1);
      await page.reload();
      const continueRun = page.getByTestId('continue-run');
      await continueRun.waitFor();
      assert.match((await page.getByTestId('train-status').textContent()) ?? '', /stopped after epoch [12] of 3/);
      await continueRun.click();
      await waitFinished(page);
      const resumed = readMetrics(await download(page, 'download-metrics', 'metrics.json'));

      const out = join(work, 'experiments');
      const node = trainInNode(out, 'uninterrupted', {
        epochs: 3,
        'batch-size': 50,
        'train-samples': 500,
        'test-samples': 200,
        threads: 2,
        seed: 3,
      });
      assert.deepEqual(
        { train: resumed.train_losses, test: resumed.test_losses, accuracy: resumed.accuracies, on: resumed.evaluated_on },
        { train: node.train_losses, test: node.test_losses, accuracy: node.accuracies, on: node.evaluated_on },
      );
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'a time budget: Epochs stands aside, a bad budget is one line naming the field, the run (reloaded, continued, paused) ends inside its budget with a final evaluation',
  { timeout: 150_000 },
  async () => {
    const budget = 15;
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      // Epochs of 2 steps: the first is kept early in the budget however slow the machine, so that the reload below finds the run going.
      await fill(page, { epochs: 4, batchSize: 50, trainSamples: 100, testSamples: 200, threads: 2, seed: 7 });
      const epochsField = page.getByTestId('setting-epochs');
      const error = page.getByTestId('error');
      await fill(page, { timeBudget: -1 });
      assert.deepEqual([await epochsField.inputValue(), await epochsField.getAttribute('placeholder')], ['', '—']);
      await page.getByTestId('start').click();
      await error.filter({ hasText: 'Time budget (minutes) must be a number of minutes > 0' }).waitFor();
      assert.equal(
        await error.textContent(),
        'Time budget (minutes) must be a number of minutes > 0, or empty to train the epochs (got -1)',
      );
      assert.equal(await page.getByTestId('start').isEnabled(), true);

      await fill(page, { timeBudget: budget / 60 });
      await page.getByTestId('recipe-settings').screenshot({ path: screenshotPath('train-budget-form') });
      await page.getByTestId('start').click();
      await page
        .getByTestId('budget')
        .filter({ hasText: /^Budget 0\.25 min: 0:\d\d left$/ })
        .waitFor();
      // Reload once an epoch (and its checkpoint) is kept; the run continues from there.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart-loss"]')?.getAttribute('data-points')) >= 1);
      await page.reload();
      await page.getByTestId('continue-run').waitFor();
      assert.match(
        (await page.getByTestId('train-status').textContent()) ?? '',
        /stopped after epoch \d+, 0:\d\d of its 0\.25 min budget spent/,
      );
      await page.getByTestId('continue-run').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Training .* within a budget of 0\.25 min \(0:\d\d spent\)\.$/ })
        .waitFor();

      // A pause stops the run's clock: the time left holds, and the pause does not count against the budget.
      await page.getByTestId('pause').click();
      // The run says where it holds once the step in flight is done (however long that takes); from then on nothing moves.
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Paused after step \d+ of epoch \d+\.$/ })
        .waitFor();
      const held = await page.getByTestId('budget').textContent();
      await page.waitForTimeout(3000);
      assert.equal(await page.getByTestId('budget').textContent(), held, 'the time left holds while paused');
      await page.getByTestId('resume').click();
      await waitFinished(page);

      const metrics = readMetrics(await download(page, 'download-metrics', 'metrics.json'));
      const spent = metrics.elapsed_seconds.at(-1)!;
      assert.equal(metrics.elapsed_seconds.length, metrics.train_losses.length);
      // Training stops once the clock and the final evaluation's estimate reach the budget, so the run ends
      // within the budget plus less than its last epoch (a step and the evaluation), however fast the machine;
      // the precise bound, on a clock the test controls, is time-budget.test's.
      assert.ok(
        spent <= budget + metrics.epoch_seconds.at(-1)!,
        `the run stopped at its budget of ${budget} s (${spent} s, the last epoch ${metrics.epoch_seconds.at(-1)} s)`,
      );
      const final = metrics.accuracies.at(-1);
      assert.ok(typeof final === 'number', 'the last epoch was evaluated');
      assert.equal(await page.getByTestId('accuracy').textContent(), `${(final * 100).toFixed(2)}%`);
      assert.match((await page.getByTestId('epoch').textContent()) ?? '', /^\d+$/, 'the epoch without a total');
      const used = `${Math.floor(spent / 60)}:${String(Math.floor(spent % 60)).padStart(2, '0')}`;
      assert.equal(await page.getByTestId('budget').textContent(), `Budget 0.25 min: ${used} used`);
      assert.match(
        (await page.getByTestId('train-status').textContent()) ?? '',
        new RegExp(`^Finished: \\d+ epochs in ${used} of a 0\\.25 min budget, test accuracy`),
      );
      const config = JSON.parse(readFileSync(await download(page, 'download-config', 'config.json'), 'utf8')) as {
        training: { time_budget: number };
      };
      assert.equal(config.training.time_budget, budget);
      await page.evaluate(() => scrollTo(0, 0));
      await page.screenshot({ path: screenshotPath('train-budget') });
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'a model trained in the page trains further from where it is, as `vit train --init-from` does with its file',
  { timeout: 120_000 },
  async () => {
    const settings = { epochs: 1, batchSize: 50, trainSamples: 300, testSamples: 100, threads: 2, seed: 5 };
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      await fill(page, settings);
      await page.getByTestId('start').click();
      await waitFinished(page);
      const first = await download(page, 'download-model', 'model_final.safetensors');
      await page.getByTestId('start-from-model').check();
      assert.equal(await page.getByTestId('setting-hidden_size').isDisabled(), true, 'the model fields show the model, fixed');
      await page.getByTestId('start').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Training/ })
        .waitFor();
      await waitFinished(page);
      const further = readMetrics(await download(page, 'download-metrics', 'metrics.json'));
      const config = JSON.parse(readFileSync(await download(page, 'download-config', 'config.json'), 'utf8')) as {
        training: { init_from: string };
      };
      assert.equal(config.training.init_from, 'page run');

      const out = join(work, 'experiments');
      const node = trainInNode(out, 'further', {
        'init-from': first,
        epochs: 1,
        'batch-size': 50,
        'train-samples': 300,
        'test-samples': 100,
        threads: 2,
        seed: 5,
      });
      assert.deepEqual(
        [further.train_losses, further.test_losses, further.accuracies],
        [node.train_losses, node.test_losses, node.accuracies],
      );
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'pause holds the run between steps, resume goes on, stop ends it after the step with Continue offered',
  { timeout: 90_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      await fill(page, { epochs: 20, batchSize: 10, trainSamples: 300, testSamples: 50, threads: 2 });
      await page.getByTestId('start').click();
      const step = page.getByTestId('step');
      // Some steps drawn (a busy page may draw several at once).
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="chart-running-loss"]')?.getAttribute('data-points')) >= 3,
      );
      await page.getByTestId('pause').click();
      await page.getByTestId('resume').waitFor();
      // The step in flight may still finish; the run then says where it holds, and after that nothing moves.
      const paused = page.getByTestId('train-status').filter({ hasText: /^Paused after step \d+ of epoch 1\.$/ });
      await paused.waitFor();
      const held = await step.textContent();
      assert.equal(
        held,
        `${/step (\d+)/.exec((await paused.textContent()) ?? '')![1]} / 30`,
        'the step shown is the one the run holds after',
      );
      await page.waitForTimeout(1500);
      assert.equal(await step.textContent(), held, 'no step while paused');
      await page.getByTestId('resume').click();
      await page.waitForFunction((before) => document.querySelector('[data-testid="step"]')?.textContent !== before, held);
      // Stop once the first epoch is saved, so that there is a checkpoint to continue from.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')) >= 1);
      await page.getByTestId('stop').click();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Stopped after epoch \d+\./ })
        .waitFor();
      assert.equal(await page.getByTestId('continue-run').isVisible(), true);
      assert.equal(await page.getByTestId('start').isEnabled(), true);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test('served without the isolation headers, a run trains on one thread', { timeout: 60_000 }, async () => {
  const { page, consoleErrors, pageErrors, close } = await browser.open('', { isolated: false });
  try {
    await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
    const threads = page.getByTestId('setting-threads');
    assert.deepEqual([await threads.inputValue(), await threads.isDisabled()], ['1', true]);
    await fill(page, { epochs: 1, batchSize: 50, trainSamples: 200, testSamples: 100 });
    await page.getByTestId('start').click();
    await waitFinished(page);
    const config = JSON.parse(readFileSync(await download(page, 'download-config', 'config.json'), 'utf8')) as {
      training: { threads: number };
    };
    assert.equal(config.training.threads, 1);
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});

test(
  "the user's archive: a truncated one dropped is one visible error naming it, as are refused settings; the whole one loads with its SHA-256",
  { timeout: 60_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      await page.evaluate(
        ({ name, base64 }) => {
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name));
          document
            .querySelector('[data-testid="data-drop"]')!
            .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        },
        { name: ARCHIVE, base64: truncated.toString('base64') },
      );
      const error = page.getByTestId('error');
      await error.filter({ hasText: ARCHIVE }).waitFor();
      assert.match((await error.textContent()) ?? '', /cifar-10-binary\.tar\.gz is truncated/);
      assert.equal(await page.getByTestId('data-status').textContent(), 'Still using the bundled sample.');
      assert.equal(await page.getByTestId('start').isEnabled(), true);

      // The page goes on: the whole archive, picked this time.
      await page.getByTestId('data-files').setInputFiles(archive);
      await page
        .getByTestId('data-status')
        .filter({ hasText: `${ARCHIVE}: 2,000 training and 500 test images` })
        .waitFor();
      const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
      assert.match((await page.getByTestId('data-checksums').textContent()) ?? '', new RegExp(`SHA-256 ${sha256}`));
      assert.equal(await error.isHidden(), true, 'the error line is cleared by the next load');

      // Settings the core refuses, and an empty field: one line each, and the page stays ready.
      await fill(page, { num_attention_heads: 5 });
      await page.getByTestId('start').click();
      await error.filter({ hasText: '"hidden_size" must be divisible by num_attention_heads (5)' }).waitFor();
      await page.getByTestId('setting-num_attention_heads').fill('');
      await page.getByTestId('start').click();
      await error.filter({ hasText: 'Heads needs a value' }).waitFor();
      assert.equal(await page.getByTestId('start').isEnabled(), true);

      // Or the batch files themselves.
      await page.getByTestId('data-files').setInputFiles(['data_batch_1.bin', 'test_batch.bin'].map((name) => join(SAMPLE_DIR, name)));
      await page
        .getByTestId('data-status')
        .filter({ hasText: 'data_batch_1.bin, test_batch.bin: 2,000 training and 500 test images' })
        .waitFor();
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
