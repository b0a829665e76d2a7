import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dataFolder } from '../src/cli/commands/data.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { Random } from '../src/random.js';
import { splitOff } from '../src/train/data-sets.js';
import { type TrainOptions, readTrainingCheckpoint, train } from '../src/train/experiment-folder.js';
import { GradientClipper } from '../src/train/gradient-clipper.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-train-');

const tinyRun = (expName: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  expName,
  outDir: sandbox.root,
  dataDir: sampleDataDir(),
  config: TINY_CONFIG,
  engine: sandbox.engine,
  epochs: 2,
  batchSize: 50,
  lr: 3e-3,
  trainSamples: 300,
  testSamples: 100,
  ...extra,
});

describe('train', () => {
  it('lowers the training loss and writes the experiment as the seed does', async () => {
    const lines: number[] = [];
    const result = await train(tinyRun('short', { epochs: 3, saveModelEvery: 1 }), { onEpochEnd: (r) => lines.push(r.epoch) });
    assert.deepEqual(lines, [1, 2, 3]);
    const dir = join(sandbox.root, 'short');
    const losses = result.metrics.train_losses;
    assert.ok(losses[2]! < losses[0]!, `train loss should fall: ${losses.join(', ')}`);

    // metrics.json: the seed's keys, one entry per epoch
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['train_losses', 'test_losses', 'accuracies', 'epoch_seconds']) {
      const list = metrics[key];
      assert.ok(Array.isArray(list) && list.length === 3 && list.every((v) => typeof v === 'number' && Number.isFinite(v)), key);
    }
    assert.ok((metrics['accuracies'] as number[]).every((a) => a >= 0 && a <= 1));
    assert.equal(metrics['evaluated_on'], 'test');

    // config.json: the model config plus every training option
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['hidden_size'], 32);
    const training = config['training'] as Record<string, unknown>;
    for (const key of [
      'exp_name',
      'batch_size',
      'epochs',
      'lr',
      'save_model_every',
      'recipe',
      'seed',
      'weight_decay',
      'augment',
      'label_smoothing',
      'clip_grad',
      'warmup_epochs',
      'min_lr',
      'train_samples',
      'test_samples',
      'val_split',
      'data_dir',
      'threads',
      'backend',
    ]) {
      assert.ok(key in training, `training.${key}`);
    }
    assert.equal(training['weight_decay'], 1e-2);
    assert.equal(training['backend'], 'wasm', 'the engine the run used');

    // models every epoch but the last, which is model_final
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, [
      'checkpoint.safetensors',
      'config.json',
      'metrics.json',
      'model_1.safetensors',
      'model_2.safetensors',
      'model_final.safetensors',
    ]);
    const final = loadCheckpoint(dir);
    assert.equal(final.files.weightsPath, join(dir, 'model_final.safetensors'));
    assert.equal(final.config.hidden_size, 32);

    // the checkpoint holds the finished epochs, the optimizer's step and the metrics
    const checkpoint = readTrainingCheckpoint(join(dir, 'checkpoint.safetensors'));
    assert.equal(checkpoint.epoch, 3);
    assert.equal(checkpoint.step, 3 * 6);
    assert.deepEqual(checkpoint.metrics.train_losses, losses);
    for (const [name, values] of final.params) assert.deepEqual(checkpoint.params.get(name), values, name);
  });

  it('evaluates on a held-out validation split instead of the test set', async () => {
    const starts: { trainImages: number; evalImages: number; evaluatedOn: string }[] = [];
    const result = await train(tinyRun('val', { epochs: 1, valSplit: 60, recipe: 'fast' }), { onStart: (s) => starts.push(s) });
    assert.deepEqual(
      starts.map(({ trainImages, evalImages, evaluatedOn }) => ({ trainImages, evalImages, evaluatedOn })),
      [{ trainImages: 240, evalImages: 60, evaluatedOn: 'validation' }],
    );
    assert.equal(result.metrics.evaluated_on, 'validation');
  });

  it('splits a validation set off without overlap or loss', () => {
    const set = readCifar10(sampleDataDir(), 'test');
    const { kept, heldOut } = splitOff(set, 123, new Random(1));
    assert.equal(kept.count + heldOut.count, set.count);
    assert.equal(heldOut.count, 123);
    const key = (images: Uint8Array, i: number): string => Buffer.from(images.subarray(i * 3072, i * 3072 + 64)).toString('hex');
    const seen = new Set<string>();
    for (let i = 0; i < kept.count; i++) seen.add(key(kept.images, i));
    for (let i = 0; i < heldOut.count; i++) assert.ok(!seen.has(key(heldOut.images, i)), `image ${i} is in both parts`);
  });

  it('never leaves half-written files, and stops cleanly on its signal', async () => {
    const controller = new AbortController();
    const result = await train(tinyRun('stopped', { epochs: 5, signal: controller.signal }), {
      onBatch: (p) => {
        if (p.epoch === 2 && p.batch === 3) controller.abort();
      },
    });
    assert.equal(result.stopped, true);
    assert.equal(result.epochsDone, 1);
    const dir = join(sandbox.root, 'stopped');
    const files = readdirSync(dir);
    assert.deepEqual(
      files.filter((f) => f.includes('.tmp')),
      [],
    );
    // the last good epoch's checkpoint and metrics, and no final model
    assert.equal(readTrainingCheckpoint(join(dir, 'checkpoint.safetensors')).epoch, 1);
    assert.equal((JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { train_losses: number[] }).train_losses.length, 1);
    assert.ok(!files.includes('model_final.safetensors'));
  });

  it('names a missing data folder and says how to get the data', async () => {
    const missing = join(sandbox.root, 'no-such-data');
    await assert.rejects(
      train(tinyRun('nodata', { dataDir: missing })),
      (e: unknown) =>
        e instanceof UserError && e.message.includes(missing) && e.message.includes('vit data cifar10') && e.message.includes('--sample'),
    );
    assert.ok(!existsSync(join(sandbox.root, 'nodata')), 'no experiment folder is left behind');

    const saved = process.env['VIT_CACHE_DIR'];
    process.env['VIT_CACHE_DIR'] = join(sandbox.root, 'empty-cache');
    try {
      assert.throws(
        () => dataFolder({}),
        (e: unknown) =>
          e instanceof UserError &&
          e.message.includes(join(sandbox.root, 'empty-cache')) &&
          e.message.includes('vit data cifar10') &&
          e.message.includes('--sample'),
      );
    } finally {
      if (saved === undefined) delete process.env['VIT_CACHE_DIR'];
      else process.env['VIT_CACHE_DIR'] = saved;
    }
    assert.throws(() => dataFolder({ data: 'x', sample: true }), /--data.*--sample/);
    assert.equal(dataFolder({ sample: true }), sampleDataDir());
  });

  it('refuses to overwrite an experiment', async () => {
    await assert.rejects(
      train(tinyRun('short')),
      (e: unknown) => e instanceof UserError && /already holds an experiment; continue it with resume /.test(e.message),
    );
  });
});

describe('training step', () => {
  /** Mean over the batch of −(1 − ε)·log p[label] − (ε/K)·Σ log p[k], in double precision. */
  function smoothedLoss(logits: Float32Array, labels: Int32Array, count: number, classes: number, epsilon: number): number {
    let total = 0;
    for (let b = 0; b < count; b++) {
      const row = logits.subarray(b * classes, (b + 1) * classes);
      const max = Math.max(...row);
      const logSum = Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0)) + max;
      let all = 0;
      for (let k = 0; k < classes; k++) all += logSum - row[k]!;
      total += (1 - epsilon) * (logSum - row[labels[b]!]!) + (epsilon / classes) * all;
    }
    return total / count;
  }

  it("label smoothing's gradient matches finite differences of the smoothed loss", async () => {
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine, seed: 3 });
    const count = 6;
    const classes = model.config.num_classes;
    const rng = new Random(9);
    const images = new Float32Array(count * model.imageFloats).map(() => rng.normal());
    const labels = Int32Array.from({ length: count }, (_, i) => (i * 7) % classes);
    const epsilon = 0.1;
    model.setImages(images, count);
    model.setLabels(labels, count);
    const lossAt = async (smoothing: number): Promise<number> => {
      model.forward(count, false);
      return smoothedLoss(await model.readLogits(), labels, count, classes, smoothing);
    };

    // the trainer's step: the smoothed objective's gradient, and plain cross-entropy for the metrics
    model.parameters.zeroGrad();
    model.trainBatch(count, epsilon);
    const objective = await model.readLoss();
    const plain = await model.evaluateLoss();
    const analytic = await model.parameters.gradient('classifier.bias');
    const smoothed = await lossAt(epsilon);
    assert.ok(Math.abs(objective - smoothed) < 1e-5, `smoothed loss ${objective} vs ${smoothed}`);
    const unsmoothedLoss = await lossAt(0);
    assert.ok(Math.abs(plain - unsmoothedLoss) < 1e-5, `plain loss ${plain} vs ${unsmoothedLoss}`);

    const bias = await model.parameters.values('classifier.bias');
    const h = 1e-2;
    const at = async (k: number, value: number): Promise<number> => {
      model.parameters.setValues(
        'classifier.bias',
        Float32Array.from(bias, (b, i) => (i === k ? value : b)),
      );
      return lossAt(epsilon);
    };
    for (let k = 0; k < classes; k++) {
      const original = bias[k]!;
      const up = await at(k, original + h);
      const down = await at(k, original - h);
      model.parameters.setValues('classifier.bias', bias);
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - analytic[k]!) < 2e-5, `class ${k}: finite difference ${numeric}, gradient ${analytic[k]}`);
    }
    // and the smoothing did change the gradient by ε(onehot − 1/K)/B, summed over the batch
    model.parameters.zeroGrad();
    model.trainBatch(count, 0);
    const unsmoothed = await model.parameters.gradient('classifier.bias');
    for (let k = 0; k < classes; k++) {
      const labelled = labels.filter((y) => y === k).length;
      const shift = (epsilon * labelled) / count - epsilon / classes;
      assert.ok(Math.abs(analytic[k]! - unsmoothed[k]! - shift) < 1e-6, `class ${k}`);
    }
    model.parameters.release();
  });

  it("clips the gradients' global norm as clip_grad_norm_", async () => {
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine, seed: 1 });
    const store = model.parameters;
    const grads = new Float32Array(store.count);
    const rng = new Random(2);
    let sum = 0;
    for (const p of store.list) {
      for (let i = 0; i < p.size; i++) {
        const g = rng.normal();
        grads[p.offset + i] = g;
        sum += Math.fround(g) ** 2;
      }
    }
    sandbox.engine.write(store.grads, grads);
    const norm = Math.sqrt(sum);
    const clipper = new GradientClipper(store);
    clipper.clip(norm * 2); // above the norm: unchanged
    const before = await clipper.readNorm();
    assert.ok(Math.abs(before - norm) < 1e-4 * norm);
    assert.ok(Math.abs((await clipper.norm()) - norm) < 1e-4 * norm);
    clipper.clip(1);
    const reported = await clipper.readNorm();
    assert.ok(Math.abs(reported - norm) < 1e-4 * norm);
    const after = await clipper.norm();
    assert.ok(Math.abs(after - 1) < 1e-4, `norm after clipping: ${after}`);
    clipper.release();
    store.release();
  });

  it('writes model files that load and a checkpoint whose tensors are plain F32', () => {
    const { tensors, metadata } = readSafetensors(join(sandbox.root, 'short', 'checkpoint.safetensors'));
    assert.equal(metadata['format'], 'vit-ts-training-checkpoint');
    assert.ok([...tensors.values()].every((t) => t.dtype === 'F32'));
    assert.ok([...tensors.keys()].some((k) => k.startsWith('adamw.m.')));
  });
});
