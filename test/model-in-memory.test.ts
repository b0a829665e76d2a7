// Opening a model from bytes in memory (as the page does) gives what `--model` loads from disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/errors.js';
import { encodeSafetensors, parseSafetensors } from '../src/io/safetensors-format.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { modelFromFiles } from '../src/weights/model-in-memory.js';
import { fixturesDir } from './helpers.js';

const file = (name: string, path: string): { name: string; bytes: Uint8Array } => ({ name, bytes: readFileSync(path) });

function assertSameParams(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort());
  for (const [name, values] of expected) assert.deepEqual(actual.get(name), values, name);
}

test('a seed-layout .safetensors with its config in the metadata opens as loadCheckpoint reads it', () => {
  const path = join(fixturesDir, 'seed', 'weights.safetensors');
  const opened = modelFromFiles([file('weights.safetensors', path)]);
  const loaded = loadCheckpoint(path);
  assert.equal(opened.layout, 'seed');
  assert.equal(opened.name, 'weights.safetensors');
  assert.deepEqual(opened.config, loaded.config);
  assertSameParams(opened.params, loaded.params);
});

test('a Hugging Face folder (config.json + model.safetensors + preprocessor_config.json) opens as loadCheckpoint reads it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-in-memory-'));
  try {
    writeFileSync(join(dir, 'config.json'), readFileSync(join(fixturesDir, 'hf-layout', 'hf_config.json')));
    writeFileSync(join(dir, 'model.safetensors'), readFileSync(join(fixturesDir, 'hf-layout', 'model.safetensors')));
    writeFileSync(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({ image_mean: [0.4, 0.5, 0.6], image_std: 0.25, size: { height: 16, width: 16 } }),
    );
    const opened = modelFromFiles(
      ['config.json', 'model.safetensors', 'preprocessor_config.json'].map((n) => file(`hf/${n}`, join(dir, n))),
    );
    const loaded = loadCheckpoint(dir);
    assert.equal(opened.layout, 'hf');
    assert.equal(opened.name, 'hf/model.safetensors');
    assert.deepEqual(opened.config, loaded.config);
    assert.deepEqual(opened.preprocessor, { mean: [0.4, 0.5, 0.6], std: [0.25, 0.25, 0.25], size: 16 });
    assert.deepEqual(opened.preprocessor, loaded.files.preprocessor);
    assertSameParams(opened.params, loaded.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an experiment folder still training (config.json + checkpoint.safetensors) opens as --model reads it: the parameters without the optimizer state', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-in-memory-'));
  try {
    const { tensors } = parseSafetensors(readFileSync(join(fixturesDir, 'seed', 'weights.safetensors')), 'seed weights');
    const checkpoint = new Map([...tensors].map(([name, t]) => [`model.${name}`, { shape: t.shape, data: t.data as Float32Array }]));
    checkpoint.set('optimizer.step', { shape: [1], data: Float32Array.of(3) });
    writeFileSync(join(dir, 'checkpoint.safetensors'), encodeSafetensors(checkpoint));
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ model: JSON.parse(readFileSync(join(fixturesDir, 'seed', 'config.json'), 'utf8')), training: { epochs: 5 } }),
    );
    writeFileSync(join(dir, 'metrics.json'), '{}');
    const opened = modelFromFiles(['metrics.json', 'checkpoint.safetensors', 'config.json'].map((n) => file(`run/${n}`, join(dir, n))));
    const loaded = loadCheckpoint(dir);
    assert.equal(opened.name, 'run/checkpoint.safetensors');
    assert.equal(opened.layout, 'seed');
    assert.deepEqual(opened.config, loaded.config);
    assertSameParams(opened.params, loaded.params);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input is a UserError that names the file', () => {
  const corrupt = { name: 'broken.safetensors', bytes: new TextEncoder().encode('not a safetensors file at all') };
  assert.throws(
    () => modelFromFiles([corrupt]),
    (e: unknown) => e instanceof UserError && e.message.startsWith('broken.safetensors: '),
  );
  const noConfig = file('model.safetensors', join(fixturesDir, 'hf-layout', 'model.safetensors'));
  assert.throws(
    () => modelFromFiles([noConfig]),
    (e: unknown) => e instanceof UserError && /^model\.safetensors: .*config/.test(e.message),
  );
  assert.throws(
    () => modelFromFiles([{ name: 'notes.txt', bytes: new Uint8Array(3) }]),
    (e: unknown) => e instanceof UserError && e.message.startsWith('notes.txt: no .safetensors'),
  );
});
