// The browser entry point (vit-ts/browser) reaches no Node module and runs a model from bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as browser from '../src/browser.js';
import { fixturesDir, staticPackages, assertClose } from './helpers.js';
import { readSafetensors } from '../src/io/safetensors.js';

test('the browser entry imports no node: module', () => {
  const packages = staticPackages(fileURLToPath(new URL('../src/browser.js', import.meta.url)));
  const nodeModules = [...packages].filter((p) => p.startsWith('node:'));
  assert.deepEqual(nodeModules, [], `static imports reach: ${nodeModules.join(', ')}`);
});

test("a model loads from safetensors bytes through the browser entry and gives PyTorch's logits", async () => {
  const dir = join(fixturesDir, 'seed');
  const { tensors, metadata } = browser.parseSafetensors(readFileSync(join(dir, 'weights.safetensors')), 'weights');
  const config = browser.resolveConfig(JSON.parse(metadata.config!) as Record<string, unknown>);
  const engine = await browser.createEngine({ threads: 1 });
  try {
    const model = await browser.ViTForClassification.create(config, { engine });
    model.loadStateDict(browser.toCanonical(tensors, config, 'weights'));
    const ref = readSafetensors(join(dir, 'reference.safetensors')).tensors;
    const input = ref.get('input')!.data as Float32Array;
    const batch = ref.get('input')!.shape[0]!;
    model.setImages(input, batch);
    assertClose(await model.infer(batch), ref.get('logits')!.data as Float32Array, 'logits');
  } finally {
    engine.close();
  }
});
