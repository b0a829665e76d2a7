// The whole model on an engine, checked the same way in Node and in Chromium (no node: imports;
// test/pytorch-parity.test.ts, test/webgpu-training.test.ts and test/webgpu-browser-entry.ts call it):
// a PyTorch fixture's forward, every gradient and one AdamW step; and a training run's losses step by
// step, for comparing one engine's run with another's.
import type { ImageSet } from '../src/data/cifar10.js';
import { parseSafetensors, type Tensor } from '../src/io/safetensors-format.js';
import { ViTForClassification } from '../src/model/vit.js';
import type { Engine } from '../src/runtime/engine.js';
import { AdamW } from '../src/train/adamw.js';
import { GradientClipper } from '../src/train/gradient-clipper.js';
import { trainStep } from '../src/train/step.js';
import { WeightAverage } from '../src/train/weight-average.js';
import { toCanonical } from '../src/weights/layouts.js';
import { modelFromFiles } from '../src/weights/model-in-memory.js';
import { checkClose } from './webgpu-kernel-cases.js';
import { TINY_CONFIG } from './tiny-config.js';

/** A fixture of tools/pytorch/fixture.py: its folder's name and the bytes of its files. */
export interface FixtureFiles {
  name: string;
  /** config.json */
  config: Uint8Array;
  /** weights.safetensors: the perturbed parameters. */
  weights: Uint8Array;
  /** reference.safetensors: input, labels and PyTorch's logits, loss, attentions, gradients, AdamW step. */
  reference: Uint8Array;
}

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

/**
 * The model on `engine` against PyTorch: logits, loss, attention probabilities, every parameter's
 * gradient (full pass and [CLS]-only last block) and the parameters after one AdamW step, each
 * within 1e-5 of its tensor's scale. Throws at the first difference.
 */
export async function checkFixture(engine: Engine, fixture: FixtureFiles): Promise<void> {
  const { name } = fixture;
  const { config, params } = modelFromFiles([
    { name: `${name}/config.json`, bytes: fixture.config },
    { name: `${name}/weights.safetensors`, bytes: fixture.weights },
  ]);
  const { tensors: ref, metadata } = parseSafetensors(fixture.reference, `${name}/reference.safetensors`);
  const tensor = (key: string): Tensor => {
    const t = ref.get(key);
    if (t === undefined) throw new Error(`${name}/reference.safetensors has no ${key}`);
    return t;
  };
  const model = await ViTForClassification.create(config, { engine });
  try {
    model.loadStateDict(params);
    const input = tensor('input').data as Float32Array;
    const labels = Array.from(tensor('labels').data as BigInt64Array, Number);
    const batch = labels.length;
    const refLogits = tensor('logits').data as Float32Array;
    model.setImages(input, batch);
    model.setLabels(labels, batch);

    model.forward(batch, true, true);
    checkClose(await model.readLogits(), refLogits, 'logits');
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      checkClose(await model.attentions(layer), tensor(`attentions.${layer}`).data as Float32Array, `attentions.${layer}`);
    }
    const loss = await model.loss();
    const refLoss = (tensor('loss').data as Float32Array)[0]!;
    if (!(Math.abs(loss - refLoss) <= 1e-5 * Math.max(1, Math.abs(refLoss)))) throw new Error(`loss ${loss} vs PyTorch ${refLoss}`);

    model.parameters.zeroGrad();
    model.backward();
    const grads = toCanonical(withPrefix(ref, 'grad.'), config, `${name}/reference.safetensors grad.*`);
    for (const [param, expected] of grads) checkClose(await model.parameters.gradient(param), expected, `grad.${param}`);

    // The default pass runs the last Block for the [CLS] token alone: same logits and gradients.
    model.forward(batch, true);
    checkClose(await model.readLogits(), refLogits, 'logits ([CLS]-only last block)');
    const last = config.num_hidden_layers - 1;
    checkClose(
      clsRows(await model.attentions(last), config.num_attention_heads * batch),
      clsRows(tensor(`attentions.${last}`).data as Float32Array, config.num_attention_heads * batch),
      `attentions.${last} [CLS] rows`,
    );
    await model.loss();
    model.parameters.zeroGrad();
    model.backward();
    for (const [param, expected] of grads)
      checkClose(await model.parameters.gradient(param), expected, `grad.${param} ([CLS]-only last block)`);

    // The optimizer on PyTorch's own gradients: at step one AdamW divides each gradient by its
    // magnitude, so near-zero gradients would magnify float32 rounding into the comparison.
    for (const [param, expected] of grads) model.parameters.setGradient(param, expected);
    const { lr, weight_decay } = JSON.parse(metadata.adamw!) as { lr: number; weight_decay: number };
    const optimizer = new AdamW(model.parameters, { lr, weightDecay: weight_decay });
    try {
      optimizer.update();
      const stepped = toCanonical(withPrefix(ref, 'adamw_step1.'), config, `${name}/reference.safetensors adamw_step1.*`);
      for (const [param, expected] of stepped) checkClose(await model.parameters.values(param), expected, `adamw_step1.${param}`);
    } finally {
      optimizer.release();
    }
  } finally {
    model.release();
  }
}

/** The training runs' model: dropout on, so that the WGSL dropout's random stream is checked against the WebAssembly one's too. */
export const TRAINING_CONFIG = { ...TINY_CONFIG, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };

/** A training run on one engine, a step at a time (a page runs each step in its own call). */
export interface TrainingRun {
  /** One trainStep (clipping, label smoothing, a moving average) on the next `batch` images; its mean loss. */
  step(): Promise<number>;
  release(): void;
}

/** A run of the same seed, data and settings on any engine: two engines' runs give comparable losses. */
export async function startTraining(engine: Engine, train: ImageSet, batch: number): Promise<TrainingRun> {
  const model = await ViTForClassification.create(TRAINING_CONFIG, { engine, seed: 4 });
  const parts = {
    model,
    optimizer: new AdamW(model.parameters, { lr: 3e-3 }),
    clipper: new GradientClipper(model.parameters),
    average: new WeightAverage(model.parameters, 0.9),
  };
  let step = 0;
  return {
    async step() {
      const first = (step++ * batch) % (train.count - batch);
      const images = model.imageBuffer(batch);
      for (let i = 0; i < images.length; i++) images[i] = (train.images[first * 3072 + i]! / 255 - 0.5) / 0.5;
      model.setLabels(train.labels.subarray(first, first + batch), batch);
      const perImage = await trainStep(parts, batch, { lr: 3e-3, labelSmoothing: 0.1, clipGrad: 1 });
      return perImage.reduce((s, l) => s + l, 0) / batch;
    },
    release() {
      parts.clipper.release();
      parts.average.release();
      parts.optimizer.release();
      model.release();
    },
  };
}

/** Throws unless every step's loss of `got` is within 1e-3 relative of `expected`'s (what = the engines, for the message). */
export function checkLossesTrack(got: readonly number[], expected: readonly number[], what: string): void {
  if (got.length !== expected.length) throw new Error(`${what}: ${got.length} losses, expected ${expected.length}`);
  got.forEach((loss, step) => {
    if (!(Math.abs(loss - expected[step]!) <= 1e-3 * Math.abs(expected[step]!)))
      throw new Error(`step ${step + 1}: ${what} ${loss} vs ${expected[step]}`);
  });
}
