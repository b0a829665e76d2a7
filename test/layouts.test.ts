import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../src/errors.js';
import { type Tensor, readSafetensors } from '../src/io/safetensors.js';
import { resolveConfig, type ViTConfig } from '../src/model/config.js';
import { parameterSpecs } from '../src/model/parameters.js';
import { detectLayout, fromCanonical, toCanonical } from '../src/weights/layouts.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const FIXTURE_NAMES = ['seed', 'heads6-hs6-wide-init', 'hf-layout', 'img16-h24-heads3', 'patch2-gray-heads5', 'patch8-h32-nobias'];

function fixture(name: string, file = 'weights.safetensors'): { config: ViTConfig; tensors: Map<string, Tensor>; path: string } {
  const dir = join(FIXTURES, name);
  const config = resolveConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>, 'config.json');
  const path = join(dir, file);
  return { config, tensors: readSafetensors(path).tensors, path };
}

const asF32 = (m: Map<string, { shape: number[]; data: Float32Array }>): Map<string, Tensor> =>
  new Map([...m].map(([n, t]) => [n, { dtype: 'F32', shape: t.shape, data: t.data }]));

test('detectLayout tells the three layouts apart', () => {
  assert.equal(detectLayout(fixture('seed').tensors.keys()), 'seed');
  assert.equal(detectLayout(fixture('hf-layout', 'model.safetensors').tensors.keys()), 'hf');
  assert.equal(detectLayout(['embedding.cls_token', 'encoder.blocks.0.attention.qkv_projection.weight']), 'fused');
  assert.throws(
    () => detectLayout(['foo', 'bar'], 'x.safetensors'),
    (e: unknown) => e instanceof UserError && /^x\.safetensors: not a ViT/.test(e.message),
  );
  assert.throws(() => detectLayout(['encoder.layer.0.attention.attention.query.weight'], 'x'), /ViTModel/);
  assert.throws(() => detectLayout(['encoder.blocks.0.attention.heads.0.query.weight', 'vit.layernorm.weight'], 'x'), /mixes/);
});

test('the fixtures are away from initialization: no bias all 0, no LayerNorm gain all 1 (else swapped names would compare equal)', () => {
  for (const name of FIXTURE_NAMES) {
    for (const [tensor, t] of fixture(name).tensors) {
      const values = Array.from(t.data as Float32Array);
      if (tensor.endsWith('.bias'))
        assert.ok(
          values.some((v) => v !== 0),
          `${name} ${tensor} is all 0`,
        );
      if (/layernorm.*\.weight$/.test(tensor))
        assert.ok(
          values.some((v) => v !== 1),
          `${name} ${tensor} is all 1`,
        );
      assert.ok(new Set(values).size > values.length / 2, `${name} ${tensor}: mostly repeated values`);
    }
  }
});

test('every fixture: seed → canonical → seed gives identical tensors, names and shapes', () => {
  for (const name of FIXTURE_NAMES) {
    const { config, tensors, path } = fixture(name);
    const params = toCanonical(tensors, config, path);
    assert.deepEqual(
      [...params.keys()],
      parameterSpecs(config).map((s) => s.name),
      name,
    );
    for (const spec of parameterSpecs(config))
      assert.equal(
        params.get(spec.name)!.length,
        spec.shape.reduce((a, b) => a * b, 1),
      );
    const back = fromCanonical(params, config, 'seed');
    assert.deepEqual(new Set(back.keys()), new Set(tensors.keys()), name);
    for (const [n, t] of tensors) {
      assert.deepEqual(back.get(n)!.shape, t.shape, `${name} ${n}`);
      assert.deepEqual(back.get(n)!.data, t.data, `${name} ${n}`);
    }
  }
});

test('the canonical qkv weight stacks queries of all heads, then keys, then values', () => {
  const { config, tensors, path } = fixture('heads6-hs6-wide-init');
  const params = toCanonical(tensors, config, path);
  const h = config.hidden_size;
  const hs = h / config.num_attention_heads;
  const qkv = params.get('encoder.blocks.1.attention.qkv_projection.weight')!;
  const key3 = tensors.get('encoder.blocks.1.attention.heads.3.key.weight')!.data;
  assert.deepEqual(qkv.subarray((h + 3 * hs) * h, (h + 4 * hs) * h), key3);
  const bias = params.get('encoder.blocks.1.attention.qkv_projection.bias')!;
  assert.deepEqual(bias.subarray(2 * h + 5 * hs, 2 * h + 6 * hs), tensors.get('encoder.blocks.1.attention.heads.5.value.bias')!.data);
});

test('the hf fixture: model.safetensors and weights.safetensors give identical canonical maps', () => {
  const seed = fixture('hf-layout');
  const hf = fixture('hf-layout', 'model.safetensors');
  const fromSeed = toCanonical(seed.tensors, seed.config, seed.path);
  const fromHf = toCanonical(hf.tensors, hf.config, hf.path);
  assert.deepEqual(fromHf, fromSeed);
  // And back: canonical → hf reproduces the PyTorch-written file.
  const back = fromCanonical(fromHf, hf.config, 'hf');
  assert.deepEqual(new Set(back.keys()), new Set(hf.tensors.keys()));
  for (const [n, t] of hf.tensors) assert.deepEqual(back.get(n)!.data, t.data, n);
});

test('fused layout round-trips; fromCanonical copies', () => {
  const { config, tensors, path } = fixture('patch8-h32-nobias');
  const params = toCanonical(tensors, config, path);
  const fused = fromCanonical(params, config, 'fused');
  assert.deepEqual([...fused.keys()], [...params.keys()]);
  assert.ok(!fused.has('encoder.blocks.0.attention.qkv_projection.bias'), 'qkv_bias false has no qkv bias');
  assert.deepEqual(toCanonical(asF32(fused), config, 'fused'), params);
  fused.get('classifier.bias')!.data[0] = 42;
  assert.notEqual(params.get('classifier.bias')![0], 42);
  assert.throws(
    () => fromCanonical(params, config, 'hf'),
    (e: unknown) => e instanceof UserError && /final LayerNorm/.test(e.message),
  );
});

test("PyTorch's fused file (FasterMultiHeadAttention's qkv_projection) holds the seed file's parameters, and vit-ts writes it back", () => {
  const seed = fixture('patch2-gray-heads5');
  const fused = fixture('patch2-gray-heads5', 'fused.safetensors');
  assert.equal(detectLayout(fused.tensors.keys()), 'fused');
  assert.deepEqual(toCanonical(fused.tensors, fused.config, fused.path), toCanonical(seed.tensors, seed.config, seed.path));
  const written = fromCanonical(toCanonical(seed.tensors, seed.config, seed.path), seed.config, 'fused');
  assert.deepEqual(new Set(written.keys()), new Set(fused.tensors.keys()));
  for (const [n, t] of fused.tensors) {
    assert.deepEqual(written.get(n)!.shape, t.shape, n);
    assert.deepEqual(written.get(n)!.data, t.data, n);
  }
});

test('a missing, an extra and a mis-shaped tensor are UserErrors naming the tensor and file', () => {
  const { config, tensors } = fixture('seed');
  const check = (mutate: (m: Map<string, Tensor>) => void, pattern: RegExp): void => {
    const copy = new Map(tensors);
    mutate(copy);
    assert.throws(
      () => toCanonical(copy, config, 'ckpt.safetensors'),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(e.message, /^ckpt\.safetensors: /);
        assert.match(e.message, pattern);
        return true;
      },
    );
  };
  check(
    (m) => m.delete('encoder.blocks.2.attention.heads.1.key.bias'),
    /missing tensor "encoder\.blocks\.2\.attention\.heads\.1\.key\.bias" \[12\]/,
  );
  check(
    (m) => m.set('encoder.blocks.9.mlp.dense_1.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) }),
    /unexpected tensor "encoder\.blocks\.9\.mlp\.dense_1\.weight"/,
  );
  check(
    (m) => m.set('classifier.weight', { dtype: 'F32', shape: [10, 47], data: new Float32Array(470) }),
    /tensor "classifier\.weight" has shape \[10, 47\], expected \[10, 48\]/,
  );
  check((m) => m.set('classifier.bias', { dtype: 'I64', shape: [10], data: new BigInt64Array(10) }), /"classifier\.bias" has dtype I64/);
  // A checkpoint for another config: the message lists a few problems and counts the rest.
  const other = resolveConfig({ num_hidden_layers: 2 });
  assert.throws(
    () => toCanonical(tensors, other, 'big.safetensors'),
    /big\.safetensors: .*unexpected tensor "encoder\.blocks\.2\..*and \d+ more/,
  );
});

test('hf checkpoints: an unused pooler is ignored, a missing final LayerNorm is named', () => {
  const { config, tensors, path } = fixture('hf-layout', 'model.safetensors');
  const withPooler = new Map(tensors);
  withPooler.set('vit.pooler.dense.weight', { dtype: 'F32', shape: [32, 32], data: new Float32Array(32 * 32) });
  assert.deepEqual(toCanonical(withPooler, config, path), toCanonical(tensors, config, path));
  const noFinal = new Map(tensors);
  noFinal.delete('vit.layernorm.weight');
  assert.throws(() => toCanonical(noFinal, config, 'model.safetensors'), /missing tensor "vit\.layernorm\.weight"/);
});
