import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import { SEED_CONFIG, resolveConfig } from '../src/model/config.js';
import { fromHfConfig, toHfConfig } from '../src/weights/hf-config.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/hf-layout/', import.meta.url));
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>;
const CIFAR = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

test('fromHfConfig reads the fixture into the same config as its seed-format config.json', () => {
  const config = fromHfConfig(readJson('hf_config.json'), 'hf_config.json');
  assert.deepEqual(config, { ...resolveConfig(readJson('config.json')), labels: CIFAR });
  assert.equal(config.final_layernorm, true);
  assert.equal(config.hidden_act, 'gelu');
  assert.equal(config.layer_norm_eps, 1e-12);
});

test('toHfConfig writes the same keys and values as tools/pytorch (layouts.hf_config)', () => {
  const json = readJson('hf_config.json');
  assert.deepEqual(toHfConfig(fromHfConfig(json, 'hf_config.json')), json);
  assert.deepEqual(Object.keys(toHfConfig(fromHfConfig(json, 'x'))), Object.keys(json));
});

test('defaults follow transformers; default label names are dropped and regenerated', () => {
  const config = fromHfConfig({ model_type: 'vit' }, 'c.json');
  assert.equal(config.hidden_size, 768);
  assert.equal(config.image_size, 224);
  assert.equal(config.patch_size, 16);
  assert.equal(config.num_classes, 2);
  assert.equal(config.layer_norm_eps, 1e-12);
  assert.equal(config.qkv_bias, true);
  assert.equal(config.initializer_range, 0.02);
  assert.equal(config.labels, undefined);
  assert.equal(fromHfConfig({ model_type: 'vit', num_labels: 5 }, 'c').num_classes, 5);
  const generic = fromHfConfig({ model_type: 'vit', id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' } }, 'c');
  assert.equal(generic.num_classes, 3);
  assert.equal(generic.labels, undefined);
  const seedHf = toHfConfig(SEED_CONFIG);
  assert.equal(seedHf['hidden_act'], 'gelu_new');
  assert.deepEqual(seedHf['id2label'], Object.fromEntries(Array.from({ length: 10 }, (_, i) => [String(i), `LABEL_${i}`])));
  assert.equal((seedHf['label2id'] as Record<string, number>)['LABEL_7'], 7);
  assert.equal(fromHfConfig({ model_type: 'vit', hidden_act: 'gelu_pytorch_tanh' }, 'c').hidden_act, 'gelu_new');
  assert.equal(fromHfConfig({ model_type: 'vit', image_size: [32, 32], patch_size: [4, 4] }, 'c').image_size, 32);
});

test('bad configs are UserErrors naming the file and key', () => {
  const bad = (json: Record<string, unknown>, pattern: RegExp): void => {
    assert.throws(
      () => fromHfConfig(json, 'hub/config.json'),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(e.message, /^hub\/config\.json: /);
        assert.match(e.message, pattern);
        return true;
      },
    );
  };
  bad({ model_type: 'deit' }, /"model_type" must be "vit"/);
  bad({}, /"model_type"/);
  bad({ model_type: 'vit', hidden_act: 'relu' }, /"hidden_act" "relu"/);
  bad({ model_type: 'vit', id2label: { 0: 'a', 2: 'b' } }, /"id2label" key "2"/);
  bad({ model_type: 'vit', image_size: [32, 16] }, /"image_size".*not square/);
  bad({ model_type: 'vit', hidden_size: 100 }, /"hidden_size"/);
});
