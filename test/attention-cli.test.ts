// `vit attention`: the [CLS] attention maps and the figure written from test or user images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readSafetensors } from '../src/io/safetensors.js';
import { clsAttentionMaps } from '../src/model/cls-attention.js';
import { ViTForClassification } from '../src/model/vit.js';
import { getEngine } from '../src/runtime/engine.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { CLI, fixturesDir } from './helpers.js';

const SEED_MODEL = join(fixturesDir, 'seed');

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Each image and its overlay are drawn at least this many pixels on a side (whole multiples of the model's 32). */
const PANEL = 128;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vit-attention-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('--sample --n 4 writes a PNG of the expected size', async () => {
  const out = join(dir, 'sample.png');
  const { status, stdout, stderr } = vit('attention', '--model', SEED_MODEL, '--sample', '--n', '4', '--out', out);
  assert.equal(status, 0, stderr);
  assert.match(stdout, /4 images/);
  const meta = await sharp(out).metadata();
  assert.equal(meta.format, 'png');
  // One row of four items, each an image and its overlay side by side.
  assert.ok(meta.width! >= 4 * 2 * PANEL && meta.width! < 5 * 2 * PANEL, `width ${meta.width}`);
  assert.ok(meta.height! > PANEL && meta.height! < 2 * PANEL, `height ${meta.height}`);
});

test('user images of any size are drawn at the model size, for one chosen block', async () => {
  // A flat colour stays that colour through the resize to 32×32, so its pixels in the figure show
  // where and how large each image was drawn: three squares of PANEL × PANEL in one row.
  const colour = { r: 200, g: 80, b: 20 };
  const picture = join(dir, 'wide.png');
  await sharp({ create: { width: 90, height: 40, channels: 3, background: colour } })
    .png()
    .toFile(picture);
  const out = join(dir, 'mine.png');
  const { status, stderr } = vit('attention', '--model', SEED_MODEL, '--layer', '3', '--out', out, picture, picture, picture);
  assert.equal(status, 0, stderr);
  const { data, info } = await sharp(out).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const columns = new Set<number>();
  const rows = new Set<number>();
  let count = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      if (data[i] === colour.r && data[i + 1] === colour.g && data[i + 2] === colour.b) {
        count++;
        columns.add(x);
        rows.add(y);
      }
    }
  }
  assert.equal(count, 3 * PANEL * PANEL);
  assert.equal(rows.size, PANEL, 'one row of squares PANEL high');
  assert.equal(columns.size, 3 * PANEL, 'three squares PANEL wide');
  assert.ok(info.width >= 3 * 2 * PANEL && info.height < 2 * PANEL, `${info.width}×${info.height}`);
});

test('the maps are row 0 of the attention without [CLS], averaged over heads; "all" averages the blocks', async () => {
  const { config, params } = loadCheckpoint(SEED_MODEL);
  const model = await ViTForClassification.create(config, { engine: await getEngine({ threads: 1 }) });
  model.loadStateDict(params);
  const input = readSafetensors(join(fixturesDir, 'seed', 'reference.safetensors')).tensors.get('input')!;
  const batch = 2;
  model.setImages(input.data as Float32Array, batch);
  model.forward(batch);
  const tokens = 65;
  const heads = config.num_attention_heads;
  const perLayer = await Promise.all([0, 1, 2, 3].map((layer) => clsAttentionMaps(model, batch, layer)));
  for (let layer = 0; layer < 4; layer++) {
    const probabilities = await model.attentions(layer);
    for (let b = 0; b < batch; b++) {
      const map = perLayer[layer]![b]!;
      assert.equal(map.length, 64);
      for (const p of [0, 17, 63]) {
        let sum = 0;
        for (let h = 0; h < heads; h++) sum += probabilities[(b * heads + h) * tokens * tokens + 1 + p]!;
        assert.ok(Math.abs(map[p]! - sum / heads) < 1e-7);
      }
      // Without the [CLS] column the row sums to a little less than 1.
      const total = map.reduce((s, v) => s + v, 0);
      assert.ok(total > 0 && total < 1 + 1e-6);
    }
  }
  const all = await clsAttentionMaps(model, batch, 'all');
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < 64; p++) {
      const mean = perLayer.reduce((s, maps) => s + maps[b]![p]!, 0) / 4;
      assert.ok(Math.abs(all[b]![p]! - mean) < 1e-6);
    }
  }
});

test('bad requests are refused with the reason and exit 1', () => {
  const out = join(dir, 'refused.png');
  const both = vit('attention', '--model', SEED_MODEL, '--sample', '--out', out, join(dir, 'wide.png'));
  assert.equal(both.status, 1);
  assert.match(both.stderr, /^vit: give exactly one of --data DIR, --sample, or image files/);
  const layer = vit('attention', '--model', SEED_MODEL, '--sample', '--layer', '4', '--out', out);
  assert.equal(layer.status, 1);
  assert.match(layer.stderr, /^vit: --layer must be "all" or a block from 0 to 3 \(got "4"\)/);
  const svg = vit('attention', '--model', SEED_MODEL, '--sample', '--out', join(dir, 'figure.svg'));
  assert.match(svg.stderr, /^vit: .*\.png/);
  const data = vit('attention', '--model', SEED_MODEL, '--data', join(dir, 'no-such-folder'), '--out', out);
  assert.equal(data.status, 1);
  assert.match(data.stderr, /no-such-folder/);
  assert.ok(!existsSync(out));
});
