// Where the page's errors show, in Chromium: beside the control that caused them (a field at
// fault under its label, focused and in view; the data card; the Start button; the Classify and
// Model drop zones), announced by an aria-live region that stays put, and gone as soon as the
// user acts again, before the new action has run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Locator, Page } from 'playwright-core';
import { browserHarness, screenshotPath } from './browser-harness.js';
import { fixturesDir } from './helpers.js';

const harness = browserHarness();
let dir: string;
let modelDir: string;
let png: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vit-app-errors-'));
  modelDir = join(dir, 'hf');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), readFileSync(join(fixturesDir, 'hf-layout', 'hf_config.json')));
  writeFileSync(join(modelDir, 'model.safetensors'), readFileSync(join(fixturesDir, 'hf-layout', 'model.safetensors')));
  png = join(dir, 'grey.png');
  await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 90, g: 120, b: 150 } } })
    .png()
    .toFile(png);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The testid of the element the error line follows, and of the element that holds it. */
const placeOf = (error: Locator): Promise<{ after: string | undefined; within: string | undefined }> =>
  error.evaluate((line) => ({
    after:
      (line.previousElementSibling as HTMLElement | null)?.dataset.testid ??
      line.previousElementSibling?.querySelector<HTMLElement>('[data-testid]')?.dataset.testid,
    within: line.parentElement?.closest<HTMLElement>('[data-testid]')?.dataset.testid,
  }));

/** Whether the whole element lies inside the viewport. */
const inView = (locator: Locator): Promise<boolean> =>
  locator.evaluate((e) => {
    const box = e.getBoundingClientRect();
    return box.height > 0 && box.top >= 0 && box.bottom <= innerHeight;
  });

async function dropOn(page: Page, testid: string, name: string, bytes: Buffer, type = ''): Promise<void> {
  await page.getByTestId(testid).evaluate(
    (zone, file) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.type }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name, base64: bytes.toString('base64'), type },
  );
}

test(
  "Train at phone width: a bad field's error is under that field, focused and in view, announced; a bad archive's beside the data; the next action clears it",
  { timeout: 60_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await harness.open('', { viewport: { width: 390, height: 844 } });
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      const error = page.getByTestId('error');
      const announcer = page.getByTestId('error-announcer');
      const budget = page.getByTestId('setting-timeBudget');
      await budget.fill('-1');
      await page.getByTestId('start').click();
      const message = 'Time budget (minutes) must be a number of minutes > 0, or empty to train the epochs (got -1)';
      await error.filter({ hasText: message }).waitFor();
      assert.deepEqual(await placeOf(error), { after: 'setting-timeBudget', within: 'recipe-settings' }, 'under the field at fault');
      assert.equal(await budget.evaluate((input) => input === document.activeElement), true, 'the field at fault has the focus');
      assert.equal(await inView(error), true, 'the error is on screen where the user is');
      assert.equal(await budget.getAttribute('aria-invalid'), 'true');
      assert.equal(await budget.getAttribute('aria-describedby'), await error.getAttribute('id'));
      assert.deepEqual([await announcer.textContent(), await announcer.getAttribute('aria-live')], [message, 'assertive']);
      await page.screenshot({ path: screenshotPath('error-field-phone') });

      // Something that is no archive, dropped on the data card: its error follows the card.
      await dropOn(page, 'data-drop', 'cifar-10-binary.tar.gz', Buffer.from('no archive at all'));
      await error.filter({ hasText: 'cifar-10-binary.tar.gz' }).waitFor();
      assert.deepEqual(await placeOf(error), { after: 'data-panel', within: 'panel-train' });
      assert.equal(await budget.getAttribute('aria-invalid'), null, 'the field is no longer marked at fault');
      assert.equal(await announcer.textContent(), await error.textContent());

      // Acting again clears it at once.
      await page.getByTestId('use-sample').click();
      assert.equal(await error.isHidden(), true);
      assert.equal(await announcer.textContent(), '');
      await page.getByTestId('data-status').filter({ hasText: 'Loaded the bundled sample' }).waitFor();
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'Classify and Model: each error follows its drop zone, and goes as the next image is classified, before its answer',
  { timeout: 60_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await harness.open('#classify');
    try {
      const error = page.getByTestId('error');
      await dropOn(page, 'classify-drop', 'grey.png', readFileSync(png), 'image/png');
      await error.filter({ hasText: 'No model yet' }).waitFor();
      assert.deepEqual(await placeOf(error), { after: 'classify-drop', within: 'panel-classify' });

      await page.getByTestId('tab-model').click();
      await page
        .getByTestId('model-file-input')
        .setInputFiles({ name: 'broken.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model') });
      await error.filter({ hasText: 'broken.safetensors' }).waitFor();
      assert.deepEqual(await placeOf(error), { after: 'model-drop', within: 'panel-model' });
      await page.getByTestId('model-folder-input').setInputFiles(modelDir);
      await page.getByTestId('model-name').filter({ hasText: 'hf/model.safetensors' }).waitFor();
      assert.equal(await error.isHidden(), true, 'opening a model clears the error');

      await page.getByTestId('tab-classify').click();
      await dropOn(page, 'classify-drop', 'notes.txt', Buffer.from('just some text'), 'text/plain');
      await error.filter({ hasText: 'notes.txt: cannot decode the image' }).waitFor();
      // Whether the old error still shows when the next image starts: recorded as the status says "Classifying".
      await page.evaluate(() => {
        const status = document.querySelector('[data-testid="classify-status"]')!;
        const line = document.querySelector<HTMLElement>('[data-testid="error"]')!;
        new MutationObserver(() => {
          if (status.textContent?.startsWith('Classifying')) document.body.dataset.errorWhileClassifying = String(!line.hidden);
        }).observe(status, { childList: true, characterData: true, subtree: true });
      });
      await page.getByTestId('classify-file-input').setInputFiles(png);
      await page.getByTestId('classify-status').filter({ hasText: 'grey.png (20×20 shown)' }).waitFor();
      assert.equal(
        await page.evaluate(() => document.body.dataset.errorWhileClassifying),
        'false',
        'the old error went before the new image ran',
      );
      assert.equal(await error.isHidden(), true);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
