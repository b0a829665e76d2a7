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
import { type AttentionItem, layoutAttentionFigure } from '../src/viz/attention-figure.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { CLI, fixturesDir } from './helpers.js';

const SEED_MODEL = join(fixturesDir, 'seed');

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The figure's expected size for `count` items of side × side images (8 × 8 patch grids). */
function expectedSize(count: number, side: number): { width: number; height: number } {
  const item: AttentionItem = { image: new Uint8Array(side * side * 3), width: side, height: side, attention: new Float32Array(64), gridSize: 8, title: 'x' };
  return layoutAttentionFigure(Array.from({ length: count }, () => item));
}

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
  const { width, height } = expectedSize(4, 32);
  assert.deepEqual([meta.width, meta.height], [width, height]);
});

test('user images of any size are drawn at the model size, for one chosen block', async () => {
  const picture = join(dir, 'wide.jpg');
  await sharp({ create: { width: 90, height: 40, channels: 3, background: { r: 200, g: 80, b: 20 } } }).jpeg().toFile(picture);
  const out = join(dir, 'mine.png');
  const { status, stderr } = vit('attention', '--model', SEED_MODEL, '--layer', '3', '--out', out, picture, picture, picture);
  assert.equal(status, 0, stderr);
  const meta = await sharp(out).metadata();
  assert.deepEqual([meta.width, meta.height], [expectedSize(3, 32).width, expectedSize(3, 32).height]);
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
  const perLayer = [0, 1, 2, 3].map((layer) => clsAttentionMaps(model, batch, layer));
  for (let layer = 0; layer < 4; layer++) {
    const probabilities = model.attentions(layer);
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
  const all = clsAttentionMaps(model, batch, 'all');
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < 64; p++) {
      const mean = perLayer.reduce((s, maps) => s + maps[b]![p]!, 0) / 4;
      assert.ok(Math.abs(all[b]![p]! - mean) < 1e-6);
    }
  }
});

test('bad requests are refused with the reason and exit 1', () => {
  const out = join(dir, 'refused.png');
  const both = vit('attention', '--model', SEED_MODEL, '--sample', '--out', out, join(dir, 'wide.jpg'));
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
