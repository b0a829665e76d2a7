import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import { encodeSafetensors, readSafetensors, readSafetensorsHeader } from '../src/io/safetensors.js';
import { resolveConfig } from '../src/model/config.js';
import { parameterSpecs } from '../src/model/parameters.js';
import { fromHfConfig } from '../src/weights/hf-config.js';
import { loadCheckpoint, resolveModelPath, saveCheckpoint } from '../src/weights/files.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

function withTemp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'vit-files-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const userError =
  (pattern: RegExp) =>
  (e: unknown): boolean => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, pattern);
    return true;
  };

test('a fixture folder and its weights file resolve to the same model', () => {
  const dir = join(FIXTURES, 'seed');
  const expected = resolveConfig(readJson(join(dir, 'config.json')));
  const files = resolveModelPath(dir);
  assert.equal(files.weightsPath, join(dir, 'weights.safetensors'));
  assert.equal(files.layout, 'seed');
  assert.deepEqual(files.config, expected);
  assert.equal(files.preprocessor, undefined);
  assert.deepEqual(resolveModelPath(join(dir, 'weights.safetensors')), files);
  assert.deepEqual(resolveModelPath(join(dir, 'config.json')), files);
  const { config, params } = loadCheckpoint(dir);
  assert.deepEqual(config, expected);
  assert.equal(params.get('classifier.weight')!.length, 10 * 48);
});

test('the hf-layout fixture: both files give the same parameters', () => {
  const dir = join(FIXTURES, 'hf-layout');
  const hf = loadCheckpoint(join(dir, 'model.safetensors'));
  assert.equal(hf.files.layout, 'hf');
  const seed = loadCheckpoint(dir);
  assert.equal(seed.files.layout, 'seed');
  assert.deepEqual(hf.params, seed.params);
  assert.equal(hf.config.final_layernorm, true);
});

test('a Hugging Face folder: config.json with model_type, model.safetensors, preprocessor_config.json', () => {
  withTemp((dir) => {
    copyFileSync(join(FIXTURES, 'hf-layout', 'model.safetensors'), join(dir, 'model.safetensors'));
    copyFileSync(join(FIXTURES, 'hf-layout', 'hf_config.json'), join(dir, 'config.json'));
    writeFileSync(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({
        do_normalize: true,
        image_mean: [0.485, 0.456, 0.406],
        image_std: [0.229, 0.224, 0.225],
        size: { height: 16, width: 16 },
      }),
    );
    const { config, params, files } = loadCheckpoint(dir);
    assert.equal(files.layout, 'hf');
    assert.deepEqual(config, fromHfConfig(readJson(join(dir, 'config.json')), 'x'));
    assert.equal(config.labels?.[0], 'airplane');
    assert.deepEqual(files.preprocessor, { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], size: 16 });
    assert.deepEqual(params, loadCheckpoint(join(FIXTURES, 'hf-layout')).params);
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ image_mean: 0.5, image_std: [0.5], size: 16 }));
    assert.deepEqual(resolveModelPath(dir).preprocessor, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], size: 16 });
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.5] }));
    assert.throws(() => resolveModelPath(dir), userError(/preprocessor_config\.json: "image_mean" has 2 values/));
    rmSync(join(dir, 'preprocessor_config.json'));
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'pytorch_model.bin'), '');
    assert.throws(() => resolveModelPath(dir), userError(/pytorch_model\.bin.*only safetensors/));
  });
});

test('an experiment folder: model_final, else the latest epoch; nested "model" config and extra keys', () => {
  withTemp((dir) => {
    const weights = join(FIXTURES, 'img16-h24-heads3', 'weights.safetensors');
    const model = readJson(join(FIXTURES, 'img16-h24-heads3', 'config.json'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model, training: { epochs: 12, lr: 0.01 }, seed: 3 }));
    for (const epoch of [2, 10, 9]) copyFileSync(weights, join(dir, `model_${epoch}.safetensors`));
    assert.equal(resolveModelPath(dir).weightsPath, join(dir, 'model_10.safetensors'));
    assert.deepEqual(resolveModelPath(dir).config, resolveConfig(model));
    copyFileSync(weights, join(dir, 'model_final.safetensors'));
    assert.equal(resolveModelPath(dir).weightsPath, join(dir, 'model_final.safetensors'));
    // Flat seed keys beside the run's settings under "training" (as vit train writes config.json) work too…
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...model, training: { epochs: 12, batch_size: 256 } }));
    assert.deepEqual(resolveModelPath(dir).config, resolveConfig(model));
    // …but a misspelt key is an error naming the file, with the key it was probably meant to be.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...model, hiden_size: 64 }));
    assert.throws(
      () => resolveModelPath(dir),
      (e: unknown) =>
        e instanceof UserError && e.message === `${join(dir, 'config.json')}: unknown config key "hiden_size"; did you mean "hidden_size"?`,
    );
  });
});

test("a run with no model file yet: its training checkpoint's parameters, without the optimizer's state", () => {
  withTemp((dir) => {
    const fixture = join(FIXTURES, 'img16-h24-heads3');
    const { config, params } = loadCheckpoint(fixture);
    // As train/checkpoint.ts lays it out: the parameters under "model.", AdamW's moments beside them.
    const tensors: [string, { shape: number[]; data: Float32Array }][] = [];
    for (const { name, shape } of parameterSpecs(config)) {
      const data = params.get(name)!;
      tensors.push([`model.${name}`, { shape, data }]);
      tensors.push([`adamw.m.${name}`, { shape, data: new Float32Array(data.length).fill(7) }]);
    }
    const checkpoint = join(dir, 'checkpoint.safetensors');
    writeFileSync(checkpoint, encodeSafetensors(tensors, { format: 'vit-ts-training-checkpoint', config: JSON.stringify(config) }));
    for (const path of [dir, checkpoint]) {
      const loaded = loadCheckpoint(path);
      assert.equal(loaded.files.weightsPath, checkpoint);
      assert.deepEqual(loaded.config, config);
      assert.deepEqual(loaded.params, params);
    }
    // A saved model, once there, is preferred to the checkpoint.
    copyFileSync(join(fixture, 'weights.safetensors'), join(dir, 'model_1.safetensors'));
    assert.equal(resolveModelPath(dir).weightsPath, join(dir, 'model_1.safetensors'));
  });
});

test('a lone .safetensors file takes its config from its metadata', () => {
  withTemp((dir) => {
    const path = join(dir, 'ckpt.safetensors');
    copyFileSync(join(FIXTURES, 'patch2-gray-heads5', 'weights.safetensors'), path);
    const { config, files } = loadCheckpoint(path);
    assert.deepEqual(config, resolveConfig(readJson(join(FIXTURES, 'patch2-gray-heads5', 'config.json'))));
    assert.equal(files.layout, 'seed');
    // A folder with one weights file and no config.json works the same.
    assert.deepEqual(resolveModelPath(dir), files);
  });
});

test('saveCheckpoint writes seed, fused and hf layouts that load back identically', () => {
  withTemp((dir) => {
    const { config, params } = loadCheckpoint(join(FIXTURES, 'hf-layout'));
    const seedPath = join(dir, 'seed.safetensors');
    saveCheckpoint(seedPath, config, params, { metadata: { epoch: '3' } });
    const seedFile = readSafetensors(seedPath);
    assert.deepEqual(JSON.parse(seedFile.metadata['config']!), config);
    assert.equal(seedFile.metadata['epoch'], '3');
    assert.deepEqual(
      new Set(seedFile.tensors.keys()),
      new Set(readSafetensors(join(FIXTURES, 'hf-layout', 'weights.safetensors')).tensors.keys()),
    );
    assert.deepEqual(loadCheckpoint(seedPath).params, params);

    const fusedPath = join(dir, 'fused.safetensors');
    saveCheckpoint(fusedPath, config, params, { layout: 'fused' });
    assert.equal(resolveModelPath(fusedPath).layout, 'fused');
    assert.deepEqual(loadCheckpoint(fusedPath).params, params);

    const hfDir = join(dir, 'hf-export');
    saveCheckpoint(hfDir, config, params, { layout: 'hf', preprocessor: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } });
    assert.deepEqual(readdirSync(hfDir).sort(), ['config.json', 'model.safetensors', 'preprocessor_config.json']);
    assert.equal(readJson(join(hfDir, 'config.json'))['model_type'], 'vit');
    assert.equal(readSafetensorsHeader(join(hfDir, 'model.safetensors')).metadata['format'], 'pt');
    const loaded = loadCheckpoint(hfDir);
    assert.equal(loaded.files.layout, 'hf');
    assert.deepEqual(loaded.params, params);
    assert.deepEqual(loaded.files.preprocessor, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], size: 16 });
    assert.deepEqual(
      new Set(readSafetensors(join(hfDir, 'model.safetensors')).tensors.keys()),
      new Set(readSafetensors(join(FIXTURES, 'hf-layout', 'model.safetensors')).tensors.keys()),
    );
  });
});

test('errors name the path and say what was expected', () => {
  withTemp((dir) => {
    assert.throws(() => resolveModelPath(join(dir, 'nope')), userError(/nope: no such file or folder; expected a \.safetensors file/));
    assert.throws(() => resolveModelPath(dir), userError(/no model weights found; expected/));
    writeFileSync(join(dir, 'notes.txt'), 'hi');
    assert.throws(() => resolveModelPath(join(dir, 'notes.txt')), userError(/notes\.txt: not a \.safetensors file/));
    writeFileSync(join(dir, 'config.json'), '{"hidden_size": 48,');
    assert.throws(() => resolveModelPath(dir), userError(/config\.json: not valid JSON/));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: { hidden_size: 50 } }));
    assert.throws(() => resolveModelPath(dir), userError(/config\.json \("model"\): "hidden_size" must be divisible/));
    rmSync(join(dir, 'config.json'));
    const bare = join(dir, 'bare.safetensors');
    writeFileSync(bare, encodeSafetensors([['embedding.cls_token', { shape: [1, 1, 48], data: new Float32Array(48) }]]));
    assert.throws(() => resolveModelPath(bare), userError(/bare\.safetensors: no config\.json beside it and no "config"/));
    copyFileSync(join(FIXTURES, 'seed', 'weights.safetensors'), join(dir, 'a.safetensors'));
    assert.throws(
      () => resolveModelPath(dir),
      userError(/cannot tell which weights to load among (a|bare)\.safetensors, (a|bare)\.safetensors/),
    );
    // Weights that do not fit the config beside them.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ num_hidden_layers: 2 }));
    assert.throws(
      () => loadCheckpoint(join(dir, 'a.safetensors')),
      userError(/a\.safetensors: does not match .*unexpected tensor "encoder\.blocks\.2/),
    );
    const seed = loadCheckpoint(join(FIXTURES, 'seed'));
    assert.throws(
      () => saveCheckpoint(join(dir, 'notes.txt'), seed.config, seed.params),
      userError(/notes\.txt: exists and is not a folder/),
    );
    assert.throws(() => saveCheckpoint(join(dir, 'seed-hf'), seed.config, seed.params, { layout: 'hf' }), userError(/final LayerNorm/));
  });
});
