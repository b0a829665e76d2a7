import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSafetensors } from '../src/io/safetensors-format.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { AdamW } from '../src/train/adamw.js';
import { decodeTrainingCheckpoint, encodeTrainingCheckpoint, restoreTrainingCheckpoint } from '../src/train/checkpoint.js';
import { emptyMetrics } from '../src/train/metrics.js';
import { WeightAverage } from '../src/index.js';
import { TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-ema-');
const BATCH = 16;

/** A tiny model, its optimizer and an average of decay `decay`, on the first 16 sample images. */
async function setup(decay: number, seed = 3): Promise<{ model: ViTForClassification; optimizer: AdamW; average: WeightAverage }> {
  const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine, seed });
  const train = readCifar10(sampleDataDir(), 'train');
  model.setImages(
    Float32Array.from(train.images.subarray(0, BATCH * 3072), (x) => (x / 255 - 0.5) / 0.5),
    BATCH,
  );
  model.setLabels(train.labels, BATCH);
  return { model, optimizer: new AdamW(model.parameters, { lr: 3e-3 }), average: new WeightAverage(model.parameters, decay) };
}

/** One real training step on the batch set in `setup`. */
function step(model: ViTForClassification, optimizer: AdamW): void {
  model.parameters.zeroGrad();
  model.trainBatch(BATCH);
  optimizer.update();
}

function weights(model: ViTForClassification): Promise<Float32Array> {
  return model.parameters.readAll();
}

function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.slice().buffer);
}

function checkpointState(model: ViTForClassification, optimizer: AdamW) {
  return {
    epoch: 1,
    step: optimizer.step,
    dataRandom: [1, 2, 3, 4],
    dropoutRandom: model.dropoutRandom.state(),
    metrics: emptyMetrics('test'),
    config: model.config,
    settings: {},
  };
}

describe('WeightAverage', () => {
  it('follows avg ← d·avg + (1 − d)·weights with d = min(decay, (1 + t)/(10 + t)), as a float64 reference', async () => {
    const decay = 0.5; // reached at t = 8: the warmup and the plain decay both run in 12 steps
    const { model, optimizer, average } = await setup(decay);
    const reference = Float64Array.from(await weights(model));
    for (let t = 0; t < 12; t++) {
      step(model, optimizer);
      average.update();
      const d = Math.min(decay, (1 + t) / (10 + t));
      const w = await weights(model);
      for (let i = 0; i < reference.length; i++) reference[i] = d * reference[i]! + (1 - d) * w[i]!;
    }
    assert.equal(average.updates, 12);
    const { values } = await average.state();
    let worst = 0;
    let apart = 0;
    const w = await weights(model);
    for (let i = 0; i < values.length; i++) {
      worst = Math.max(worst, Math.abs(values[i]! - reference[i]!));
      apart = Math.max(apart, Math.abs(values[i]! - w[i]!));
    }
    assert.ok(worst < 1e-6, `largest difference from the reference ${worst}`);
    assert.ok(apart > 1e-3, `the average lags the weights (largest gap ${apart})`);
    optimizer.release();
    model.release();
  });

  it('swaps the average in for a while and puts the trained weights back bit for bit, also after a throw', async () => {
    const { model, optimizer, average } = await setup(0.9);
    for (let t = 0; t < 4; t++) {
      step(model, optimizer);
      average.update();
    }
    const trained = bits(await weights(model));
    const averaged = (await average.state()).values;
    const seen = await average.withAveragedWeights(() => weights(model));
    assert.deepEqual(bits(seen), bits(averaged), 'the model holds the average inside');
    assert.deepEqual(bits(await weights(model)), trained, 'the trained weights are back');
    assert.deepEqual(bits((await average.state()).values), bits(averaged), 'the average is unchanged');
    await assert.rejects(
      average.withAveragedWeights(() => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(bits(await weights(model)), trained);
    await assert.rejects(
      average.withAveragedWeights(() => average.update()),
      UserError,
      'no update while swapped',
    );
    assert.deepEqual(bits(await weights(model)), trained);
    optimizer.release();
    model.release();
  });

  it('rides in the training checkpoint and comes back bit for bit', async () => {
    const first = await setup(0.99);
    for (let t = 0; t < 3; t++) {
      step(first.model, first.optimizer);
      first.average.update();
    }
    const bytes = await encodeTrainingCheckpoint(
      first.model,
      first.optimizer,
      checkpointState(first.model, first.optimizer),
      first.average,
    );
    const checkpoint = decodeTrainingCheckpoint(bytes, 'checkpoint.safetensors');
    assert.equal(checkpoint.average?.updates, 3);

    const second = await setup(0.99, 8);
    restoreTrainingCheckpoint(checkpoint, second.model, second.optimizer, 'checkpoint.safetensors', second.average);
    assert.equal(second.average.updates, 3);
    assert.deepEqual(bits((await second.average.state()).values), bits((await first.average.state()).values));
    assert.deepEqual(bits(await weights(second.model)), bits(await weights(first.model)));
    // Both continue alike.
    step(first.model, first.optimizer);
    first.average.update();
    step(second.model, second.optimizer);
    second.average.update();
    assert.deepEqual(bits((await second.average.state()).values), bits((await first.average.state()).values));
    first.optimizer.release();
    first.model.release();
    second.optimizer.release();
    second.model.release();
  });

  it('a checkpoint without an average (a run that keeps none, as before) loads; the average restarts from its weights', async () => {
    const first = await setup(0.99);
    step(first.model, first.optimizer);
    const bytes = await encodeTrainingCheckpoint(first.model, first.optimizer, checkpointState(first.model, first.optimizer));
    const { tensors, metadata } = parseSafetensors(bytes, 'old.safetensors');
    const names = [...tensors.keys(), ...Object.keys(metadata)];
    assert.ok(
      names.every((name) => !name.startsWith('ema')),
      `no average in it: ${names.join(', ')}`,
    );
    const checkpoint = decodeTrainingCheckpoint(bytes, 'old.safetensors');
    assert.equal(checkpoint.average, undefined);

    const second = await setup(0.99, 8);
    second.average.update();
    restoreTrainingCheckpoint(checkpoint, second.model, second.optimizer, 'old.safetensors', second.average);
    assert.equal(second.average.updates, 0);
    assert.deepEqual(bits((await second.average.state()).values), bits(await weights(first.model)));
    // And a run without an average ignores one in the checkpoint: the model gets the trained weights, not the average.
    first.average.update();
    const trained = bits(await weights(first.model));
    assert.notDeepEqual(bits((await first.average.state()).values), trained, 'the average is not the trained weights');
    const withAverage = await encodeTrainingCheckpoint(
      first.model,
      first.optimizer,
      checkpointState(first.model, first.optimizer),
      first.average,
    );
    const third = await setup(0.99, 9);
    restoreTrainingCheckpoint(decodeTrainingCheckpoint(withAverage, 'new.safetensors'), third.model, third.optimizer, 'new.safetensors');
    assert.deepEqual(bits(await weights(third.model)), trained, 'the trained weights are loaded');
    assert.equal(third.optimizer.step, first.optimizer.step);
    third.optimizer.release();
    third.model.release();
    first.optimizer.release();
    first.model.release();
    second.optimizer.release();
    second.model.release();
  });

  it('refuses a decay outside [0, 1) and a checkpoint whose average is half there', async () => {
    const { model, optimizer, average } = await setup(0.9);
    assert.throws(() => new WeightAverage(model.parameters, 1), /decay must be a number in \[0, 1\)/);
    assert.throws(() => new WeightAverage(model.parameters, -0.1), /decay must be a number in \[0, 1\)/);
    const bytes = await encodeTrainingCheckpoint(model, optimizer, checkpointState(model, optimizer), average);
    const checkpoint = decodeTrainingCheckpoint(bytes, 'c.safetensors');
    checkpoint.average!.params.delete('classifier.weight');
    assert.throws(
      () => restoreTrainingCheckpoint(checkpoint, model, optimizer, 'c.safetensors', average),
      /c\.safetensors: the checkpoint lacks the weights' average for classifier\.weight/,
    );
    optimizer.release();
    model.release();
  });
});
