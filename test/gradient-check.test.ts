// The whole model's backward pass against finite differences of its loss, on tiny configs with
// wide initial weights (so the network is far from linear), at a sample of coordinates spread
// over every parameter tensor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Engine, createEngine } from '../src/runtime/engine.js';
import { ViTForClassification } from '../src/model/vit.js';
import type { ViTConfig } from '../src/model/config.js';
import { Random } from '../src/random.js';
import { assertClose } from './helpers.js';

const TINY: Partial<ViTConfig> = {
  image_size: 8,
  patch_size: 4,
  num_channels: 3,
  hidden_size: 8,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 12,
  num_classes: 3,
  initializer_range: 0.5,
};
const BATCH = 4;
const SEED = 7;
/**
 * The finite-difference step h (2h is used too), before rounding to float32: smaller steps drown
 * in float32 noise, larger ones in the curvature of these deliberately non-linear networks.
 */
const STEP = 2e-2;
/** Relative error allowed on each coordinate: the worst seen is 1.3e-2. */
const RTOL = 2e-2;
/**
 * The finite differences' own error, added to the limit: float32 rounding in the forward pass
 * moves a loss of a few units in its last bits, which over 2h is up to 2.5e-5. (The key biases'
 * gradients are exactly 0, softmax being blind to them; their differences show this noise.)
 */
const NOISE = 5e-5;
/** Coordinates checked, at least two in each tensor. */
const SAMPLES = 120;

interface Coordinate {
  name: string;
  index: number;
}
interface Comparison {
  coordinate: Coordinate;
  analytic: number;
  numeric: number;
}
type Parameters = Map<string, Float32Array>;

/** Every tensor (LayerNorm weights and all biases included) moved off its initial value. */
async function randomizeParameters(model: ViTForClassification, rng: Random): Promise<void> {
  for (const p of model.parameters.list) {
    const v = await model.parameters.values(p.name);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! + 0.3 * rng.normal();
    model.parameters.setValues(p.name, v);
  }
}

/** Two coordinates of every tensor, the rest drawn over the whole parameter vector; no repeats. */
function sampleCoordinates(model: ViTForClassification, rng: Random): Coordinate[] {
  const list = model.parameters.list;
  const chosen = new Map<string, Coordinate>();
  const add = (name: string, index: number): void => void chosen.set(`${name}[${index}]`, { name, index });
  // one in each half of every tensor, so the two differ
  for (const p of list) for (let k = 0; k < Math.min(2, p.size); k++) add(p.name, (k * p.size + rng.int(p.size)) >> 1);
  const total = list.reduce((s, p) => s + p.size, 0);
  while (chosen.size < SAMPLES) {
    let r = rng.int(total);
    const p = list.find((q) => (r < q.size ? true : ((r -= q.size), false)))!;
    add(p.name, r);
  }
  return [...chosen.values()];
}

/** A training forward pass and the mean of the per-image losses, summed in float64. */
async function meanLoss(model: ViTForClassification, labelSmoothing: number): Promise<number> {
  model.forward(BATCH, true);
  await model.loss(labelSmoothing);
  let sum = 0;
  for (const l of await model.readLosses()) sum += l;
  return sum / BATCH;
}

/**
 * d loss / d x by Richardson extrapolation of central differences at steps h and 2h,
 * (4·D(h) − D(2h))/3, which cancels the h² term; `lossAt(x)` evaluates the loss with the
 * coordinate set to x, and each step is the float32 one actually taken.
 */
async function numericDerivative(original: number, lossAt: (x: number) => number | Promise<number>): Promise<number> {
  const central = async (h: number): Promise<number> => {
    const up = Math.fround(original + h),
      down = Math.fround(original - h);
    return ((await lossAt(up)) - (await lossAt(down))) / (up - down);
  };
  return (4 * (await central(STEP)) - (await central(2 * STEP))) / 3;
}

/** The coordinates where the analytic and numeric derivatives differ by more than the tolerance. */
function mismatches(results: Comparison[], scale = 1): string[] {
  return results
    .filter(({ analytic, numeric }) => {
      const a = analytic * scale;
      return !(Math.abs(a - numeric) <= RTOL * Math.max(Math.abs(a), Math.abs(numeric)) + NOISE);
    })
    .map(({ coordinate: c, analytic, numeric }) => `${c.name}[${c.index}]: analytic ${analytic * scale}, numeric ${numeric}`);
}

function assertGradientsMatch(results: Comparison[], label: string): void {
  const failures = mismatches(results);
  assert.deepEqual(failures, [], `${label}: ${failures.length} of ${results.length} coordinates differ`);
  // the check has teeth: a gradient 10% too large would fail on most coordinates
  const caught = mismatches(results, 1.1).length;
  assert.ok(caught >= 0.8 * results.length, `${label}: a 10% error would fail only ${caught} of ${results.length} coordinates`);
}

interface Problem {
  model: ViTForClassification;
  images: Float32Array;
  labels: number[];
  coordinates: Coordinate[];
}

/**
 * A model with randomized parameters, a batch of random images and labels, and the coordinates
 * to check; the same for the same config and batch, whatever the engine or chunk.
 */
async function setUp(engine: Engine, config: Partial<ViTConfig>, batch = BATCH, chunk?: number): Promise<Problem> {
  const rng = new Random(11);
  const model = await ViTForClassification.create(config, { engine, seed: SEED, chunk });
  await randomizeParameters(model, rng);
  const images = Float32Array.from({ length: batch * model.imageFloats }, () => rng.normal());
  const labels = Array.from({ length: batch }, () => rng.int(model.config.num_classes));
  model.setImages(images, batch);
  model.setLabels(labels, batch);
  return { model, images, labels, coordinates: sampleCoordinates(model, rng) };
}

/** Every parameter's gradient (copies). */
async function gradientsOf(model: ViTForClassification): Promise<Parameters> {
  const entries = await Promise.all(model.parameters.list.map(async (p) => [p.name, await model.parameters.gradient(p.name)] as const));
  return new Map(entries);
}

/** Every parameter's gradient of the mean loss of one training pass over BATCH images (copies). */
async function analyticGradients(model: ViTForClassification, labelSmoothing: number): Promise<Parameters> {
  model.parameters.zeroGrad();
  await meanLoss(model, labelSmoothing);
  model.backward();
  return gradientsOf(model);
}

for (const { label, config, labelSmoothing } of [
  { label: 'the seed architecture (tanh GELU, no final LayerNorm)', config: TINY, labelSmoothing: 0 },
  {
    label: 'final LayerNorm, exact (erf) GELU, label smoothing 0.1',
    config: { ...TINY, final_layernorm: true, hidden_act: 'gelu' as const },
    labelSmoothing: 0.1,
  },
]) {
  test(`gradient check: ${label}`, async () => {
    // one thread: these passes are tiny, and the kernels' thread splits are tested in kernels.test
    const engine = await createEngine({ threads: 1 });
    try {
      const { model, coordinates } = await setUp(engine, config);
      const gradients = await analyticGradients(model, labelSmoothing);
      const results: Comparison[] = [];
      for (const coordinate of coordinates) {
        const v = await model.parameters.values(coordinate.name);
        const original = v[coordinate.index]!;
        const numeric = await numericDerivative(original, (x) => {
          v[coordinate.index] = x;
          model.parameters.setValues(coordinate.name, v);
          return meanLoss(model, labelSmoothing);
        });
        v[coordinate.index] = original;
        model.parameters.setValues(coordinate.name, v);
        results.push({ coordinate, analytic: gradients.get(coordinate.name)![coordinate.index]!, numeric });
      }
      assertGradientsMatch(results, label);
    } finally {
      engine.close();
    }
  });
}

test("the model's gradient is the same on 3 threads as on 1", async () => {
  const engines = await Promise.all([1, 3].map((threads) => createEngine({ threads })));
  try {
    const config = { ...TINY, final_layernorm: true };
    const [one, three] = await Promise.all(engines.map((engine) => setUp(engine, config)));
    const expected = await analyticGradients(one!.model, 0);
    const got = await analyticGradients(three!.model, 0);
    for (const [name, g] of expected) assertClose(got.get(name)!, g, `${name} on 3 threads`, 1e-5, 1e-7);
  } finally {
    for (const e of engines) e.close();
  }
});

test('one pass, the full last block (allAttentions) and trainBatch in uneven chunks give the same loss and gradient', async () => {
  // The finite differences above check one pass, whose last Block runs the [CLS] token alone;
  // the other ways through the model must agree with it.
  const engine = await createEngine({ threads: 1 });
  try {
    const batch = 7,
      labelSmoothing = 0.1;
    const config = { ...TINY, final_layernorm: true };
    const { model } = await setUp(engine, config, batch);
    const onePass = async (allAttentions: boolean): Promise<{ loss: number; logits: Float32Array; gradients: Parameters }> => {
      model.parameters.zeroGrad();
      model.forward(batch, true, allAttentions);
      const logits = await model.readLogits();
      const loss = await model.loss(labelSmoothing);
      model.backward();
      return { loss, logits, gradients: await gradientsOf(model) };
    };
    const clsOnly = await onePass(false),
      full = await onePass(true);

    // chunks of 3: 3 + 3 + 1 images, each chunk's d(logits) scaled for the batch's mean
    const { model: chunked } = await setUp(engine, config, batch, 3);
    assert.equal(chunked.chunk, 3, 'the model takes the chunk size asked for');
    chunked.parameters.zeroGrad();
    chunked.trainBatch(batch, labelSmoothing);
    const chunkedLoss = await chunked.readLoss();
    const chunkedGradients = await gradientsOf(chunked);
    const inferred = await chunked.infer(batch);

    assertClose(full.logits, clsOnly.logits, 'logits with the full last block', 1e-6, 1e-7);
    assertClose(inferred, clsOnly.logits, 'logits of infer() in chunks of 3', 1e-6, 1e-7);
    for (const [what, loss] of [
      ['full last block', full.loss],
      ['trainBatch in chunks of 3', chunkedLoss],
    ] as const) {
      assert.ok(Math.abs(loss - clsOnly.loss) <= 1e-6 * clsOnly.loss, `loss with the ${what}: ${loss}, one pass: ${clsOnly.loss}`);
    }
    for (const [name, g] of clsOnly.gradients) {
      assertClose(full.gradients.get(name)!, g, `${name} with the full last block`, 1e-5, 1e-7);
      assertClose(chunkedGradients.get(name)!, g, `${name} from trainBatch in chunks of 3`, 1e-5, 1e-7);
    }
  } finally {
    engine.close();
  }
});

test('gradient check with dropout, the masks held fixed', async () => {
  // A model's masks come from its generator, which moves on at every training pass and cannot be
  // rewound; but a fresh model with the same seed draws the same masks on its first pass. So each
  // loss below is the first pass of a fresh model given the parameters under test.
  const config = { ...TINY, hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0.2 };
  const engine = await createEngine({ threads: 1 });
  try {
    const { model, images, labels, coordinates } = await setUp(engine, config);
    const state = await model.stateDict();
    const firstPassLoss = async (params: Parameters): Promise<number> => {
      const fresh = await ViTForClassification.create(config, { engine, seed: SEED });
      fresh.loadStateDict(params);
      fresh.setImages(images, BATCH);
      fresh.setLabels(labels, BATCH);
      return meanLoss(fresh, 0);
    };

    // the premise: the same seed gives the same masks, and dropout is on (the next pass differs)
    const gradients = await analyticGradients(model, 0);
    const first = (await model.readLosses()).reduce((s, l) => s + l, 0) / BATCH;
    assert.equal(await firstPassLoss(state), first, 'a fresh model with the same seed draws the same masks');
    assert.notEqual(await meanLoss(model, 0), first, 'the second training pass draws new masks');
    model.forward(BATCH, false);
    await model.loss();
    assert.notEqual((await model.readLosses()).reduce((s, l) => s + l, 0) / BATCH, first, 'evaluation (no dropout) differs from training');

    const results: Comparison[] = [];
    for (const coordinate of coordinates) {
      const values = state.get(coordinate.name)!;
      const original = values[coordinate.index]!;
      const losses = new Map<number, number>();
      for (const h of [STEP, 2 * STEP]) {
        for (const x of [Math.fround(original + h), Math.fround(original - h)]) {
          values[coordinate.index] = x;
          losses.set(x, await firstPassLoss(state));
        }
      }
      values[coordinate.index] = original;
      const numeric = await numericDerivative(original, (x) => losses.get(x)!);
      results.push({ coordinate, analytic: gradients.get(coordinate.name)![coordinate.index]!, numeric });
    }
    assertGradientsMatch(results, 'dropout 0.2');
  } finally {
    engine.close();
  }
});
