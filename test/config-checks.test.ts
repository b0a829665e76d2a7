// Hostile model configs (issue #12, items 2 and 5): unknown keys are errors with the key meant,
// and a config too big for the engine is refused in one line before anything is allocated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../src/errors.js';
import { closestName, editDistance } from '../src/did-you-mean.js';
import { SEED_CONFIG, activationFloatsPerImage, parameterCount, resolveConfig } from '../src/model/config.js';
import { parameterSpecs, sizeOf } from '../src/model/parameters.js';
import { ViTForClassification } from '../src/model/vit.js';
import { getEngine } from '../src/runtime/engine.js';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { fromHfConfig } from '../src/weights/hf-config.js';
import { interpretConfig } from '../src/weights/model-config.js';
import { fixturesDir } from './helpers.js';

const userError =
  (pattern: RegExp) =>
  (e: unknown): boolean =>
    e instanceof UserError && pattern.test(e.message);

test('edit distance: the textbook cases', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('flaw', 'lawn'), 2);
  assert.equal(editDistance('same', 'same'), 0);
  assert.equal(closestName('hiden_size', ['hidden_size', 'image_size']), 'hidden_size');
  assert.equal(closestName('foo', ['hidden_size', 'image_size']), undefined);
});

test('an unknown config key is an error naming the source, with the key meant when one is close', () => {
  assert.throws(
    () => resolveConfig({ hiden_size: 64 }, '--config'),
    userError(/^--config: unknown config key "hiden_size"; did you mean "hidden_size"\?$/),
  );
  assert.throws(
    () => resolveConfig({ num_layers: 2 }, 'config.json'),
    userError(/^config\.json: unknown config key "num_layers" \(known: patch_size, /),
  );
  assert.throws(() => resolveConfig({ Patch_Size: 8 }, 'x'), userError(/did you mean "patch_size"/));
  // An experiment's config.json carries the run's settings under "training": not an unknown key there.
  const seed = JSON.parse(readFileSync(join(fixturesDir, 'seed', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(interpretConfig({ ...seed, training: { epochs: 3 } }, 'config.json').config, resolveConfig(seed));
  assert.throws(() => interpretConfig({ ...seed, epochs: 3 }, 'config.json'), userError(/^config\.json: unknown config key "epochs"/));
});

test("Hugging Face configs keep loading with transformers' many other keys", () => {
  const hf = {
    model_type: 'vit',
    architectures: ['ViTForImageClassification'],
    encoder_stride: 16,
    torch_dtype: 'float32',
    transformers_version: '4.40.0',
    problem_type: 'single_label_classification',
    label2id: { a: 0, b: 1 },
    id2label: { 0: 'a', 1: 'b' },
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    image_size: 32,
    patch_size: 8,
  };
  const config = fromHfConfig(hf, 'config.json');
  assert.equal(config.hidden_size, 64);
  assert.deepEqual(config.labels, ['a', 'b']);
});

test("the parameter count is the sum of the model's tensors, for every fixture config and ViT-B/16", () => {
  const configs = ['seed', 'hf-layout', 'patch2-gray-heads5', 'patch8-h32-nobias', 'img16-h24-heads3'].map((name) =>
    resolveConfig(JSON.parse(readFileSync(join(fixturesDir, name, 'config.json'), 'utf8')) as Record<string, unknown>),
  );
  for (const c of configs)
    assert.equal(
      parameterCount(c),
      parameterSpecs(c).reduce((sum, s) => sum + sizeOf(s.shape), 0),
    );
  // google/vit-base-patch16-224 has 86,567,656 parameters with its 1000 classes (transformers' num_parameters()).
  const base = resolveConfig({
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    image_size: 224,
    patch_size: 16,
    num_classes: 1000,
    final_layernorm: true,
    hidden_act: 'gelu',
  });
  assert.equal(parameterCount(base), 86_567_656);
  // The seed's 4 blocks of 4 heads over T = (32/4)² + 1 = 65 tokens, 48 wide with a 192-wide MLP:
  // 4 × (4·65² attention probabilities + 65 × (8·48 + 2·192) rows) = 4 × (16,900 + 49,920) floats.
  assert.equal(activationFloatsPerImage(SEED_CONFIG), 267_280);
});

test('absurd sizes are refused at once, naming the key, before any memory is taken', async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ num_hidden_layers: 1_000_000 }, 'num_hidden_layers'],
    [{ hidden_size: 4_000_000, num_attention_heads: 4 }, 'hidden_size'],
    [{ intermediate_size: 2 ** 40 }, 'intermediate_size'],
    [{ image_size: 100_000, patch_size: 4 }, 'image_size'],
    [{ num_classes: 1e12 }, 'num_classes'],
    [{ patch_size: 65_536, image_size: 65_536 }, 'patch_size'],
  ];
  // The issue's `num_hidden_layers: 1000000` ran 150 s into an out-of-memory abort. Refused first, it takes
  // no memory: the engine's memory keeps its size (a count, not a time, so a busy machine cannot fail it).
  const engine = await getEngine();
  if (!(engine instanceof WasmEngine)) throw new Error('the default engine runs on WebAssembly');
  for (const [overrides, key] of cases) {
    const before: number = engine.memory.buffer.byteLength;
    await assert.rejects(
      ViTForClassification.create(overrides, { engine }),
      userError(new RegExp(`^config: "${key}" .* makes the model too big: .* more than the 4\\.00 GiB a WebAssembly engine can hold$`)),
    );
    assert.equal(engine.memory.buffer.byteLength, before, `${key}: no memory taken`);
  }
  // ViT-L/16 at 384 (305M parameters) is big but fits.
  assert.doesNotThrow(() =>
    resolveConfig({
      hidden_size: 1024,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      intermediate_size: 4096,
      image_size: 384,
      patch_size: 16,
    }),
  );
});

test('running out of engine memory says how much is needed and what the engine holds, with no CLI flag in a library error', async () => {
  const model = await ViTForClassification.create({});
  try {
    // 2 million images of the seed's 32×32×3 floats: 23 GiB of input.
    assert.throws(
      () => model.imageBuffer(2_000_000),
      userError(
        /^out of WebAssembly memory: \d+ MiB needed, more than the 4096 MiB this engine can hold; a smaller batch or model needs less$/,
      ),
    );
  } finally {
    model.release();
  }
});
