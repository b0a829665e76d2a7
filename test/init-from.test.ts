// Fine-tuning from a pretrained checkpoint in Hugging Face's layout: a fresh classifier, position
// embeddings interpolated to a new patch grid, forbidden changes refused, and `vit train --init-from`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../src/errors.js';
import { type ViTConfig, resolveConfig } from '../src/model/config.js';
import { resizeBicubic } from '../src/model/interpolate.js';
import { parameterSpecs, sizeOf } from '../src/model/parameters.js';
import { Random } from '../src/random.js';
import { loadCheckpoint, saveCheckpoint } from '../src/weights/files.js';
import { settingsFromJson } from '../src/train/settings.js';
import { initFrom } from '../src/weights/init-from.js';
import { CLI } from './helpers.js';

const HIDDEN = 16;
const LABELS = ['ant', 'bee', 'cat', 'dog', 'eel', 'fox', 'gnu'];
/** A small ViT shaped like google/vit-base-patch16-224: final LayerNorm, exact GELU, named classes. */
const PRETRAINED: ViTConfig = resolveConfig({
  image_size: 16,
  patch_size: 4,
  hidden_size: HIDDEN,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  num_classes: 7,
  labels: LABELS,
  final_layernorm: true,
  hidden_act: 'gelu',
  layer_norm_eps: 1e-12,
});
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const CLASSIFIER = ['classifier.weight', 'classifier.bias'];
/** The pretrained config with `changes`, without its class names (they belong to the old classifier). */
const relabelled = (changes: Partial<ViTConfig>): ViTConfig => {
  const config: ViTConfig = { ...PRETRAINED, ...changes };
  delete config.labels;
  return config;
};
const POSITIONS = 'embedding.position_embeddings';

let root: string;
let modelDir: string;
/** The checkpoint's tensors as written. */
let original: Map<string, Float32Array>;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'vit-init-from-'));
  modelDir = join(root, 'pretrained');
  const rng = new Random(11);
  original = new Map(
    parameterSpecs(PRETRAINED).map((spec) => {
      const base = spec.init === 'ones' ? 1 : 0;
      return [spec.name, Float32Array.from({ length: sizeOf(spec.shape) }, () => base + 0.2 * rng.normal())];
    }),
  );
  saveCheckpoint(modelDir, PRETRAINED, original, { layout: 'hf', preprocessor: { mean: MEAN, std: STD } });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('initFrom', () => {
  it('reads the Hugging Face folder as written, with its normalization', () => {
    const { config, params, preprocessor, changes } = initFrom(modelDir);
    assert.deepEqual(config, PRETRAINED);
    assert.deepEqual(changes, []);
    for (const [name, tensor] of original) assert.deepEqual(params.get(name), tensor, name);
    assert.deepEqual(preprocessor?.mean, MEAN);
    assert.deepEqual(preprocessor?.std, STD);
  });

  it('num_classes 10: every other tensor bit-identical, a fresh seeded classifier, the old labels dropped', () => {
    const { config, params } = initFrom(modelDir, { num_classes: 10 }, { seed: 5 });
    assert.deepEqual(config, relabelled({ num_classes: 10 }));
    assert.deepEqual([...params.keys()].sort(), [...original.keys()].sort());
    for (const [name, tensor] of original) if (!CLASSIFIER.includes(name)) assert.deepEqual(params.get(name), tensor, name);
    // The seed's Linear initialization: weights drawn from normal(0, initializer_range = 0.02), zero bias.
    // 160 draws: the sample mean is within 4 standard errors of 0 and the sample deviation within 20% of 0.02.
    const weight = params.get('classifier.weight')!;
    assert.equal(weight.length, 10 * HIDDEN);
    const mean = weight.reduce((a, w) => a + w, 0) / weight.length;
    const std = Math.sqrt(weight.reduce((a, w) => a + (w - mean) ** 2, 0) / (weight.length - 1));
    assert.ok(Math.abs(mean) < (4 * 0.02) / Math.sqrt(weight.length), `mean ${mean}`);
    assert.ok(std > 0.016 && std < 0.024, `standard deviation ${std}`);
    assert.deepEqual(params.get('classifier.bias'), new Float32Array(10));
    // Seeded: the same seed draws the same classifier, another seed another one.
    assert.deepEqual(initFrom(modelDir, { num_classes: 10 }, { seed: 5 }).params.get('classifier.weight'), weight);
    assert.notDeepEqual(initFrom(modelDir, { num_classes: 10 }, { seed: 6 }).params.get('classifier.weight'), weight);
  });

  it('keeps the classifier and labels when the classes stay; takes new labels when given', () => {
    const same = initFrom(modelDir, { num_classes: 7, hidden_dropout_prob: 0.1 });
    assert.deepEqual(same.config.labels, LABELS);
    assert.equal(same.config.hidden_dropout_prob, 0.1);
    assert.deepEqual(same.params.get('classifier.weight'), original.get('classifier.weight'));
    const names = Array.from({ length: 10 }, (_, i) => `class ${i}`);
    assert.deepEqual(initFrom(modelDir, { num_classes: 10, labels: names }).config.labels, names);
    assert.throws(
      () => initFrom(modelDir, { num_classes: 10, labels: LABELS }),
      (e: unknown) => e instanceof UserError && /"labels"/.test(e.message),
    );
  });

  it('image_size 32: [CLS] position kept, the 4×4 grid of patch positions resized bicubically to 8×8', () => {
    const { config, params, changes } = initFrom(modelDir, { image_size: 32 });
    assert.equal(config.image_size, 32);
    assert.match(changes.join('\n'), /4×4 to 8×8/);
    const before = original.get(POSITIONS)!;
    const after = params.get(POSITIONS)!;
    assert.equal(after.length, 65 * HIDDEN, '[1, 65, hidden]');
    assert.deepEqual(after.subarray(0, HIDDEN), before.subarray(0, HIDDEN), 'the [CLS] row');
    assert.deepEqual(after.subarray(HIDDEN), resizeBicubic(before.subarray(HIDDEN), HIDDEN, 4, 4, 8, 8));
    for (const [name, tensor] of original) if (name !== POSITIONS) assert.deepEqual(params.get(name), tensor, name);
    // By hand: the output's corner weighs patches (0, 0), (0, 1), (1, 0), (1, 1) (rows of 4) by 1.10546875 and
    // −0.10546875 along each axis (see interpolate.test.ts)
    const corner =
      1.10546875 ** 2 * before[HIDDEN]! -
      1.10546875 * 0.10546875 * (before[2 * HIDDEN]! + before[5 * HIDDEN]!) +
      0.10546875 ** 2 * before[6 * HIDDEN]!;
    assert.ok(Math.abs(after[HIDDEN]! - corner) < 1e-5, `${after[HIDDEN]} vs ${corner}`);
  });

  it('refuses to change what the trained weights fix, naming the key', () => {
    const forbidden: Partial<ViTConfig>[] = [
      { hidden_size: 32 },
      { num_hidden_layers: 3 },
      { num_attention_heads: 4 },
      { intermediate_size: 64 },
      { patch_size: 8 },
      { num_channels: 1 },
      { qkv_bias: false },
      { hidden_act: 'gelu_new' },
      { final_layernorm: false },
      { layer_norm_eps: 1e-5 },
    ];
    for (const overrides of forbidden) {
      const key = Object.keys(overrides)[0]!;
      assert.throws(
        () => initFrom(modelDir, { num_classes: 10, ...overrides }, { source: '--config' }),
        (e: unknown) => e instanceof UserError && e.message.includes(`"${key}"`) && e.message.startsWith('--config'),
        key,
      );
    }
    // the checkpoint's own values may be repeated
    assert.equal(initFrom(modelDir, { hidden_size: HIDDEN, hidden_act: 'gelu', patch_size: 4 }).config.hidden_size, HIDDEN);
  });

  it("an image size the patches do not divide is the config's error", () => {
    assert.throws(
      () => initFrom(modelDir, { image_size: 30 }),
      (e: unknown) => e instanceof UserError && /"image_size"/.test(e.message),
    );
  });
});

describe('vit train --init-from', () => {
  const vit = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const overrides = { num_classes: 10, image_size: 32 };

  it('fine-tunes on the sample for an epoch: the whole model moves, the run records its origin and normalization', () => {
    const out = join(root, 'experiments');
    const { status, stdout, stderr } = vit(
      'train',
      '--exp-name',
      'ft',
      '--out',
      out,
      '--init-from',
      modelDir,
      '--config',
      JSON.stringify(overrides),
      '--sample',
      '--train-samples',
      '64',
      '--test-samples',
      '32',
      '--batch-size',
      '32',
      '--epochs',
      '1',
    );
    assert.equal(status, 0, stderr);
    assert.match(stdout, /Fine-tuning .*a fresh classifier for 10 classes.*interpolated from 4×4 to 8×8/);
    const dir = join(out, 'ft');
    assert.ok(existsSync(join(dir, 'model_final.safetensors')));

    const initial = initFrom(modelDir, overrides).params;
    const trained = loadCheckpoint(join(dir, 'model_final.safetensors'));
    assert.deepEqual(trained.config, relabelled(overrides));
    for (const [name, start] of initial) {
      if (CLASSIFIER.includes(name)) continue;
      const now = trained.params.get(name)!;
      assert.equal(now.length, start.length, name);
      assert.ok(
        now.some((v, i) => v !== start[i]),
        `${name} did not move`,
      );
    }

    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { training: Record<string, unknown> };
    assert.equal(config.training['init_from'], resolve(modelDir));
    assert.deepEqual(config.training['mean'], MEAN);
    assert.deepEqual(config.training['std'], STD);
    // eval and predict normalize the fine-tuned model as it was trained
    assert.deepEqual(trained.files.preprocessor?.mean, MEAN);
    assert.deepEqual(trained.files.preprocessor?.std, STD);
    const evaluated = vit('eval', '--model', dir, '--sample', '--json');
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.equal((JSON.parse(evaluated.stdout) as { images: number }).images, 500);

    // Runs saved before --init-from existed lack these settings: they were trained from scratch at 0.5 / 0.5
    const older = { ...config.training };
    for (const key of ['init_from', 'mean', 'std']) delete older[key];
    const settings = settingsFromJson(older, 'an older checkpoint');
    assert.deepEqual([settings.initFrom, settings.mean, settings.std], [null, [0.5], [0.5]]);
  });

  it('refuses --init-from with --resume, and a forbidden --config key', () => {
    const both = vit(
      'train',
      '--exp-name',
      'x',
      '--out',
      join(root, 'experiments'),
      '--init-from',
      modelDir,
      '--resume',
      join(root, 'experiments', 'ft'),
      '--sample',
    );
    assert.equal(both.status, 1);
    assert.match(both.stderr, /--init-from and --resume/);
    const wider = vit(
      'train',
      '--exp-name',
      'y',
      '--out',
      join(root, 'experiments'),
      '--init-from',
      modelDir,
      '--config',
      '{"hidden_size": 32}',
      '--sample',
    );
    assert.equal(wider.status, 1);
    assert.match(wider.stderr, /"hidden_size"/);
    assert.ok(!existsSync(join(root, 'experiments', 'y')), 'no experiment folder left behind');
  });

  it('a checkpoint without preprocessor_config.json trains with 0.5 / 0.5', () => {
    const bare = join(root, 'bare');
    saveCheckpoint(bare, PRETRAINED, original, { layout: 'hf' });
    const out = join(root, 'experiments');
    const { status, stderr } = vit(
      'train',
      '--exp-name',
      'bare',
      '--out',
      out,
      '--init-from',
      bare,
      '--config',
      '{"num_classes":10}',
      '--sample',
      '--train-samples',
      '32',
      '--test-samples',
      '32',
      '--batch-size',
      '32',
      '--epochs',
      '1',
    );
    assert.equal(status, 0, stderr);
    const config = JSON.parse(readFileSync(join(out, 'bare', 'config.json'), 'utf8')) as { training: Record<string, unknown> };
    assert.deepEqual([config.training['mean'], config.training['std']], [[0.5], [0.5]]);
    assert.ok(!existsSync(join(out, 'bare', 'preprocessor_config.json')));
  });
});
