// `vit predict` on generated PNG and JPEG files: output shapes, ordering, probabilities, bad files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { BatchMaker } from '../src/data/augment.js';
import { Random } from '../src/random.js';
import { getEngine } from '../src/runtime/engine.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { ViTForClassification } from '../src/model/vit.js';
import { CLI, fixturesDir } from './helpers.js';

const SEED_MODEL = join(fixturesDir, 'seed');
const IMAGES = 3;

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface JsonEntry {
  file: string;
  predictions: { label: string; score: number }[];
}

let dir: string;
/** Test image i of the bundled sample as interleaved RGB bytes. */
const samples: Buffer[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vit-predict-'));
  const set = readCifar10(sampleDataDir(), 'test');
  for (let i = 0; i < IMAGES; i++) {
    const planes = set.images.subarray(i * 3072, (i + 1) * 3072);
    const rgb = Buffer.alloc(3072);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = planes[c * 1024 + p]!;
    samples.push(rgb);
    const raw = { raw: { width: 32, height: 32, channels: 3 as const } };
    await sharp(rgb, raw)
      .png()
      .toFile(join(dir, `image${i}.png`));
    // Another size and a lossy format: predict must resize and decode it.
    await sharp(rgb, raw)
      .resize(77, 50)
      .jpeg({ quality: 90 })
      .toFile(join(dir, `image${i}.jpg`));
  }
  writeFileSync(join(dir, 'corrupt.png'), Buffer.from('\x89PNG\r\n\x1a\n but not really'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('--json prints one entry per file, top-k sorted by score, probabilities summing to at most 1', () => {
  const files = [join(dir, 'image0.png'), join(dir, 'image1.jpg'), join(dir, 'image2.png')];
  const { status, stdout, stderr } = vit('predict', '--model', SEED_MODEL, '--json', '--top-k', '4', ...files);
  assert.equal(status, 0, stderr);
  const entries = JSON.parse(stdout) as JsonEntry[];
  assert.deepEqual(
    entries.map((e) => e.file),
    files,
  );
  const cifar = new Set(readCifar10(sampleDataDir(), 'test').classNames);
  for (const { predictions } of entries) {
    assert.equal(predictions.length, 4);
    for (let i = 1; i < predictions.length; i++) assert.ok(predictions[i - 1]!.score >= predictions[i]!.score, 'sorted by score');
    for (const { label, score } of predictions) {
      assert.ok(cifar.has(label), `${label} is a CIFAR-10 class`);
      assert.ok(score > 0 && score < 1);
    }
    assert.equal(new Set(predictions.map((p) => p.label)).size, 4, 'no class twice');
    assert.ok(predictions.reduce((s, p) => s + p.score, 0) <= 1 + 1e-9);
  }
});

test('the probabilities are the softmax of the model on the decoded pixels', async () => {
  const { stdout } = vit('predict', '--model', SEED_MODEL, '--json', '--top-k', '10', join(dir, 'image0.png'));
  const [entry] = JSON.parse(stdout) as JsonEntry[];
  // The same image through the data pipeline and the model in-process.
  const { config, params } = loadCheckpoint(SEED_MODEL);
  const model = await ViTForClassification.create(config, { engine: await getEngine({ threads: 1 }) });
  model.loadStateDict(params);
  const set = readCifar10(sampleDataDir(), 'test');
  new BatchMaker(32, 3, {}, new Random(0)).fill(model.imageBuffer(1), set, [0], 0, 1, false);
  model.forward(1);
  const logits = await model.readLogits();
  const max = Math.max(...logits);
  const exps = Array.from(logits, (l) => Math.exp(l - max));
  const total = exps.reduce((a, b) => a + b, 0);
  for (const { label, score } of entry!.predictions) {
    const expected = exps[set.classNames.indexOf(label)]! / total;
    assert.ok(Math.abs(score - expected) < 1e-6, `${label}: ${score} vs ${expected}`);
  }
});

test('text output: each file, then k lines of percentage and label, best first', () => {
  const { status, stdout } = vit('predict', '--model', SEED_MODEL, '--top-k', '3', join(dir, 'image0.png'), join(dir, 'image0.jpg'));
  assert.equal(status, 0);
  const blocks = stdout.trim().split('\n\n');
  assert.equal(blocks.length, 2);
  for (const [i, block] of blocks.entries()) {
    const [file, ...lines] = block.split('\n');
    assert.equal(file, join(dir, i === 0 ? 'image0.png' : 'image0.jpg'));
    assert.equal(lines.length, 3);
    const percentages = lines.map((line) => {
      const m = /^\s+(\d+\.\d\d)%\s+(\S.*)$/.exec(line);
      assert.ok(m, `line "${line}"`);
      return Number(m[1]);
    });
    assert.deepEqual(
      percentages,
      [...percentages].sort((a, b) => b - a),
    );
  }
});

test('--top-k larger than the number of classes gives every class, and says so', () => {
  const { stdout, stderr } = vit('predict', '--model', SEED_MODEL, '--json', '--top-k', '50', join(dir, 'image1.png'));
  assert.equal(stderr, 'vit: --top-k 50: the model has 10 classes; showing all 10\n');
  const [entry] = JSON.parse(stdout) as JsonEntry[];
  assert.equal(entry!.predictions.length, 10);
  assert.ok(Math.abs(entry!.predictions.reduce((s, p) => s + p.score, 0) - 1) < 1e-9);
});

test('a file that cannot be decoded is named on stderr, the others are still predicted, and the exit status is 1', () => {
  const corrupt = join(dir, 'corrupt.png');
  const missing = join(dir, 'missing.png');
  const good = join(dir, 'image2.jpg');
  const json = vit('predict', '--model', SEED_MODEL, '--json', corrupt, good, missing);
  assert.equal(json.status, 1);
  assert.deepEqual(
    (JSON.parse(json.stdout) as JsonEntry[]).map((e) => e.file),
    [good],
  );
  assert.match(json.stderr, new RegExp(`^vit: ${escape(corrupt)}: cannot decode`, 'm'));
  assert.match(json.stderr, new RegExp(`^vit: ${escape(missing)}: no such file`, 'm'));
  // One line per unreadable file, and nothing more.
  assert.equal(json.stderr.trimEnd().split('\n').length, 2, json.stderr);
  assert.doesNotMatch(json.stderr, /\n\s+at /, 'no stack trace');

  const text = vit('predict', '--model', SEED_MODEL, good, corrupt);
  assert.equal(text.status, 1);
  assert.ok(text.stdout.startsWith(`${good}\n`));
  assert.ok(!text.stdout.includes(corrupt));
});

test('a bad --top-k is refused, naming the flag', () => {
  const { status, stderr } = vit('predict', '--model', SEED_MODEL, '--top-k', 'three', join(dir, 'image0.png'));
  assert.equal(status, 1);
  assert.match(stderr, /^vit: --top-k must be a positive whole number \(got "three"\)/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
