import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { UserError } from '../src/errors.js';
import {
  layoutAttentionFigure,
  renderAttentionFigure,
  writeAttentionFigure,
  type AttentionItem,
  type Box,
} from '../src/viz/attention-figure.js';
import { normalizeMinMax, upsampleBilinear } from '../src/viz/attention-map.js';

const root = mkdtempSync(join(tmpdir(), 'vit-viz-attention-'));
after(() => rmSync(root, { recursive: true, force: true }));

function assertClose(actual: Float32Array, expected: number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, index) => assert.ok(Math.abs(value - expected[index]!) <= tolerance, `[${index}] ${value} ≠ ${expected[index]}`));
}

/** A flat grey 32×32 image whose attention peaks at one patch of an 8×8 grid. */
function greyItem(title: string, correct: boolean | undefined, peak = { column: 2, row: 5 }): AttentionItem {
  const width = 32;
  const height = 32;
  const gridSize = 8;
  const attention = new Float32Array(gridSize * gridSize).fill(0.01);
  attention[peak.row * gridSize + peak.column] = 0.5;
  const item: AttentionItem = {
    image: new Uint8Array(width * height * 3).fill(128),
    width,
    height,
    attention,
    gridSize,
    title,
  };
  if (correct !== undefined) item.correct = correct;
  return item;
}

interface Picture {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

async function decode(png: Uint8Array): Promise<Picture> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return {
    pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

function pixelAt(picture: Picture, x: number, y: number): [number, number, number] {
  const index = (y * picture.width + x) * picture.channels;
  return [picture.pixels[index]!, picture.pixels[index + 1]!, picture.pixels[index + 2]!];
}

/** The clearly non-white pixels in a box: the title's glyphs. */
function inkIn(picture: Picture, box: Box): Array<[number, number, number]> {
  const ink: Array<[number, number, number]> = [];
  for (let y = box.y; y < box.y + box.height; y++) {
    for (let x = box.x; x < box.x + box.width; x++) {
      const rgb = pixelAt(picture, x, y);
      if (rgb[0] + rgb[1] + rgb[2] < 450) ink.push(rgb);
    }
  }
  return ink;
}

test('upsampleBilinear matches PyTorch (align_corners=False) on 2×2 → 4×4 and 2×2 → 3×3', () => {
  const map = Float32Array.from([1, 2, 3, 4]);
  // torch.nn.functional.interpolate(tensor([[[[1., 2.], [3., 4.]]]]), size=4, mode='bilinear')
  assertClose(upsampleBilinear(map, 2, 4, 4), [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0]);
  // Source coordinates for size 3 are (−1/6 → 0), 1/2, 7/6 (→ last cell).
  assertClose(upsampleBilinear(map, 2, 3, 3), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
});

test('upsampleBilinear keeps constant maps constant, is the identity at the same size, and handles non-square output', () => {
  assertClose(upsampleBilinear(new Float32Array(64).fill(0.25), 8, 32, 32), new Array(32 * 32).fill(0.25));
  assertClose(upsampleBilinear(Float32Array.from([7]), 1, 5, 3), new Array(15).fill(7));
  const ramp = Float32Array.from({ length: 16 }, (_, index) => index * 0.5);
  assertClose(upsampleBilinear(ramp, 4, 4, 4), [...ramp]);
  const wide = upsampleBilinear(map2x2(), 2, 6, 2);
  assert.equal(wide.length, 12);
  assertClose(wide.subarray(0, 6), [1, 1, 1.3333333, 1.6666667, 2, 2], 1e-5);
  assert.throws(() => upsampleBilinear(new Float32Array(5), 2, 4, 4), RangeError);
});

function map2x2(): Float32Array {
  return Float32Array.from([1, 2, 3, 4]);
}

test('normalizeMinMax spans [0, 1] and turns a constant map into zeros', () => {
  assertClose(normalizeMinMax(Float32Array.from([2, 4, 3, 6])), [0, 0.5, 0.25, 1]);
  assertClose(normalizeMinMax(new Float32Array(4).fill(0.3)), [0, 0, 0, 0]);
});

test('the figure has the laid-out size: 30 items in 5 columns make 6 rows; 32×32 images drawn at 128×128', async () => {
  const items = Array.from({ length: 30 }, (_, index) => greyItem(`item ${index}`, index % 2 === 0));
  const layout = layoutAttentionFigure(items, { columns: 5 });
  assert.equal(layout.columns, 5);
  assert.equal(layout.rows, 6);
  for (const item of layout.items) {
    assert.deepEqual([item.image.width, item.image.height, item.overlay.width, item.overlay.height], [128, 128, 128, 128]);
    assert.ok(item.overlay.x >= item.image.x + item.image.width, 'overlay must be right of the image');
    assert.ok(item.title.y + item.title.height <= item.image.y, 'title must be above the image');
  }
  // Row 2 sits below row 1; item 5 starts a new row in the first column.
  assert.equal(layout.items[5]!.image.x, layout.items[0]!.image.x);
  assert.ok(layout.items[5]!.title.y > layout.items[0]!.image.y + 128);
  const picture = await decode(await renderAttentionFigure(items, { columns: 5 }));
  assert.deepEqual([picture.width, picture.height], [layout.width, layout.height]);
  assert.ok(layout.width >= 5 * 2 * 128 && layout.height >= 6 * 128);
});

test('columns default to 5 (or fewer items), and scale overrides the zoom', () => {
  const three = [greyItem('a', true), greyItem('b', true), greyItem('c', true)];
  assert.equal(layoutAttentionFigure(three).columns, 3);
  assert.equal(layoutAttentionFigure([...three, ...three, ...three]).columns, 5);
  const seven = layoutAttentionFigure([...three, ...three, three[0]!], { columns: 3 });
  assert.deepEqual([seven.columns, seven.rows], [3, 3]);
  const doubled = layoutAttentionFigure(three, { scale: 2 });
  assert.equal(doubled.items[0]!.image.width, 64);
  assert.equal(doubled.items[0]!.scale, 2);
});

test('titles are green for correct, red for wrong, black without ground truth', async () => {
  const items = [greyItem('gt: cat / pred: cat', true), greyItem('gt: cat / pred: dog', false), greyItem('pred: ship', undefined)];
  const layout = layoutAttentionFigure(items);
  const picture = await decode(await renderAttentionFigure(items));
  const [greenInk, redInk, blackInk] = layout.items.map((item) => inkIn(picture, item.title));
  for (const ink of [greenInk!, redInk!, blackInk!]) assert.ok(ink.length > 30, 'title has too few ink pixels');
  const share = (ink: Array<[number, number, number]>, test: (rgb: [number, number, number]) => boolean): number =>
    ink.filter(test).length / ink.length;
  assert.ok(share(greenInk!, ([r, g, b]) => g > r + 40 && g > b + 40) > 0.8, 'correct title is not green');
  assert.ok(share(redInk!, ([r, g, b]) => r > g + 40 && r > b + 40) > 0.8, 'wrong title is not red');
  assert.ok(share(blackInk!, ([r, g, b]) => Math.max(r, g, b) - Math.min(r, g, b) < 30) > 0.9, 'plain title is not black');
});

test('the image panel is the image zoomed by nearest neighbour; the overlay is red where attention peaks', async () => {
  const item = greyItem('gt: frog / pred: frog', true, { column: 6, row: 1 });
  // Give the image some structure so nearest-neighbour zoom is checkable.
  for (let pixel = 0; pixel < 32 * 32; pixel++) item.image[pixel * 3] = (pixel * 37) & 255;
  const {
    items: [box],
  } = layoutAttentionFigure([item]);
  const picture = await decode(await renderAttentionFigure([item]));
  const { image, overlay, scale } = box!;
  for (const [x, y] of [
    [0, 0],
    [5, 9],
    [127, 127],
    [64, 3],
  ] as const) {
    const source = (Math.floor(y / scale) * 32 + Math.floor(x / scale)) * 3;
    assert.deepEqual(pixelAt(picture, image.x + x, image.y + y), [...item.image.subarray(source, source + 3)]);
  }
  let differing = 0;
  for (let y = 0; y < image.height; y += 4) {
    for (let x = 0; x < image.width; x += 4) {
      const plain = pixelAt(picture, image.x + x, image.y + y);
      const tinted = pixelAt(picture, overlay.x + x, overlay.y + y);
      if (plain.some((value, channel) => Math.abs(value - tinted[channel]!) > 10)) differing++;
    }
  }
  assert.ok(differing > 0.9 * (image.width / 4) * (image.height / 4), 'overlay looks like the plain image');

  // Centre of patch (column 6, row 1): 4-pixel patches, zoomed.
  const patchPixels = (32 / 8) * scale;
  const [r, g, b] = pixelAt(picture, overlay.x + 6.5 * patchPixels, overlay.y + 1.5 * patchPixels);
  assert.ok(r > g + 40 && r > b + 40, `peak is not red: ${[r, g, b]}`);
  // Far from the peak attention is lowest: blue.
  const far = pixelAt(picture, overlay.x + 1.5 * patchPixels, overlay.y + 6.5 * patchPixels);
  assert.ok(far[2] > far[0] + 40 && far[2] > far[1] + 40, `low attention is not blue: ${far}`);
});

test('images of other sizes are zoomed to at least 128 px and centred in their cell', () => {
  const small: AttentionItem = { ...greyItem('small', true), image: new Uint8Array(16 * 16 * 3), width: 16, height: 16 };
  const layout = layoutAttentionFigure([greyItem('big', true), small]);
  assert.equal(layout.items[1]!.scale, 8);
  assert.equal(layout.items[1]!.image.width, 128);
  const wide: AttentionItem = { ...greyItem('wide', true), image: new Uint8Array(40 * 20 * 3), width: 40, height: 20 };
  const mixed = layoutAttentionFigure([greyItem('a', true), wide]);
  assert.deepEqual([mixed.items[1]!.image.width, mixed.items[1]!.image.height], [160, 80]);
});

test('bad input is refused', async () => {
  await assert.rejects(renderAttentionFigure([]), UserError);
  assert.throws(() => layoutAttentionFigure([greyItem('a', true)], { columns: 0 }), UserError);
  assert.throws(() => layoutAttentionFigure([greyItem('a', true)], { scale: 1.5 }), UserError);
  const shortImage = { ...greyItem('short', true), image: new Uint8Array(10) };
  assert.throws(() => layoutAttentionFigure([shortImage]), /short.*image has 10 bytes/);
  const badGrid = { ...greyItem('grid', true), gridSize: 7 };
  assert.throws(() => layoutAttentionFigure([badGrid]), /attention has 64 values/);
  const nan = greyItem('nan', true);
  nan.attention[3] = Number.NaN;
  assert.throws(() => layoutAttentionFigure([nan]), /non-finite/);
  const jpg = join(root, 'attention.jpg');
  await assert.rejects(
    writeAttentionFigure([greyItem('a', true)], jpg),
    (error: unknown) => error instanceof UserError && error.message.includes(jpg),
  );
  assert.equal(existsSync(jpg), false);
});

test('writeAttentionFigure writes a PNG', async () => {
  const path = join(root, 'attention.png');
  await writeAttentionFigure([greyItem('a', true), greyItem('b', false)], path);
  const picture = await decode(new Uint8Array(await sharp(path).png().toBuffer()));
  assert.ok(picture.width > 2 * 2 * 128);
});
