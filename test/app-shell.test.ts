// The page's shell in Chromium: the tab bar follows the WAI-ARIA tabs pattern (arrow keys, Home,
// End; one tab in the Tab order; the hash names the open view, so a view can be linked to).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserHarness } from './browser-harness.js';

const browser = browserHarness();

/** The selected tab's name and the panels shown. */
async function shown(page: Page): Promise<{ tab: string; panels: string[]; hash: string }> {
  return page.evaluate(() => ({
    tab: document.querySelector('[role="tab"][aria-selected="true"]')?.textContent ?? '',
    panels: Array.from(document.querySelectorAll<HTMLElement>('[role="tabpanel"]'))
      .filter((p) => !p.hidden)
      .map((p) => p.id),
    hash: location.hash,
  }));
}

test('the views are reachable by keyboard, one tab stop for the bar, and by their link', { timeout: 30_000 }, async () => {
  const { page, consoleErrors, pageErrors, close } = await browser.open();
  try {
    assert.deepEqual(await shown(page), { tab: 'Train', panels: ['panel-train'], hash: '#train' });
    assert.deepEqual(
      await page.locator('[role="tab"]').evaluateAll((tabs) => tabs.map((t) => (t as HTMLElement).tabIndex)),
      [0, -1, -1, -1],
    );
    await page.getByRole('tab', { name: 'Train' }).focus();
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await shown(page), { tab: 'Look inside', panels: ['panel-inside'], hash: '#inside' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Look inside');
    await page.keyboard.press('End');
    assert.deepEqual((await shown(page)).tab, 'Model');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual((await shown(page)).tab, 'Train', 'the arrows wrap around');
    await page.keyboard.press('ArrowLeft');
    assert.deepEqual((await shown(page)).tab, 'Model');
    await page.keyboard.press('Home');
    assert.deepEqual((await shown(page)).tab, 'Train');

    await page.goto(new URL('#classify', page.url()).href);
    await page.reload();
    assert.deepEqual(await shown(page), { tab: 'Classify', panels: ['panel-classify'], hash: '#classify' });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});
