import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { UserError } from '../src/errors.js';
import {
  METRIC_COLOURS,
  renderMetricsPng,
  metricsSpec,
  renderMetricsSvg,
  validateMetrics,
  writeMetricsFigure,
  type Metrics,
} from '../src/viz/metrics-plot.js';
import { FIGURE_PNG_ZOOM } from '../src/viz/vega-figure.js';

const root = mkdtempSync(join(tmpdir(), 'vit-viz-plot-'));
after(() => rmSync(root, { recursive: true, force: true }));

function sampleMetrics(epochs = 12): Metrics {
  const metrics: Metrics = { train_losses: [], test_losses: [], accuracies: [] };
  for (let epoch = 0; epoch < epochs; epoch++) {
    metrics.train_losses.push(2 * Math.exp(-epoch / 4) + 0.3);
    metrics.test_losses.push(1.8 * Math.exp(-epoch / 5) + 0.6);
    metrics.accuracies.push(0.3 + 0.5 * (1 - Math.exp(-epoch / 4)));
  }
  return metrics;
}

function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

/** How many pixels of RGBA `pixels` are within `tolerance` of `colour` in every channel. */
function countNear(pixels: Uint8Array, channels: number, colour: [number, number, number], tolerance = 12): number {
  let count = 0;
  for (let i = 0; i < pixels.length; i += channels) {
    if (
      Math.abs(pixels[i]! - colour[0]) <= tolerance &&
      Math.abs(pixels[i + 1]! - colour[1]) <= tolerance &&
      Math.abs(pixels[i + 2]! - colour[2]) <= tolerance
    ) {
      count++;
    }
  }
  return count;
}

function isUserErrorNaming(key: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof UserError && error.message.includes(`"${key}"`);
}

test('the SVG has the title, both panel titles, axis titles and legend entries', async () => {
  const svg = await renderMetricsSvg(sampleMetrics(), 'vit-seed-run');
  assert.match(svg, /^<svg/);
  for (const text of ['vit-seed-run', 'Loss', 'Accuracy', 'Epoch', 'Test accuracy', 'Train loss', 'Test loss']) {
    assert.ok(svg.includes(`>${text}</text>`), `missing text "${text}"`);
  }
  // Accuracies are fractions, shown as percentages.
  assert.match(svg, />\d+%<\/text>/);
});

test('a title with markup characters is escaped in the SVG', async () => {
  const svg = await renderMetricsSvg(sampleMetrics(3), 'lr<1e-3 & "big"');
  assert.ok(svg.includes('lr&lt;1e-3 &amp;'), 'title not escaped');
});

test('the PNG is wide, white-backed, and both loss lines and the accuracy line are drawn', async () => {
  const metrics = sampleMetrics();
  const [png, svg] = await Promise.all([renderMetricsPng(metrics, 'run'), renderMetricsSvg(metrics, 'run')]);
  const svgWidth = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1]);
  const svgHeight = Number(/^<svg[^>]*\sheight="([\d.]+)"/.exec(svg)?.[1]);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, Math.round(svgWidth * FIGURE_PNG_ZOOM));
  assert.equal(info.height, Math.round(svgHeight * FIGURE_PNG_ZOOM));
  assert.ok(info.width >= 1000, `only ${info.width} px wide`);
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Top-left corner is background: opaque white.
  assert.deepEqual([...pixels.subarray(0, info.channels)], info.channels === 4 ? [255, 255, 255, 255] : [255, 255, 255]);
  for (const [name, colour] of Object.entries(METRIC_COLOURS)) {
    const count = countNear(pixels, info.channels, hexToRgb(colour));
    assert.ok(count > 500, `${name} line (${colour}) has only ${count} pixels`);
  }
  // Text was drawn (fonts were found): plenty of near-black pixels.
  assert.ok(countNear(pixels, info.channels, [0, 0, 0], 60) > 1000, 'no text in the PNG');
});

test('the accuracy axis labels differ even when a short run moves by under a percent', async () => {
  const svg = await renderMetricsSvg(
    { train_losses: [2.2, 2.1, 2.0, 1.9, 1.8], test_losses: [2.2, 2.1, 2.05, 2.0, 1.95], accuracies: [0.2, 0.205, 0.21, 0.215, 0.22] },
    'short',
  );
  const labels = [...svg.matchAll(/>(\d+(?:\.\d+)?)%<\/text>/g)].map((m) => m[1]!);
  assert.ok(labels.length >= 3, `accuracy ticks: ${labels.join(', ')}`);
  assert.equal(new Set(labels).size, labels.length, `accuracy ticks repeat: ${labels.join(', ')}`);
});

test('a single epoch still renders', async () => {
  const svg = await renderMetricsSvg({ train_losses: [2.1], test_losses: [2.0], accuracies: [0.25] }, 'one');
  assert.ok(svg.includes('>one</text>'));
});

test('bad metrics are refused with a UserError naming the key', async () => {
  const good = sampleMetrics(3);
  const cases: Array<[unknown, string]> = [
    [{ ...good, train_losses: undefined }, 'train_losses'],
    [{ ...good, test_losses: 'nope' }, 'test_losses'],
    [{ ...good, accuracies: [0.1, '0.2', 0.3] }, 'accuracies'],
    [{ ...good, train_losses: [1, null, 2] }, 'train_losses'],
    [{ ...good, accuracies: [0.1, null, 1.5] }, 'accuracies'],
    [{ ...good, train_losses: [1, Number.NaN, 2] }, 'train_losses'],
    [{ ...good, test_losses: [1, 2] }, 'test_losses'],
    [{ ...good, accuracies: [0.1, 0.2, 0.3, 0.4] }, 'accuracies'],
    [{ ...good, accuracies: [10, 20, 30] }, 'accuracies'],
    [{ train_losses: [], test_losses: [], accuracies: [] }, 'train_losses'],
  ];
  for (const [bad, key] of cases) {
    assert.throws(() => validateMetrics(bad, 'runs/x/metrics.json'), isUserErrorNaming(key), key);
    await assert.rejects(renderMetricsSvg(bad as Metrics, 't'), isUserErrorNaming(key), key);
  }
  assert.throws(
    () => validateMetrics([1, 2], 'runs/x/metrics.json'),
    (error: unknown) => error instanceof UserError && error.message.startsWith('runs/x/metrics.json'),
  );
  // Extra keys in metrics.json are fine.
  assert.deepEqual(validateMetrics({ ...good, learning_rates: [1, 2, 3] }).accuracies, good.accuracies);
});

test('writeMetricsFigure picks PNG or SVG by extension and refuses others', async () => {
  const metrics = sampleMetrics(4);
  await writeMetricsFigure(metrics, 'run', join(root, 'metrics.png'));
  await writeMetricsFigure(metrics, 'run', join(root, 'metrics.SVG'));
  const png = readFileSync(join(root, 'metrics.png'));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  assert.match(readFileSync(join(root, 'metrics.SVG'), 'utf8'), /^<svg/);
  const jpg = join(root, 'metrics.jpg');
  await assert.rejects(
    writeMetricsFigure(metrics, 'run', jpg),
    (error: unknown) => error instanceof UserError && error.message.includes(jpg),
  );
  assert.equal(existsSync(jpg), false);
  assert.deepEqual(readdirSync(root).sort(), ['metrics.SVG', 'metrics.png']);
});

test('epochs not evaluated (null) have no test points: the rows skip them instead of drawing 0', async () => {
  const metrics: Metrics = {
    train_losses: [2.0, 1.8, 1.6, 1.5],
    test_losses: [null, 1.9, null, 1.7],
    accuracies: [null, 0.31, null, 0.42],
  };
  const spec = metricsSpec(validateMetrics(metrics), 'every other') as unknown as { hconcat: { data: { values: object[] } }[] };
  const [losses, accuracy] = spec.hconcat.map((panel) => panel.data.values);
  assert.deepEqual(accuracy, [
    { epoch: 2, accuracy: 0.31 },
    { epoch: 4, accuracy: 0.42 },
  ]);
  assert.deepEqual(
    losses!.filter((row) => (row as { series: string }).series === 'Test loss'),
    [
      { epoch: 2, series: 'Test loss', value: 1.9 },
      { epoch: 4, series: 'Test loss', value: 1.7 },
    ],
  );
  assert.equal(losses!.length, 4 + 2);
  assert.match(await renderMetricsSvg(metrics, 'every other'), /^<svg/);
});

test("the curves keep clear of the panels' frames, even when the best accuracy falls on a round tick", async () => {
  // 80% is a tick of the axis: without room the line ran along the top edge.
  const svg = await renderMetricsSvg(
    { train_losses: [2, 1.5, 1.2, 1], test_losses: [2, 1.6, 1.3, 1.1], accuracies: [0.2, 0.4, 0.6, 0.8] },
    'edges',
  );
  const height = Number(/<path class="background"[^>]* d="M0\.5,0\.5h[\d.]+v([\d.]+)h/.exec(svg)?.[1]);
  assert.ok(height > 100, `panel height ${height}`);
  const lines = [...svg.matchAll(/aria-roledescription="line mark" d="([^"]+)" stroke="(#[0-9a-f]{6})"/g)];
  assert.deepEqual(lines.map((m) => m[2]).sort(), Object.values(METRIC_COLOURS).sort());
  for (const [, path, colour] of lines) {
    const ys = [...path!.matchAll(/[ML][-\d.]+,([-\d.]+)/g)].map((m) => Number(m[1]));
    assert.ok(
      Math.min(...ys) >= 4 && Math.max(...ys) <= height - 4,
      `${colour}: y from ${Math.min(...ys)} to ${Math.max(...ys)} in a ${height}-pixel panel`,
    );
  }
});
