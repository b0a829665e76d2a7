// Classify with many images at once, in Chromium: every image dropped (or picked) is classified,
// one tile each in a grid, each tile's top class and score those `vit predict` gives for the same
// file, a file that is no image named in its tile and in the error line, and any tile shows its
// top 5 (again `vit predict`'s). Screenshots at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { browserHarness, screenshotPath } from './browser-harness.js';
import { CLI, fixturesDir } from './helpers.js';

const harness = browserHarness();
/** Images dropped at once: many more than one, as a user's folder of photos is. */
const IMAGES = 24;
let dir: string;
let modelDir: string;
const pngs: string[] = [];

interface Prediction {
  label: string;
  score: number;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vit-app-classify-many-'));
  // A small Hugging Face folder (the fixture's weights): its predictions differ from image to image.
  modelDir = join(dir, 'hf');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), readFileSync(join(fixturesDir, 'hf-layout', 'hf_config.json')));
  writeFileSync(join(modelDir, 'model.safetensors'), readFileSync(join(fixturesDir, 'hf-layout', 'model.safetensors')));
  const set = readCifar10(sampleDataDir(), 'test');
  for (let i = 0; i < IMAGES; i++) {
    const rgb = Buffer.alloc(3072);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = set.images[i * 3072 + c * 1024 + p]!;
    const path = join(dir, `test${String(i).padStart(2, '0')}.png`);
    await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(path);
    pngs.push(path);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function vitPredict(paths: string[]): Prediction[][] {
  const run = spawnSync(process.execPath, [CLI, 'predict', '--model', modelDir, '--json', ...paths], {
    encoding: 'utf8',
    env: { ...process.env, VIT_THREADS: '2' },
  });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { predictions: Prediction[] }[]).map((file) => file.predictions);
}

async function openWithModel(viewport?: { width: number; height: number }): Promise<Awaited<ReturnType<typeof harness.open>>> {
  const opened = await harness.open('#model', viewport ? { viewport } : {});
  await opened.page.getByTestId('model-folder-input').setInputFiles(modelDir);
  await opened.page.getByTestId('model-name').filter({ hasText: 'hf/model.safetensors' }).waitFor();
  await opened.page.getByTestId('tab-classify').click();
  return opened;
}

/** Drops `files` (name and bytes) on the Classify drop zone, as a file manager does. */
async function drop(page: Page, files: { name: string; base64: string; type: string }[]): Promise<void> {
  await page.getByTestId('classify-drop').evaluate((zone, given) => {
    const transfer = new DataTransfer();
    for (const file of given)
      transfer.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.type }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, files);
}

const tiles = (page: Page): Promise<{ name: string; label: string; score: number }[]> =>
  page.getByTestId('classify-tile').evaluateAll((buttons) =>
    buttons.map((b) => {
      const data = (b as HTMLElement).dataset;
      return { name: data.name!, label: data.label!, score: Number(data.score) };
    }),
  );

test(
  `${IMAGES} images and a text file dropped at once: every image classified in a grid as vit predict does, the text file named`,
  { timeout: 120_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await openWithModel();
    try {
      const node = vitPredict(pngs);
      const files = pngs.map((path) => ({
        name: path.slice(path.lastIndexOf('/') + 1),
        base64: readFileSync(path).toString('base64'),
        type: 'image/png',
      }));
      files.splice(5, 0, { name: 'notes.txt', base64: Buffer.from('just some text').toString('base64'), type: 'text/plain' });
      await drop(page, files);
      const status = page.getByTestId('classify-status');
      await status.filter({ hasText: `${IMAGES} of ${IMAGES + 1} images classified` }).waitFor({ timeout: 90_000 });

      const shown = await tiles(page);
      assert.deepEqual(
        shown.map((t) => t.name),
        files.filter((f) => f.name !== 'notes.txt').map((f) => f.name),
        'one tile per image, in the order dropped',
      );
      shown.forEach((t, i) => {
        assert.equal(t.label, node[i]![0]!.label, `${t.name}: top class`);
        assert.ok(Math.abs(t.score - node[i]![0]!.score) <= 1e-5, `${t.name}: ${t.score} vs Node's ${node[i]![0]!.score}`);
      });
      assert.ok(new Set(shown.map((t) => t.label)).size > 1, 'the model tells the images apart (else the comparison says little)');
      const why = 'notes.txt: cannot decode the image; expected a PNG, JPEG, WebP, GIF or BMP';
      assert.equal(await page.getByTestId('classify-tile-error').innerText(), why);
      assert.equal(await page.getByTestId('error').innerText(), `1 of ${IMAGES + 1} files could not be classified: ${why}`);

      // A tile shows its own top 5: vit predict's for that file.
      const pick = 17;
      await page.getByTestId('classify-tile').nth(pick).click();
      await status.filter({ hasText: files.filter((f) => f.name !== 'notes.txt')[pick]!.name }).waitFor();
      const top5 = await page.getByTestId('prediction').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.label));
      assert.deepEqual(
        top5,
        node[pick]!.map((p) => p.label),
      );
      assert.equal(await page.getByTestId('classify-tile').nth(pick).getAttribute('aria-pressed'), 'true');
      await page.screenshot({ path: screenshotPath('classify-many'), fullPage: true });
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'several images picked with the file chooser are all classified; at phone width the grid fits the screen',
  { timeout: 90_000 },
  async () => {
    const { page, consoleErrors, pageErrors, close } = await openWithModel({ width: 390, height: 844 });
    try {
      const picked = pngs.slice(0, 6);
      const node = vitPredict(picked);
      await page.getByTestId('classify-file-input').setInputFiles(picked);
      await page.getByTestId('classify-status').filter({ hasText: '6 of 6 images classified' }).waitFor({ timeout: 60_000 });
      assert.deepEqual(
        (await tiles(page)).map((t) => t.label),
        node.map((p) => p[0]!.label),
      );
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${overflow} px wider than the screen`);
      await page.screenshot({ path: screenshotPath('classify-many-phone'), fullPage: true });
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
