// The library API: loadModel from paths and values, classify on paths, bytes and raw pixels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as vit from '../src/index.js';
import { classify, classifyAll, loadModel, modelLabels, modelNormalization } from '../src/api.js';
import { resizeRgb, rawToRgb } from '../src/images.js';
import { getEngine } from '../src/runtime/engine.js';
import { UserError } from '../src/errors.js';
import { loadCheckpoint, saveCheckpoint } from '../src/weights/files.js';
import { fixturesDir, staticPackages } from './helpers.js';

const SEED_MODEL = join(fixturesDir, 'seed');
let dir: string;
let rgb: Uint8Array;
let png: string;

before(async () => {
  await getEngine({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'vit-api-'));
  // A 45×30 picture: smooth colours plus a diagonal edge, so resizing has work to do.
  rgb = new Uint8Array(45 * 30 * 3);
  for (let y = 0; y < 30; y++) {
    for (let x = 0; x < 45; x++) {
      const i = (y * 45 + x) * 3;
      rgb[i] = (x * 5) % 256;
      rgb[i + 1] = (y * 8) % 256;
      rgb[i + 2] = x > y ? 220 : 30;
    }
  }
  png = join(dir, 'picture.png');
  await sharp(rgb, { raw: { width: 45, height: 30, channels: 3 } })
    .png()
    .toFile(png);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('classify gives the same answer for a path, encoded bytes and raw pixels', async () => {
  const model = await loadModel(SEED_MODEL);
  const fromPath = await classify(model, png, { topK: 10 });
  const fromBytes = await classify(model, new Uint8Array(readFileSync(png)));
  const fromPixels = await classify(model, { data: rgb, width: 45, height: 30 }, { topK: 10 });
  assert.deepEqual(fromPath, fromPixels);
  assert.deepEqual(fromBytes, fromPath.slice(0, 5), 'topK defaults to 5');
  for (let i = 1; i < fromPath.length; i++) assert.ok(fromPath[i - 1]!.score >= fromPath[i]!.score);
  assert.ok(Math.abs(fromPath.reduce((s, c) => s + c.score, 0) - 1) < 1e-9);
  assert.deepEqual(Object.keys(fromPath[0]!).sort(), ['label', 'score']);
});

test('raw pixels may be RGBA or gray; RGBA drops alpha', async () => {
  const model = await loadModel(SEED_MODEL);
  const rgba = new Uint8Array(45 * 30 * 4);
  for (let p = 0; p < 45 * 30; p++) {
    rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
    rgba[p * 4 + 3] = p % 256;
  }
  assert.deepEqual(await classify(model, { data: rgba, width: 45, height: 30 }), await classify(model, png));
  const gray = rawToRgb({ data: new Uint8Array([10, 20, 30, 40]), width: 2, height: 2 });
  assert.deepEqual([...gray.data], [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
  await assert.rejects(classify(model, { data: new Uint8Array(7), width: 2, height: 2 }), UserError);
});

test('classifyAll batches many images and keeps their order', async () => {
  const model = await loadModel(SEED_MODEL);
  const flipped = new Uint8Array(rgb).reverse();
  const single = [await classify(model, png), await classify(model, { data: flipped, width: 45, height: 30 })];
  const many = await classifyAll(model, [png, { data: flipped, width: 45, height: 30 }, png]);
  assert.deepEqual(many, [single[0], single[1], single[0]]);
});

test('loadModel accepts { config, params }; class names default to CIFAR-10 for 10 classes, else LABEL_i', async () => {
  const { config, params } = loadCheckpoint(SEED_MODEL);
  const fromValues = await loadModel({ config, params });
  const fromPath = await loadModel(SEED_MODEL);
  assert.deepEqual(await classify(fromValues, png), await classify(fromPath, png));
  assert.deepEqual(await modelLabels(fromPath), ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);

  const five = await loadModel({
    config: { num_classes: 5, num_hidden_layers: 1 },
    params: await (await vit.ViTForClassification.create({ num_classes: 5, num_hidden_layers: 1 })).stateDict(),
  });
  assert.deepEqual(await modelLabels(five), ['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3', 'LABEL_4']);
  const named = await loadModel({ config: { ...config, labels: 'abcdefghij'.split('') }, params });
  assert.ok((await classify(named, png, { topK: 10 })).every(({ label }) => /^[a-j]$/.test(label)));

  await assert.rejects(loadModel(join(dir, 'nothing-here')), (e: unknown) => e instanceof UserError && /nothing-here/.test(e.message));
  await assert.rejects(classify(fromPath, png, { topK: 0 }), UserError);
  await assert.rejects(classify(fromPath, join(dir, 'missing.png')), /missing\.png: no such file/);
});

test("a model folder's preprocessor_config.json sets the normalization classify uses", async () => {
  const { config, params } = loadCheckpoint(join(fixturesDir, 'hf-layout'));
  const folder = join(dir, 'hf');
  saveCheckpoint(folder, config, params, { layout: 'hf', preprocessor: { mean: [0.4, 0.45, 0.5], std: [0.2, 0.25, 0.3] } });
  const model = await loadModel(folder);
  assert.deepEqual(await modelNormalization(model), { mean: [0.4, 0.45, 0.5], std: [0.2, 0.25, 0.3] });
  const plain = await loadModel({ config, params });
  assert.deepEqual(await modelNormalization(plain), { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.notDeepEqual(await classify(model, png, { topK: 10 }), await classify(plain, png, { topK: 10 }));
});

test('resizing averages when shrinking (antialiased bilinear) and keeps flat images flat', () => {
  const flat = { data: new Uint8Array(7 * 5 * 3).fill(123), width: 7, height: 5 };
  assert.ok(resizeRgb(flat, 32, 32).data.every((v) => v === 123));
  // A 1-pixel checkerboard shrunk by 2: away from the border (where the filter is cut off),
  // every output pixel covers black and white equally; nearest or plain bilinear would give 0 or 255.
  const checker = new Uint8Array(8 * 8 * 3);
  for (let p = 0; p < 64; p++) checker.fill(((p % 8) + Math.floor(p / 8)) % 2 ? 255 : 0, p * 3, p * 3 + 3);
  const half = resizeRgb({ data: checker, width: 8, height: 8 }, 4, 4);
  for (const [x, y] of [
    [1, 1],
    [1, 2],
    [2, 1],
    [2, 2],
  ] as const) {
    const v = half.data[(y * 4 + x) * 3]!;
    assert.ok(v === 127 || v === 128, `(${x}, ${y}): ${v}`);
  }
  assert.equal(resizeRgb(flat, 7, 5), flat, 'same size: no copy');
});

test('the package entry re-exports the API', () => {
  for (const name of [
    'loadModel',
    'classify',
    'ViTForClassification',
    'resolveConfig',
    'getEngine',
    'exportOnnx',
    'readSafetensors',
    'writeSafetensors',
  ] as const) {
    assert.equal(typeof vit[name], 'function', name);
  }
  assert.equal(vit.SEED_CONFIG.hidden_size, 48);
});

test('importing the API does not load sharp (it is loaded on first decode)', () => {
  const packages = staticPackages(fileURLToPath(new URL('../src/index.js', import.meta.url)));
  assert.ok(packages.size > 0 && [...packages].some((p) => p.startsWith('node:')), 'the scan finds imports');
  assert.ok(!packages.has('sharp'), `static imports reach: ${[...packages].join(', ')}`);
});

test('an image that is not PNG or JPEG is refused with its name', async () => {
  const model = await loadModel(SEED_MODEL);
  const bad = join(dir, 'notes.txt');
  writeFileSync(bad, 'hello');
  await assert.rejects(classify(model, bad), (e: unknown) => e instanceof UserError && e.message.startsWith(`${bad}: cannot decode`));
  await assert.rejects(classify(model, new Uint8Array([1, 2, 3])), /image bytes: cannot decode/);
});
