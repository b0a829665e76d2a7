// Training with the weights' moving average (--ema) and flip test-time augmentation (--tta flip),
// issue #11 item 2: the evaluations and the saved model use the average, a resumed run continues
// it exactly, and the flip accuracy is reported beside the single view, as `vit eval --tta flip` says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleDataDir } from '../src/data/location.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import type { ImageSet } from '../src/data/cifar10.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { modelFromFiles } from '../src/weights/model-in-memory.js';
import { trainingData } from '../src/train/data-sets.js';
import { type TrainOptions, readTrainingCheckpoint, train } from '../src/train/experiment-folder.js';
import { resolveSettings } from '../src/train/settings.js';
import { type RunStore, Trainer } from '../src/train/trainer.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-ema-');

const run = (expName: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  expName,
  outDir: sandbox.root,
  dataDir: sampleDataDir(),
  config: TINY_CONFIG,
  engine: sandbox.engine,
  recipe: 'fast',
  batchSize: 20,
  warmupEpochs: 1,
  trainSamples: 100,
  testSamples: 60,
  seed: 5,
  epochs: 3,
  emaDecay: 0.9,
  tta: 'flip',
  ...extra,
});

/** Flip TTA by hand: each image and its mirror (column x from 31 − x) through the model, their softmaxes averaged. */
async function flipByHand(model: ViTForClassification, set: ImageSet): Promise<{ accuracy: number; loss: number }> {
  const views: Float64Array[] = [];
  for (const mirrored of [false, true]) {
    const pixels = new Float32Array(set.count * 3072);
    for (let i = 0; i < set.count * 3 * 32; i++) {
      for (let x = 0; x < 32; x++) pixels[i * 32 + x] = (set.images[i * 32 + (mirrored ? 31 - x : x)]! / 255 - 0.5) / 0.5;
    }
    model.setImages(pixels, set.count);
    views.push(Float64Array.from(await model.infer(set.count)));
  }
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < set.count; i++) {
    const mean = new Float64Array(10);
    for (const logits of views) {
      const row = logits.subarray(i * 10, (i + 1) * 10);
      const max = Math.max(...row);
      const sum = row.reduce((a, z) => a + Math.exp(z - max), 0);
      for (let k = 0; k < 10; k++) mean[k]! += Math.exp(row[k]! - max) / sum / 2;
    }
    if (mean.indexOf(Math.max(...mean)) === set.labels[i]) correct++;
    loss -= Math.log(mean[set.labels[i]!]!);
  }
  return { accuracy: correct / set.count, loss: loss / set.count };
}

describe('training with a moving average of the weights and flip TTA', () => {
  it('saves the average of the weights after every step, as a float64 average of them computed here', async () => {
    // 3 epochs of 5 steps: the decay's warmup (1 + t)/(10 + t) reaches 0.5 at t = 8, so both regimes run.
    const decay = 0.5;
    const settings = resolveSettings({
      expName: 'x',
      dataDir: sampleDataDir(),
      threads: 2,
      recipe: 'fast',
      epochs: 3,
      batchSize: 20,
      trainSamples: 100,
      testSamples: 20,
      seed: 7,
      emaDecay: decay,
    });
    const data = trainingData(readCifar10(sampleDataDir(), 'train'), () => readCifar10(sampleDataDir(), 'test'), settings);
    const probe = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine });
    const { config } = probe;
    probe.release();
    let saved: Uint8Array | undefined;
    const store: RunStore = {
      location: 'memory',
      saveConfig() {},
      saveCheckpoint() {},
      saveMetrics() {},
      saveModel(bytes, _epoch, final) {
        if (final) saved = bytes;
      },
    };
    const reference = new Map<string, Float64Array>();
    let steps = 0;
    const trainer = await Trainer.create({ engine: sandbox.engine, config, settings }, 'test', store, {
      // After each step (and the trainer's own update of its average): the trained weights of that step.
      async onBatch() {
        const d = Math.min(decay, (1 + steps) / (10 + steps));
        for (const [name, w] of await trainer.model.stateDict()) {
          const avg = reference.get(name)!;
          for (let i = 0; i < avg.length; i++) avg[i] = d * avg[i]! + (1 - d) * w[i]!;
        }
        steps++;
      },
    });
    const initial = await trainer.model.stateDict();
    for (const [name, w] of initial) reference.set(name, Float64Array.from(w));
    try {
      await trainer.train(data);
    } finally {
      trainer.release();
    }
    assert.equal(steps, 15);
    assert.ok(saved, 'the final model was saved');
    const model = modelFromFiles([{ name: 'model_final.safetensors', bytes: saved }]).params;
    assert.equal(model.size, reference.size);
    let worst = 0;
    let moved = 0;
    for (const [name, values] of model) {
      const expected = reference.get(name)!;
      const start = initial.get(name)!;
      for (let i = 0; i < values.length; i++) {
        worst = Math.max(worst, Math.abs(values[i]! - expected[i]!));
        moved = Math.max(moved, Math.abs(values[i]! - start[i]!));
      }
    }
    assert.ok(worst < 1e-6, `the saved model is ${worst} from the average computed here`);
    assert.ok(moved > 1e-3, `the saved model moved from the initial weights (largest change ${moved})`);
  });

  it('saves the average as the model and the trained weights in the checkpoint', async () => {
    const result = await train(run('ema'));
    const checkpoint = readTrainingCheckpoint(join(result.experimentDir, 'checkpoint.safetensors'));
    // the model file in the seed's names, read back into the model's own (as the checkpoint keeps them)
    const model = loadCheckpoint(join(result.experimentDir, 'model_final.safetensors')).params;
    assert.ok(checkpoint.average, 'the checkpoint keeps the average');
    assert.equal(model.size, checkpoint.params.size);
    let differs = false;
    for (const [name, values] of model) {
      assert.deepEqual(values, checkpoint.average.params.get(name), `${name} is the average`);
      differs ||= values.some((v, i) => v !== checkpoint.params.get(name)![i]);
    }
    assert.ok(differs, 'the average differs from the trained weights');
  });

  it('reports flip accuracies beside the single view, as computed by hand and as vit eval --tta flip on the saved model', async () => {
    // the whole sample (2,000 training images), so that the model is past chance and its mirror views disagree
    const result = await train(run('flip', { emaDecay: 0, trainSamples: null, testSamples: null, batchSize: 50 }));
    const { accuracies, test_losses: losses, flip_accuracies: flips } = result.metrics;
    assert.equal(flips?.length, 3);
    const cli = spawnSync(process.execPath, [CLI, 'eval', '--model', result.experimentDir, '--sample', '--tta', 'flip', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, VIT_THREADS: '2' },
    });
    assert.equal(cli.status, 0, cli.stderr);
    const evaluated = JSON.parse(cli.stdout) as { accuracy: number; loss: number; flip: { accuracy: number; loss: number } };
    assert.equal(evaluated.accuracy, accuracies.at(-1));
    assert.ok(Math.abs(evaluated.loss - losses.at(-1)!) < 1e-5, `loss ${evaluated.loss} vs ${losses.at(-1)}`);
    assert.equal(evaluated.flip.accuracy, flips.at(-1));
    // The saved model's flip figures on the sample's 500 test images, computed here without await evaluate().
    const saved = loadCheckpoint(join(result.experimentDir, 'model_final.safetensors'));
    const model = await ViTForClassification.create(saved.config, { engine: sandbox.engine });
    model.loadStateDict(saved.params);
    const byHand = await flipByHand(model, readCifar10(sampleDataDir(), 'test'));
    model.release();
    assert.equal(flips.at(-1), byHand.accuracy);
    assert.ok(Math.abs(evaluated.flip.loss - byHand.loss) < 1e-5, `flip loss ${evaluated.flip.loss} vs ${byHand.loss} by hand`);
    // the mirrored view really was measured (accuracies of a small model may tie; losses do not)
    assert.notEqual(evaluated.flip.loss, evaluated.loss, 'the flip view differs');
  });

  it('a stopped run resumes the average exactly', async () => {
    const straight = await train(run('ema-straight'));
    const controller = new AbortController();
    const stopped = await train(run('ema-resumed', { signal: controller.signal }), { onEpochEnd: () => controller.abort() });
    assert.equal(stopped.epochsDone, 1);
    const resumed = await train({ expName: 'ema-resumed', outDir: sandbox.root, engine: sandbox.engine, resume: stopped.experimentDir });
    assert.deepEqual(resumed.metrics.accuracies, straight.metrics.accuracies);
    assert.deepEqual(resumed.metrics.flip_accuracies, straight.metrics.flip_accuracies);
    const a = readSafetensors(join(resumed.experimentDir, 'model_final.safetensors')).tensors;
    const b = readSafetensors(join(straight.experimentDir, 'model_final.safetensors')).tensors;
    for (const [name, tensor] of a) assert.deepEqual(tensor.data, b.get(name)!.data, name);
  });
});
