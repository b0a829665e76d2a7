// The page's Model, Classify and Look inside views in Chromium, against Node's answers for the
// same model and images: a model trained here by `vit train`, opened in the page, classifies a PNG
// as `vit predict` does; Look inside draws the attention `vit attention` computes and the accuracy
// `vit eval` reports; bad files give a visible error naming them; screenshots of the three views.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { BatchMaker } from '../src/data/augment.js';
import { subset } from '../src/data/cifar10.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { clsAttentionMaps } from '../src/model/cls-attention.js';
import { ViTForClassification } from '../src/model/vit.js';
import { Random } from '../src/random.js';
import { getEngine } from '../src/runtime/engine.js';
import { overlayAttention } from '../src/viz/attention-map.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { browserHarness, screenshotPath, type OpenPage } from './browser-harness.js';
import { CLI, fixturesDir } from './helpers.js';

const harness = browserHarness();
let dir: string;
/** A model `vit train` trained on the sample (2 epochs on 1,000 images: its predictions differ from image to image). */
let modelPath: string;
/** Test images 0 and 1 of the sample as PNGs, the second resized to 50×40 (the page must resize it as Node does). */
const pngs: string[] = [];

function vit(...args: string[]): string {
  const run = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '2' } });
  assert.equal(run.status, 0, `vit ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vit-app-inspect-'));
  vit(
    'train',
    '--exp-name',
    'm',
    '--sample',
    '--recipe',
    'fast',
    '--epochs',
    '2',
    '--train-samples',
    '1000',
    '--test-samples',
    '64',
    '--out',
    dir,
  );
  modelPath = join(dir, 'm', 'model_final.safetensors');
  const set = readCifar10(sampleDataDir(), 'test');
  for (const [i, size] of [
    [0, null],
    [1, [50, 40]],
  ] as const) {
    const rgb = Buffer.alloc(3072);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = set.images[i * 3072 + c * 1024 + p]!;
    const image = sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } });
    const path = join(dir, `test${i}.png`);
    await (size ? image.resize(size[0], size[1]) : image).png().toFile(path);
    pngs.push(path);
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The page with the Node-trained model opened from the Model view's file input. */
async function pageWithModel(view: string): Promise<OpenPage> {
  const opened = await harness.open(`#${view}`);
  await opened.page.getByTestId('tab-model').click();
  await opened.page.getByTestId('model-file-input').setInputFiles(modelPath);
  await opened.page.getByTestId('model-name').filter({ hasText: 'model_final.safetensors' }).waitFor();
  await opened.page.getByTestId(`tab-${view}`).click();
  return opened;
}

async function classifyInPage(page: Page, path: string): Promise<{ label: string; score: number }[]> {
  const status = page.getByTestId('classify-status');
  await page.getByTestId('classify-file-input').setInputFiles(path);
  await status
    .filter({ hasText: path.slice(path.lastIndexOf('/') + 1) })
    .filter({ hasNotText: 'Classifying' })
    .waitFor();
  return page.getByTestId('prediction').evaluateAll((rows) =>
    rows.map((row) => ({
      label: (row as HTMLElement).dataset.label!,
      score: Number((row as HTMLElement).dataset.score),
    })),
  );
}

test('a model trained by vit train, opened in the page, classifies PNGs as vit predict does: same top 5, probabilities within 1e-5', async () => {
  const { page, consoleErrors, pageErrors, close } = await pageWithModel('classify');
  try {
    const node = JSON.parse(vit('predict', '--model', modelPath, '--json', ...pngs)) as {
      predictions: { label: string; score: number }[];
    }[];
    for (const [i, path] of pngs.entries()) {
      const inPage = await classifyInPage(page, path);
      const expected = node[i]!.predictions;
      assert.deepEqual(
        inPage.map((p) => p.label),
        expected.map((p) => p.label),
        `${path}: top 5`,
      );
      inPage.forEach((p, k) =>
        assert.ok(Math.abs(p.score - expected[k]!.score) <= 1e-5, `${path}: ${p.label} ${p.score} vs Node's ${expected[k]!.score}`),
      );
    }
    // The attention overlay is drawn over the image, at the image's size (50×40 for the second).
    assert.deepEqual(await page.getByTestId('classify-overlay').evaluate((c: HTMLCanvasElement) => [c.width, c.height]), [50, 40]);
    await page.screenshot({ path: screenshotPath('inspect-classify') });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});

/** Node's overlays of the figure's images (those of `vit attention --sample --n 10 --seed S`) for block `layer`. */
async function nodeFigure(layer: number | 'all', seed = 0): Promise<{ overlays: Uint8Array[]; predictions: number[] }> {
  const { config, params } = loadCheckpoint(modelPath);
  const model = await ViTForClassification.create(config, { engine: await getEngine({ threads: 2 }) });
  model.loadStateDict(params);
  const chosen = subset(readCifar10(sampleDataDir(), 'test'), 10, new Random(seed));
  new BatchMaker(32, 3, { mean: [0.5], std: [0.5] }, new Random(0)).fill(
    model.imageBuffer(10),
    chosen,
    Uint32Array.from({ length: 10 }, (_, i) => i),
    0,
    10,
    false,
  );
  model.forward(10);
  const logits = await model.readLogits();
  const predictions = Array.from({ length: 10 }, (_, i) => {
    const row = [...logits.subarray(i * 10, i * 10 + 10)];
    return row.indexOf(Math.max(...row));
  });
  const maps = await clsAttentionMaps(model, 10, layer);
  const overlays = maps.map((attention, i) => {
    const image = new Uint8Array(3072);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) image[p * 3 + c] = chosen.images[i * 3072 + c * 1024 + p]!;
    return overlayAttention({ image, width: 32, height: 32, attention, gridSize: 8 });
  });
  model.release();
  return { overlays, predictions };
}

/** The RGB bytes of every overlay canvas in the figure. */
function pageOverlays(page: Page): Promise<number[][]> {
  return page
    .getByTestId('attention-figure')
    .locator('canvas:nth-child(2)')
    .evaluateAll((canvases) =>
      canvases.map((canvas) => {
        const c = canvas as HTMLCanvasElement;
        const rgba = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        return [...rgba].filter((_, i) => i % 4 !== 3);
      }),
    );
}

function assertSameImage(actual: number[], expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= 1, `${what}: differs from Node's by up to ${worst}`);
}

test("Look inside: the figure is vit attention's (titles, maps, a block chosen by keyboard), the matrix sums to vit eval's accuracy", async () => {
  const { page, consoleErrors, pageErrors, close } = await pageWithModel('inside');
  try {
    await page.getByTestId('attention-item').nth(9).waitFor();
    const evaluation = JSON.parse(vit('eval', '--model', modelPath, '--sample', '--json')) as { accuracy: number; images: number };
    const correct = Number(await page.getByTestId('inside-accuracy').getAttribute('data-correct'));
    assert.equal(correct, Math.round(evaluation.accuracy * evaluation.images));

    const all = await nodeFigure('all');
    const titles = await page.getByTestId('attention-figure').locator('figcaption').allTextContents();
    const colours = await page
      .getByTestId('attention-figure')
      .locator('figcaption')
      .evaluateAll((c) => c.map((e) => getComputedStyle(e).color));
    titles.forEach((title, i) => {
      const predicted = title.split(' / pred: ')[1];
      assert.equal(
        predicted,
        ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'][all.predictions[i]!],
        title,
      );
      assert.equal(colours[i], title.startsWith(`gt: ${predicted} `) ? 'rgb(0, 128, 0)' : 'rgb(208, 0, 0)', title);
    });
    (await pageOverlays(page)).forEach((overlay, i) => assertSameImage(overlay, all.overlays[i]!, `figure image ${i}, mean of the blocks`));

    // Block 0 chosen from the keyboard: focus the select, one step down from "mean of all blocks".
    const layerSelect = page.getByTestId('panel-inside').getByTestId('layer-select');
    await layerSelect.focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await layerSelect.inputValue(), '0');
    const first = await nodeFigure(0);
    (await pageOverlays(page)).forEach((overlay, i) => assertSameImage(overlay, first.overlays[i]!, `figure image ${i}, block 0`));
    await layerSelect.selectOption('all');
    await layerSelect.blur();

    // Other test images: those of the next seed.
    const firstLabel = page.getByTestId('attention-figure').locator('canvas').first();
    const before = await firstLabel.getAttribute('aria-label');
    await page.getByTestId('other-images').click();
    await page.waitForFunction(
      (label) => document.querySelector('[data-testid="attention-figure"] canvas')?.getAttribute('aria-label') !== label,
      before,
    );
    const next = await nodeFigure('all', 1);
    (await pageOverlays(page)).forEach((overlay, i) => assertSameImage(overlay, next.overlays[i]!, `figure image ${i} of seed 1`));

    const mistakes = page.getByTestId('confident-wrong').getByTestId('attention-item');
    assert.equal(await mistakes.count(), 9);
    await page.screenshot({ path: screenshotPath('inspect-look-inside') });
    await page.screenshot({ path: screenshotPath('inspect-look-inside-full'), fullPage: true });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});

test('a Hugging Face folder opens in the Model view with its config, layout and parameter count; the download is the model in seed names', async () => {
  const folder = join(dir, 'hf');
  mkdirSync(folder);
  writeFileSync(join(folder, 'config.json'), readFileSync(join(fixturesDir, 'hf-layout', 'hf_config.json')));
  writeFileSync(join(folder, 'model.safetensors'), readFileSync(join(fixturesDir, 'hf-layout', 'model.safetensors')));
  writeFileSync(join(folder, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.4, 0.5, 0.6], image_std: [0.2, 0.25, 0.3] }));
  const { page, consoleErrors, pageErrors, close } = await harness.open('#model');
  try {
    await page.getByTestId('model-folder-input').setInputFiles(folder);
    await page.getByTestId('model-name').filter({ hasText: 'hf/model.safetensors' }).waitFor();
    const info = await page.getByTestId('model-info').innerText();
    const loaded = loadCheckpoint(folder);
    const parameters = [...loaded.params.values()].reduce((sum, p) => sum + p.length, 0);
    assert.equal(await page.getByTestId('model-parameters').innerText(), parameters.toLocaleString('en-US'));
    assert.match(info, /Hugging Face's names/);
    assert.match(info, /mean 0\.4, 0\.5, 0\.6 · std 0\.2, 0\.25, 0\.3/);
    assert.match(info, /final_layernorm\s+true/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-current-model').click()]);
    const saved = join(dir, 'downloaded.safetensors');
    await download.saveAs(saved);
    const back = loadCheckpoint(saved);
    assert.equal(back.files.layout, 'seed');
    assert.deepEqual(back.config, loaded.config);
    for (const [name, values] of loaded.params) assert.deepEqual(back.params.get(name), values, name);
    await page.screenshot({ path: screenshotPath('inspect-model') });
    assert.deepEqual([...consoleErrors, ...pageErrors], []);
  } finally {
    await close();
  }
});

test('a corrupt .safetensors and a non-image dropped give one visible line naming the file, and the page goes on working', async () => {
  const corrupt = join(dir, 'broken.safetensors');
  writeFileSync(corrupt, readFileSync(modelPath).subarray(0, 1000));
  const { page, pageErrors, close } = await pageWithModel('classify');
  const error = page.getByTestId('error');
  try {
    await page.getByTestId('tab-model').click();
    await page.getByTestId('model-file-input').setInputFiles(corrupt);
    await error.filter({ hasText: 'broken.safetensors: ' }).waitFor();
    assert.doesNotMatch(await error.innerText(), /\n|at .*\(/, 'one line, no stack trace');
    // The model opened before is still the current one.
    assert.equal(await page.getByTestId('model-name').innerText(), 'model_final.safetensors');

    await page.getByTestId('tab-classify').click();
    await page.getByTestId('classify-drop').evaluate((zone) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['just some text'], 'notes.txt', { type: 'text/plain' }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    await error.filter({ hasText: 'notes.txt: cannot decode the image' }).waitFor();

    const predictions = await classifyInPage(page, pngs[0]!);
    assert.equal(predictions.length, 5);
    assert.equal(await error.isHidden(), true, 'a good image clears the error line');
    assert.deepEqual(pageErrors, []);
  } finally {
    await close();
  }
});

test('at phone width the views fit the screen and their controls are reached with Tab', async () => {
  const { page, close } = await harness.open('#classify', { viewport: { width: 390, height: 844 } });
  try {
    for (const view of ['classify', 'inside', 'model']) {
      await page.getByTestId(`tab-${view}`).click();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${view}: ${overflow} px wider than the screen`);
    }
    await page.getByTestId('tab-classify').click();
    await page.getByTestId('tab-classify').focus();
    const reached = new Set<string>();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.add(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    assert.ok(reached.has('Choose images'), [...reached].join(' | '));
    await page.screenshot({ path: screenshotPath('inspect-classify-phone'), fullPage: true });
  } finally {
    await close();
  }
});
