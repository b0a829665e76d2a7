import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InferenceSession, Tensor as OrtTensor } from './onnx-runtime.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { exportOnnx } from '../src/export/onnx.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { type ViTConfig, resolveConfig } from '../src/model/config.js';
import { parameterSpecs, sizeOf } from '../src/model/parameters.js';
import { assertClose } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));

/** [fixture, the path handed to loadCheckpoint]; hf-layout loads its Hugging Face-named file with its config.json. */
const CASES: [string, string][] = [
  ['seed', 'seed'],
  ['heads6-hs6-wide-init', 'heads6-hs6-wide-init'],
  ['hf-layout', join('hf-layout', 'model.safetensors')],
  ['img16-h24-heads3', 'img16-h24-heads3'],
  ['patch2-gray-heads5', 'patch2-gray-heads5'],
  ['patch8-h32-nobias', 'patch8-h32-nobias'],
];

/** The ModelProto's first field is ir_version (field 1, varint: tag byte 0x08). */
test('the file starts with ir_version 8 and holds all the weights', () => {
  const { config, params } = loadCheckpoint(join(FIXTURES, 'seed'));
  const bytes = exportOnnx(params, config);
  assert.deepEqual([...bytes.subarray(0, 2)], [0x08, 8]);
  assert.ok(bytes.length > 4 * [...params.values()].reduce((a, p) => a + p.length, 0));
});

for (const [fixture, path] of CASES) {
  test(`${fixture}: ONNX Runtime reproduces PyTorch's logits at batch 1 and the full batch`, async () => {
    const { config, params } = loadCheckpoint(join(FIXTURES, path));
    const before = new Map([...params].map(([n, p]) => [n, p.slice()]));
    const session = await InferenceSession.create(exportOnnx(params, config));
    assert.deepEqual(params, before, 'export leaves the parameters alone');
    assert.deepEqual(session.inputNames, ['pixel_values']);
    assert.deepEqual(session.outputNames, ['logits']);

    const { tensors } = readSafetensors(join(FIXTURES, fixture, 'reference.safetensors'));
    const input = tensors.get('input')!;
    const expected = tensors.get('logits')!.data as Float32Array;
    const [batch, channels, height, width] = input.shape as [number, number, number, number];
    const image = channels * height * width;
    const classes = config.num_classes;
    for (const n of [1, batch]) {
      const pixels = (input.data as Float32Array).subarray(0, n * image);
      const out = await session.run({ pixel_values: new OrtTensor('float32', pixels, [n, channels, height, width]) });
      const logits = out['logits']!;
      assert.deepEqual(logits.dims, [n, classes]);
      assertClose(logits.data as Float32Array, expected.subarray(0, n * classes), `${fixture} batch ${n} logits`);
    }
    await session.release();
  });
}

/**
 * The fixtures' small logits cannot tell GELU's erf form from its tanh form (they differ by < 1e-6 there),
 * so check the activation directly: a one-layer model whose zero weights reduce the logits to
 * classifier(dense_2(gelu(dense_1.bias))) with identity matrices, i.e. logits[i] = gelu(c[i]).
 */
test('the exported GELU is the erf form for "gelu" and the tanh form for "gelu_new"', async () => {
  const c = [-3, -1, -0.5, -0.1, 0.25, 1, 2, 4];
  const n = c.length;
  const erf = (x: number): number => {
    // Abramowitz–Stegun 7.1.26 is too coarse here; sum the Taylor series (exact enough for |x| ≤ 4 / √2).
    let sum = 0;
    let term = x;
    for (let k = 0; k < 200; k++) {
      sum += term / (2 * k + 1);
      term *= (-x * x) / (k + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  };
  const expected = {
    gelu: c.map((x) => 0.5 * x * (1 + erf(x / Math.SQRT2))),
    gelu_new: c.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)))),
  };
  for (const act of ['gelu', 'gelu_new'] as const) {
    const config: ViTConfig = resolveConfig({
      hidden_size: n,
      intermediate_size: n,
      num_classes: n,
      num_attention_heads: 2,
      num_hidden_layers: 1,
      image_size: 4,
      patch_size: 4,
      num_channels: 1,
      hidden_act: act,
    });
    const params = new Map(parameterSpecs(config).map((s) => [s.name, new Float32Array(sizeOf(s.shape))]));
    params.get('encoder.blocks.0.mlp.dense_1.bias')!.set(c);
    for (let i = 0; i < n; i++) {
      params.get('encoder.blocks.0.mlp.dense_2.weight')![i * n + i] = 1;
      params.get('classifier.weight')![i * n + i] = 1;
    }
    const session = await InferenceSession.create(exportOnnx(params, config));
    const out = await session.run({ pixel_values: new OrtTensor('float32', new Float32Array(16).fill(0.3), [1, 1, 4, 4]) });
    const got = out['logits']!.data as Float32Array;
    for (let i = 0; i < n; i++)
      assert.ok(Math.abs(got[i]! - expected[act][i]!) < 2e-6, `${act}(${c[i]}): ${got[i]} vs ${expected[act][i]}`);
    await session.release();
  }
  assert.ok(Math.abs(expected.gelu[5]! - expected.gelu_new[5]!) > 1e-4, 'the two forms differ enough to tell apart');
});
