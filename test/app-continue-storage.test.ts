// A page run on the user's own archive keeps the archive in the browser's storage, so that after a
// reload Continue needs nothing picked and ends on the metrics of an uninterrupted `vit train`; the
// page shows what it keeps and lets the user forget it (then says, before Continue is pressed, that
// the archive must be picked again); a kept copy that no longer matches its SHA-256 is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as createTar } from 'tar';
import type { Page } from 'playwright-core';
import { type MetricsFile, browserHarness, trainInNode } from './browser-harness.js';

const SAMPLE_DIR = fileURLToPath(new URL('../../data/cifar10-sample', import.meta.url));
const ARCHIVE = 'cifar-10-binary.tar.gz';
const browser = browserHarness();

let work: string;
/** The sample packed as the official archive is (cifar-10-batches-bin/…). */
let archive: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vit-app-keep-'));
  const folder = join(work, 'cifar-10-batches-bin');
  mkdirSync(folder);
  for (const name of ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt']) cpSync(join(SAMPLE_DIR, name), join(folder, name));
  archive = join(work, ARCHIVE);
  createTar({ gzip: true, file: archive, cwd: work, sync: true }, ['cifar-10-batches-bin']);
});
after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const SETTINGS = { epochs: 3, batchSize: 50, trainSamples: 500, testSamples: 200, threads: 2, seed: 3 };

/** The page with the sample loaded, the user's archive picked, and a run on it kept after its first epoch, then reloaded. */
async function runOnArchiveAndReload(): Promise<Awaited<ReturnType<typeof browser.open>>> {
  const opened = await browser.open();
  const { page } = opened;
  await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
  await page.getByTestId('data-files').setInputFiles(archive);
  await page
    .getByTestId('data-status')
    .filter({ hasText: `${ARCHIVE}: 2,000 training and 500 test images` })
    .waitFor();
  // `vit train`'s defaults (the seed recipe, no budget) rather than the first visit's.
  await page.getByTestId('setting-recipe').selectOption('seed');
  await page.getByTestId('setting-timeBudget').fill('');
  for (const [key, value] of Object.entries(SETTINGS)) await page.getByTestId(`setting-${key}`).fill(String(value));
  await page.getByTestId('start').click();
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')) >= 1,
    undefined,
    { timeout: 90_000 },
  );
  await page.reload();
  await page.getByTestId('continue-run').waitFor();
  // The page loads the bundled sample on every visit; the kept run's archive is not picked again.
  await page.getByTestId('data-status').filter({ hasText: 'Loaded the bundled sample' }).waitFor();
  return opened;
}

async function download(page: Page, testid: string, name: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()]);
  const path = join(work, `${testid}-${Date.now()}-${name}`);
  await file.saveAs(path);
  return path;
}

test(
  "a run on the user's archive, reloaded: Continue reads the archive kept in the browser (shown with its size) and ends on the metrics of an uninterrupted vit train",
  { timeout: 240_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await runOnArchiveAndReload();
    try {
      const megabytes = (statSync(archive).size / 1e6).toFixed(1);
      assert.match(
        (await page.getByTestId('kept-data').textContent()) ?? '',
        new RegExp(
          `Kept in this browser's storage, so that Continue needs nothing picked after a reload: cifar-10-binary\\.tar\\.gz \\(${megabytes} MB\\); this page's storage in all: \\d+\\.\\d MB\\.`,
        ),
      );
      assert.match(
        (await page.getByTestId('train-status').textContent()) ?? '',
        /^A run stopped after epoch [12] of 3: Continue run picks up from there\.$/,
      );
      await page.getByTestId('continue-run').click();
      await page
        .getByTestId('data-status')
        .filter({ hasText: `Loaded ${ARCHIVE}: 2,000 training and 500 test images` })
        .waitFor();
      await page
        .getByTestId('train-status')
        .filter({ hasText: /^Finished/ })
        .waitFor({ timeout: 120_000 });
      const resumed = JSON.parse(readFileSync(await download(page, 'download-metrics', 'metrics.json'), 'utf8')) as MetricsFile;

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
        [resumed.train_losses, resumed.test_losses, resumed.accuracies],
        [node.train_losses, node.test_losses, node.accuracies],
      );
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'forgetting the kept archive: the page says at once that Continue needs it picked again, and after a reload too; a kept copy that fails its SHA-256 is refused by name',
  { timeout: 240_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await runOnArchiveAndReload();
    try {
      const status = page.getByTestId('train-status');
      const error = page.getByTestId('error');
      const pickAgain = ` It trained on ${ARCHIVE}, no longer kept in this browser: pick it again first.`;
      await page.getByTestId('forget-data').click();
      await status.filter({ hasText: pickAgain }).waitFor();
      assert.equal(await page.getByTestId('kept-data').isHidden(), true, 'nothing kept any more');
      await page.reload();
      await page.getByTestId('continue-run').waitFor();
      await status.filter({ hasText: pickAgain }).waitFor();
      assert.equal(await page.getByTestId('kept-data').isHidden(), true);
      await page.getByTestId('continue-run').click();
      await error.filter({ hasText: 'not kept in this browser: load the same files first' }).waitFor();

      // A new run on the archive keeps it again; a kept copy whose bytes changed (the disk, another
      // program) fails its check when Continue reads it, and is forgotten.
      await page.getByTestId('data-files').setInputFiles(archive);
      await page
        .getByTestId('data-status')
        .filter({ hasText: `${ARCHIVE}: 2,000 training and 500 test images` })
        .waitFor();
      await page.getByTestId('start').click();
      // The charts held the forgotten run's epochs until the new run begins.
      await status.filter({ hasText: /^Training .* from epoch 1 of 3\.$/ }).waitFor();
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')) >= 1,
        undefined,
        { timeout: 90_000 },
      );
      await page.reload();
      await page.getByTestId('continue-run').waitFor();
      await page.getByTestId('kept-data').waitFor();
      await page.evaluate(async () => {
        const db = await new Promise<IDBDatabase>((resolve, reject) => {
          const request = indexedDB.open('vit-ts-data');
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        const store = db.transaction('files', 'readwrite').objectStore('files');
        await new Promise<void>((resolve, reject) => {
          const cursor = store.openCursor();
          cursor.onsuccess = () => {
            const at = cursor.result;
            if (!at) return resolve();
            const kept = at.value as { blob: Blob };
            at.update({ ...kept, blob: kept.blob.slice(0, kept.blob.size - 1) });
            at.continue();
          };
          cursor.onerror = () => reject(cursor.error);
        });
        db.close();
      });
      await page.getByTestId('continue-run').click();
      await error.filter({ hasText: 'does not match its SHA-256' }).waitFor({ timeout: 60_000 });
      assert.match(
        (await error.textContent()) ?? '',
        /^the copy of cifar-10-binary\.tar\.gz kept in this browser's storage does not match its SHA-256 \([0-9a-f]{12}…\): it is forgotten; pick the file again to continue$/,
      );
      await page.reload();
      await status.filter({ hasText: pickAgain }).waitFor();
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
