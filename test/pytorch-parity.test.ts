// The model against PyTorch: logits, loss, attention probabilities, every parameter's gradient and
// the parameters after one AdamW step, for fixtures written by tools/pytorch/fixture.py (parameters
// perturbed away from their initialization, so that no bias is 0 and no LayerNorm gain 1).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type Tensor } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { toCanonical } from '../src/weights/layouts.js';
import { ViTForClassification } from '../src/model/vit.js';
import { AdamW } from '../src/train/adamw.js';
import { type Engine, createEngine } from '../src/runtime/engine.js';
import { fixturesDir, assertClose } from './helpers.js';
import { openTestEngine } from './webgpu-helpers.js';

const fixtures = readdirSync(fixturesDir).filter((d) => !d.startsWith('.'));

/** The reference's tensors whose names start with prefix, prefix removed. */
function withPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), t);
  return out;
}

/** Row 0 (the [CLS] query) of each of `count` attention matrices [T, T]. */
function clsRows(attentions: Float32Array, count: number): Float32Array {
  const T = Math.sqrt(attentions.length / count);
  const out = new Float32Array(count * T);
  for (let m = 0; m < count; m++) out.set(attentions.subarray(m * T * T, m * T * T + T), m * T);
  return out;
}

/** The WebGPU engine (SwiftShader here: correctness only), shared by its tests; they skip with a line without an adapter. */
const gpu = await openTestEngine();
after(() => gpu.engine?.close());

/**
 * The engines to check: the relaxed-SIMD build (the default where the runtime has it) on 1 and 2 threads,
 * the plain SIMD build on 2, 5 threads, whose shares of most kernels' rows are uneven, and WebGPU.
 */
const ENGINES: Array<{ label: string; open: () => Promise<Engine>; shared?: boolean; skip?: string | false }> = [
  { label: '1 thread', open: () => createEngine({ threads: 1 }) },
  { label: '2 threads', open: () => createEngine({ threads: 2 }) },
  { label: '2 threads, plain SIMD', open: () => createEngine({ threads: 2, relaxedSimd: false }) },
  { label: '5 threads', open: () => createEngine({ threads: 5 }) },
  { label: 'WebGPU', open: () => Promise.resolve(gpu.engine!), shared: true, skip: gpu.skip },
];

for (const { label, open, shared, skip } of ENGINES) {
  for (const name of fixtures) {
    test(`${name} matches PyTorch (${label})`, { skip }, async () => {
      const dir = join(fixturesDir, name);
      const { config, params } = loadCheckpoint(join(dir, 'weights.safetensors'));
      const { tensors: ref, metadata } = readSafetensors(join(dir, 'reference.safetensors'));
      const engine = await open();
      let model: ViTForClassification | undefined;
      try {
        model = await ViTForClassification.create(config, { engine });
        model.loadStateDict(params);
        const input = ref.get('input')!.data as Float32Array;
        const labels = Array.from(ref.get('labels')!.data as BigInt64Array, Number);
        const batch = labels.length;
        model.setImages(input, batch);
        model.setLabels(labels, batch);

        model.forward(batch, true, true);

        const logits = await model.readLogits();
        assertClose(logits, ref.get('logits')!.data as Float32Array, 'logits');
        for (let layer = 0; layer < config.num_hidden_layers; layer++) {
          assertClose(await model.attentions(layer), ref.get(`attentions.${layer}`)!.data as Float32Array, `attentions.${layer}`);
        }
        const loss = await model.loss();
        const refLoss = (ref.get('loss')!.data as Float32Array)[0]!;
        assert.ok(Math.abs(loss - refLoss) <= 1e-5 * Math.max(1, Math.abs(refLoss)), `loss ${loss} vs PyTorch ${refLoss}`);

        model.parameters.zeroGrad();
        model.backward();
        const grads = toCanonical(withPrefix(ref, 'grad.'), config, `${name}/reference.safetensors grad.*`);
        for (const [param, expected] of grads) assertClose(await model.parameters.gradient(param), expected, `grad.${param}`);

        // The default pass runs the last Block for the [CLS] token alone: same logits and gradients.
        model.forward(batch, true);
        assertClose(await model.readLogits(), ref.get('logits')!.data as Float32Array, 'logits ([CLS]-only last block)');
        const last = config.num_hidden_layers - 1;
        assertClose(
          clsRows(await model.attentions(last), config.num_attention_heads * batch),
          clsRows(ref.get(`attentions.${last}`)!.data as Float32Array, config.num_attention_heads * batch),
          `attentions.${last} [CLS] rows`,
        );
        await model.loss();
        model.parameters.zeroGrad();
        model.backward();
        for (const [param, expected] of grads)
          assertClose(await model.parameters.gradient(param), expected, `grad.${param} ([CLS]-only last block)`);

        // The optimizer on PyTorch's own gradients: at step one AdamW divides each gradient by its
        // magnitude, so near-zero gradients would magnify float32 rounding into the comparison.
        for (const [param, expected] of grads) model.parameters.setGradient(param, expected);
        const { lr, weight_decay } = JSON.parse(metadata.adamw!) as { lr: number; weight_decay: number };
        const optimizer = new AdamW(model.parameters, { lr, weightDecay: weight_decay });
        optimizer.update();
        const stepped = toCanonical(withPrefix(ref, 'adamw_step1.'), config, `${name}/reference.safetensors adamw_step1.*`);
        for (const [param, expected] of stepped) assertClose(await model.parameters.values(param), expected, `adamw_step1.${param}`);
        optimizer.release();
      } finally {
        model?.release();
        if (!shared) engine.close();
      }
    });
  }
}

for (const name of fixtures.filter((f) => existsSync(join(fixturesDir, f, 'fused.safetensors')))) {
  test(`${name}: the fused layout PyTorch wrote gives PyTorch's logits`, async () => {
    const dir = join(fixturesDir, name);
    const { config, params } = loadCheckpoint(join(dir, 'fused.safetensors'));
    const { tensors: ref } = readSafetensors(join(dir, 'reference.safetensors'));
    const engine = await createEngine({ threads: 2 });
    try {
      const model = await ViTForClassification.create(config, { engine });
      model.loadStateDict(params);
      const batch = ref.get('labels')!.shape[0]!;
      model.setImages(ref.get('input')!.data as Float32Array, batch);
      model.forward(batch);
      assertClose(await model.readLogits(), ref.get('logits')!.data as Float32Array, 'logits from fused.safetensors');
    } finally {
      engine.close();
    }
  });
}
