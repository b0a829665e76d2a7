// Token dropping (PatchDropout): a pass on [CLS] + each image's kept patches against PyTorch's
// (the patch-dropout fixture, same kept indices) and against finite differences of its loss;
// keeping every patch is the plain pass exactly; drawKeptPatches' subsets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readSafetensors, type Tensor } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { toCanonical } from '../src/weights/layouts.js';
import { ViTForClassification } from '../src/model/vit.js';
import { drawKeptPatches, type TokenSelection } from '../src/model/patch-dropout.js';
import type { ViTConfig } from '../src/model/config.js';
import { type Engine, createEngine } from '../src/runtime/engine.js';
import { Random } from '../src/random.js';
import { UserError } from '../src/errors.js';
import { assertClose, fixturesDir } from './helpers.js';

type Parameters = Map<string, Float32Array>;

async function gradientsOf(model: ViTForClassification): Promise<Parameters> {
  return new Map(await Promise.all(model.parameters.list.map(async (p) => [p.name, await model.parameters.gradient(p.name)] as const)));
}

/** The reference's tensors whose names start with prefix, prefix removed. */
function withPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([name]) => name.startsWith(prefix)).map(([name, t]) => [name.slice(prefix.length), t]));
}

// 5 threads split the gather's rows and the scatter's images unevenly
for (const threads of [1, 2, 5]) {
  test(`a pass on the kept patches matches PyTorch's with the same indices (${threads} thread${threads > 1 ? 's' : ''})`, async () => {
    const dir = join(fixturesDir, 'patch-dropout');
    const { config, params } = loadCheckpoint(join(dir, 'weights.safetensors'));
    const { tensors: ref } = readSafetensors(join(dir, 'reference.safetensors'));
    const keptPatches = ref.get('kept_patches')!;
    const tokens: TokenSelection = { kept: keptPatches.shape[1]!, indices: Int32Array.from(keptPatches.data as BigInt64Array, Number) };
    const labels = Array.from(ref.get('labels')!.data as BigInt64Array, Number);
    const batch = labels.length;
    const expectedLogits = ref.get('kept.logits')!.data as Float32Array;
    const expectedLoss = (ref.get('kept.loss')!.data as Float32Array)[0]!;
    const expectedGrads = toCanonical(withPrefix(ref, 'kept.grad.'), config, 'patch-dropout/reference.safetensors kept.grad.*');
    const engine = await createEngine({ threads });
    try {
      // chunks of 2: the second chunk's indices start at image 2
      const model = await ViTForClassification.create(config, { engine, chunk: 2 });
      model.loadStateDict(params);
      model.setImages(ref.get('input')!.data as Float32Array, batch);
      model.setLabels(labels, batch);
      for (const allAttentions of [false, true]) {
        const what = allAttentions ? 'full last block' : '[CLS]-only last block';
        model.forward(batch, true, allAttentions, tokens);
        assertClose(await model.readLogits(), expectedLogits, `kept.logits (${what})`);
        const loss = await model.loss();
        assert.ok(Math.abs(loss - expectedLoss) <= 1e-5 * expectedLoss, `kept.loss ${loss} vs PyTorch ${expectedLoss} (${what})`);
        model.parameters.zeroGrad();
        model.backward();
        for (const [name, g] of expectedGrads) assertClose(await model.parameters.gradient(name), g, `kept.grad.${name} (${what})`);
      }
      model.parameters.zeroGrad();
      model.trainBatch(batch, 0, tokens);
      const loss = await model.readLoss();
      assert.ok(Math.abs(loss - expectedLoss) <= 1e-5 * expectedLoss, `trainBatch loss ${loss} vs PyTorch ${expectedLoss}`);
      for (const [name, g] of expectedGrads)
        assertClose(await model.parameters.gradient(name), g, `kept.grad.${name} (trainBatch in chunks of 2)`);
      // the dropping pass leaves the next plain pass as it was
      model.forward(batch, true);
      assertClose(await model.readLogits(), ref.get('logits')!.data as Float32Array, 'logits of a plain pass afterwards');
    } finally {
      engine.close();
    }
  });
}

const TINY: Partial<ViTConfig> = {
  image_size: 8,
  patch_size: 2,
  num_channels: 3,
  hidden_size: 8,
  num_attention_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 12,
  num_classes: 3,
  initializer_range: 0.5,
  final_layernorm: true,
};
const PATCHES = 16;
const BATCH = 4;
const KEPT = 5;
/** No image keeps it, so its position embedding gets no gradient. */
const DROPPED_EVERYWHERE = 7;

/** A model with parameters moved off their initial values, a random batch set, and a selection that never keeps DROPPED_EVERYWHERE. */
async function setUp(
  engine: Engine,
  config: Partial<ViTConfig>,
  batch: number,
): Promise<{ model: ViTForClassification; tokens: TokenSelection }> {
  const rng = new Random(5);
  const model = await ViTForClassification.create(config, { engine, seed: 3 });
  for (const p of model.parameters.list) {
    const v = await model.parameters.values(p.name);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! + 0.3 * rng.normal();
    model.parameters.setValues(p.name, v);
  }
  model.setImages(
    Float32Array.from({ length: batch * model.imageFloats }, () => rng.normal()),
    batch,
  );
  model.setLabels(
    Array.from({ length: batch }, () => rng.int(model.config.num_classes)),
    batch,
  );
  const tokens = drawKeptPatches(rng, batch, PATCHES - 1, KEPT);
  tokens.indices.forEach((p, i) => {
    tokens.indices[i] = p >= DROPPED_EVERYWHERE ? p + 1 : p;
  });
  return { model, tokens };
}

test("with patches dropped, every kind of parameter's gradient matches finite differences of the loss", async () => {
  const engine = await createEngine({ threads: 1 });
  try {
    const { model, tokens } = await setUp(engine, TINY, BATCH);
    const meanLoss = async (): Promise<number> => {
      model.forward(BATCH, true, false, tokens);
      await model.loss();
      return (await model.readLosses()).reduce((s, l) => s + l, 0) / BATCH;
    };
    model.parameters.zeroGrad();
    await meanLoss();
    model.backward();
    const gradients = await gradientsOf(model);

    const h = TINY.hidden_size!;
    const keptPatch = tokens.indices[0]!;
    const position = 'embedding.position_embeddings';
    const coordinates: Array<{ name: string; index: number }> = [
      { name: position, index: 2 }, // [CLS]'s position
      { name: position, index: (1 + keptPatch) * h + 3 },
    ];
    const rng = new Random(9);
    for (const p of model.parameters.list) for (let k = 0; k < 3; k++) coordinates.push({ name: p.name, index: rng.int(p.size) });

    const STEP = 2e-2,
      RTOL = 2e-2,
      NOISE = 5e-5;
    const failures: string[] = [];
    let caught = 0;
    for (const { name, index } of coordinates) {
      const v = await model.parameters.values(name);
      const original = v[index]!;
      const lossAt = (x: number): Promise<number> => {
        v[index] = x;
        model.parameters.setValues(name, v);
        return meanLoss();
      };
      const central = async (step: number): Promise<number> => {
        const up = Math.fround(original + step),
          down = Math.fround(original - step);
        return ((await lossAt(up)) - (await lossAt(down))) / (up - down);
      };
      const numeric = (4 * (await central(STEP)) - (await central(2 * STEP))) / 3; // Richardson: the h² term cancels
      v[index] = original;
      model.parameters.setValues(name, v);
      const analytic = gradients.get(name)![index]!;
      const within = (a: number): boolean => Math.abs(a - numeric) <= RTOL * Math.max(Math.abs(a), Math.abs(numeric)) + NOISE;
      if (!within(analytic)) failures.push(`${name}[${index}]: analytic ${analytic}, numeric ${numeric}`);
      if (!within(1.1 * analytic)) caught++;
    }
    assert.deepEqual(failures, [], `${failures.length} of ${coordinates.length} coordinates differ`);
    assert.ok(caught >= 0.8 * coordinates.length, `a 10% error would fail only ${caught} of ${coordinates.length} coordinates`);

    // A patch no image keeps moves nothing: its position embedding's gradient is exactly 0.
    const droppedRow = gradients.get(position)!.subarray((1 + DROPPED_EVERYWHERE) * h, (2 + DROPPED_EVERYWHERE) * h);
    assert.deepEqual([...droppedRow], new Array(h).fill(0), "the dropped patch's position embedding has no gradient");
    const v = await model.parameters.values(position);
    const before = await meanLoss();
    v[(1 + DROPPED_EVERYWHERE) * h] += 1;
    model.parameters.setValues(position, v);
    assert.equal(await meanLoss(), before, "the dropped patch's position embedding does not change the loss");
  } finally {
    engine.close();
  }
});

test('keeping every patch is the plain pass exactly (logits, loss, gradients)', async () => {
  const engine = await createEngine({ threads: 2 });
  try {
    const batch = 5;
    const { model } = await setUp(engine, { ...TINY, final_layernorm: false }, batch);
    const every: TokenSelection = { kept: PATCHES, indices: Int32Array.from({ length: batch * PATCHES }, (_, i) => i % PATCHES) };
    const run = async (tokens?: TokenSelection): Promise<{ logits: Float32Array; loss: number; gradients: Parameters }> => {
      model.parameters.zeroGrad();
      model.forward(batch, true, false, tokens);
      const logits = await model.readLogits();
      const loss = await model.loss(0.1);
      model.backward();
      return { logits, loss, gradients: await gradientsOf(model) };
    };
    const plain = await run(),
      kept = await run(every);
    assert.deepEqual(kept.logits, plain.logits);
    assert.equal(kept.loss, plain.loss);
    for (const [name, g] of plain.gradients) assert.deepEqual(kept.gradients.get(name), g, name);
  } finally {
    engine.close();
  }
});

test('drawKeptPatches: distinct, increasing, in range, different between images, every patch equally likely', () => {
  const random = new Random(1);
  const batch = 2000,
    patches = 64,
    kept = 32;
  const out = new Int32Array(batch * kept + 3);
  const { kept: k, indices } = drawKeptPatches(random, batch, patches, kept, out);
  assert.equal(k, kept);
  assert.equal(indices, out, 'writes into the array given');
  const counts = new Array<number>(patches).fill(0);
  const subsets = new Set<string>();
  for (let b = 0; b < batch; b++) {
    const row = indices.subarray(b * kept, (b + 1) * kept);
    for (let j = 0; j < kept; j++) {
      assert.ok(row[j]! >= 0 && row[j]! < patches, `image ${b}: index ${row[j]} out of range`);
      if (j > 0) assert.ok(row[j]! > row[j - 1]!, `image ${b}: indices not increasing at ${j}`);
      counts[row[j]!]!++;
    }
    subsets.add(row.join(','));
  }
  assert.ok(subsets.size >= batch - 1, `only ${subsets.size} different subsets in ${batch} images`);
  // each patch is kept with probability 1/2: 1000 of 2000 images, standard deviation 22
  const expected = (batch * kept) / patches;
  for (let p = 0; p < patches; p++)
    assert.ok(Math.abs(counts[p]! - expected) < 120, `patch ${p} kept ${counts[p]} times, expected about ${expected}`);
  const all = drawKeptPatches(random, 3, patches, patches);
  assert.deepEqual(
    [...all.indices.subarray(patches, 2 * patches)],
    Array.from({ length: patches }, (_, i) => i),
    'kept = all is every patch',
  );
});

test('a bad selection or draw is one clear UserError', async () => {
  const random = new Random(1);
  assert.throws(
    () => drawKeptPatches(random, 2, 16, 0),
    (e) => e instanceof UserError && /kept must be a whole number from 1 to 16 \(got 0\)/.test(e.message),
  );
  assert.throws(
    () => drawKeptPatches(random, 2, 16, 17),
    (e) => e instanceof UserError && /kept must be/.test(e.message),
  );
  assert.throws(
    () => drawKeptPatches(random, 1.5, 16, 4),
    (e) => e instanceof UserError && /batch must be/.test(e.message),
  );
  assert.throws(
    () => drawKeptPatches(random, 2, 16, 4, new Int32Array(7)),
    (e) => e instanceof UserError && /out must be an Int32Array of at least 8/.test(e.message),
  );
  const engine = await createEngine({ threads: 1 });
  try {
    const { model } = await setUp(engine, TINY, 2);
    const bad: Array<[TokenSelection, RegExp]> = [
      [{ kept: 17, indices: new Int32Array(34) }, /trainBatch: tokens.kept must be a whole number from 1 to 16 \(got 17\)/],
      [{ kept: 2, indices: new Int32Array(3) }, /trainBatch: tokens.indices must be an Int32Array of at least 2 × 2/],
      [{ kept: 2, indices: Int32Array.of(0, 1, 3, 3) }, /trainBatch: image 1's kept patches must increase within 0..15 \(index 1 is 3\)/],
      [{ kept: 2, indices: Int32Array.of(0, 16, 1, 2) }, /image 0's kept patches must increase within 0..15 \(index 1 is 16\)/],
    ];
    for (const [tokens, message] of bad)
      assert.throws(
        () => model.trainBatch(2, 0, tokens),
        (e) => e instanceof UserError && message.test(e.message),
      );
  } finally {
    engine.close();
  }
});
