// The page's landmarks and its widest part, in Chromium: axe-core's "region" rule (all content
// inside landmarks) on every tab, before and after a model is loaded and with an error shown, at
// desktop and phone width; and the confusion matrix, which is wider than a phone, says that it
// scrolls, keeps the row names in view and scrolls by keyboard, while on a desktop it fits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserHarness, screenshotPath } from './browser-harness.js';
import { fixturesDir } from './helpers.js';

const harness = browserHarness();
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TABS = ['train', 'inside', 'classify', 'model'];
let dir: string;
let modelDir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vit-app-a11y-'));
  modelDir = join(dir, 'hf');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), readFileSync(join(fixturesDir, 'hf-layout', 'hf_config.json')));
  writeFileSync(join(modelDir, 'model.safetensors'), readFileSync(join(fixturesDir, 'hf-layout', 'model.safetensors')));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** axe-core's violations of `rules` on the page as it is now: "rule: selector" each. */
async function violations(page: Page, rules: string[]): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async (only) => {
    const axe = (
      globalThis as unknown as {
        axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };
      }
    ).axe;
    const result = await axe.run(document, { runOnly: { type: 'rule', values: only } });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  }, rules);
}

async function openModel(page: Page): Promise<void> {
  await page.getByTestId('tab-model').click();
  await page.getByTestId('model-folder-input').setInputFiles(modelDir);
  await page.getByTestId('model-name').filter({ hasText: 'hf/model.safetensors' }).waitFor();
}

for (const [name, viewport] of [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  test(
    `at ${name} width all content of every tab is inside a landmark (axe-core "region") and has enough contrast ("color-contrast"), with a model, an error and the notice shown`,
    { timeout: 60_000 },
    async () => {
      // Served plain, so that the isolation notice shows too.
      const { page, pageErrors, close } = await harness.open('', { viewport, isolated: false });
      try {
        await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
        await page.getByTestId('isolation-warning').waitFor();
        const found: string[] = [];
        for (const tab of TABS) {
          await page.getByTestId(`tab-${tab}`).click();
          found.push(...(await violations(page, ['region'])).map((v) => `${tab}, no model: ${v}`));
        }
        await openModel(page);
        await page.getByTestId('tab-inside').click();
        await page.getByTestId('inside-accuracy').filter({ hasText: 'Accuracy' }).waitFor();
        await page.getByTestId('tab-classify').click();
        await page
          .getByTestId('classify-file-input')
          .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('no image') });
        await page.getByTestId('error').filter({ hasText: 'notes.txt' }).waitFor();
        for (const tab of TABS) {
          await page.getByTestId(`tab-${tab}`).click();
          found.push(
            ...(await violations(page, ['region', 'scrollable-region-focusable', 'color-contrast'])).map(
              (v) => `${tab}, with a model: ${v}`,
            ),
          );
        }
        assert.deepEqual(found, []);
        assert.deepEqual(pageErrors, []);
      } finally {
        await close();
      }
    },
  );
}

test(
  'the confusion matrix at phone width says it scrolls, keeps the row names in view and scrolls by keyboard; on a desktop it fits',
  { timeout: 60_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await harness.open('', { viewport: { width: 390, height: 844 } });
    try {
      await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
      await openModel(page);
      await page.getByTestId('tab-inside').click();
      await page.getByTestId('inside-accuracy').filter({ hasText: 'Accuracy' }).waitFor();
      const matrix = page.getByTestId('confusion-matrix');
      const hint = page.getByTestId('matrix-scroll-hint');
      const widths = (): Promise<{ scroll: number; client: number }> =>
        matrix.evaluate((m) => ({ scroll: m.scrollWidth, client: m.clientWidth }));
      const phone = await widths();
      assert.ok(phone.scroll > phone.client, `the matrix (${phone.scroll} px) is wider than its card (${phone.client} px) on a phone`);
      await hint.waitFor();
      assert.equal(await hint.innerText(), 'The matrix is wider than the screen: scroll it sideways →');
      assert.equal(
        await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth),
        0,
        'the page itself does not scroll sideways',
      );

      // By keyboard: the matrix takes the focus and the arrow keys scroll it; the row names stay in view.
      await matrix.focus();
      for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => document.querySelector('[data-testid="confusion-matrix"]')!.scrollLeft > 0);
      const rowName = await matrix
        .locator('tbody th')
        .first()
        .evaluate((th) => th.getBoundingClientRect().left - th.closest('[data-testid="confusion-matrix"]')!.getBoundingClientRect().left);
      assert.ok(Math.abs(rowName) <= 1, `the row names stay at the left edge (${rowName} px off)`);
      await matrix.scrollIntoViewIfNeeded();
      await page.screenshot({ path: screenshotPath('matrix-phone') });

      await page.setViewportSize({ width: 1280, height: 800 });
      await hint.waitFor({ state: 'hidden' });
      const desktop = await widths();
      assert.ok(desktop.scroll <= desktop.client, `on a desktop the matrix fits (${desktop.scroll} of ${desktop.client} px)`);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
