import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { subset } from '../src/data/cifar10.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { Random } from '../src/random.js';
import { argmax, evaluate } from '../src/train/evaluate.js';
import { readTrainingCheckpoint, train } from '../src/train/experiment-folder.js';
import { loadCheckpoint, saveCheckpoint } from '../src/weights/files.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

const run = promisify(execFile);

const sandbox = trainingSandbox('vit-eval-');

async function loaded(path: string): Promise<ViTForClassification> {
  const { config, params } = loadCheckpoint(path);
  const model = await ViTForClassification.create(config, { engine: sandbox.engine });
  model.loadStateDict(params);
  return model;
}

async function cliEval(model: string, ...extra: string[]): Promise<{ accuracy: number; loss: number; images: number; flip?: unknown }> {
  const { stdout } = await run(process.execPath, [CLI, 'eval', '--model', model, '--sample', '--json', '--threads', '2', ...extra]);
  return JSON.parse(stdout) as { accuracy: number; loss: number; images: number; flip?: unknown };
}

/** Softmax of each row of [rows, 10] logits in float64. */
function softmaxes(logits: Float32Array, rows: number): number[][] {
  return Array.from({ length: rows }, (_, i) => {
    const row = Array.from(logits.subarray(i * 10, (i + 1) * 10));
    const max = Math.max(...row);
    const exps = row.map((z) => Math.exp(z - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  });
}

describe('evaluate', () => {
  it('counts the images whose largest logit is their label, and averages the cross-entropy', async () => {
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine, seed: 5 });
    const set = subset(readCifar10(sampleDataDir(), 'test'), 37, new Random(3));
    const whole = await evaluate(model, set, 16);
    // By hand: the seed's normalization ((x / 255 − 0.5) / 0.5), the model's logits in one pass, then
    // argmax and cross-entropy (log-sum-exp minus the label's logit) in float64.
    const pixels = Float32Array.from(set.images.subarray(0, set.count * 3072), (x) => (x / 255 - 0.5) / 0.5);
    model.setImages(pixels, set.count);
    model.forward(set.count);
    const logits = await model.readLogits();
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < set.count; i++) {
      const row = Array.from(logits.subarray(i * 10, (i + 1) * 10));
      const label = set.labels[i]!;
      const max = Math.max(...row);
      if (row.indexOf(max) === label) correct++;
      loss += max + Math.log(row.reduce((sum, z) => sum + Math.exp(z - max), 0)) - row[label]!;
    }
    assert.equal(whole.images, 37);
    assert.equal(whole.accuracy, correct / 37);
    assert.ok(Math.abs(whole.loss - loss / 37) < 1e-5, `${whole.loss} vs ${loss / 37}`);
    assert.ok(whole.loss > 2 && whole.loss < 2.6, 'an untrained model is near ln 10');
    model.parameters.release();
  });

  it('with flip, also averages the probabilities of each image and its mirror, as computed by hand', async () => {
    // Initial weights 10× the seed's spread: confident predictions, far from uniform, that the mirror changes
    const model = await ViTForClassification.create({ ...TINY_CONFIG, initializer_range: 0.2 }, { engine: sandbox.engine, seed: 7 });
    const set = readCifar10(sampleDataDir(), 'test');
    // 500 images in batches of 128: the last batch is a partial one
    const result = await evaluate(model, set, 128, { flip: true });
    const single = await evaluate(model, set, 128);
    assert.deepEqual({ accuracy: result.accuracy, loss: result.loss, images: result.images }, single, 'the single view is as without flip');
    // By hand: each image's bytes mirrored (column x from column 31 − x), normalized, both views through infer().
    const views: number[][][] = [];
    for (const mirrored of [false, true]) {
      const pixels = new Float32Array(set.count * 3072);
      for (let i = 0; i < set.count * 3 * 32; i++) {
        for (let x = 0; x < 32; x++) pixels[i * 32 + x] = (set.images[i * 32 + (mirrored ? 31 - x : x)]! / 255 - 0.5) / 0.5;
      }
      model.setImages(pixels, set.count);
      views.push(softmaxes(await model.infer(set.count), set.count));
    }
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < set.count; i++) {
      const mean = views[0]![i]!.map((p, k) => (p + views[1]![i]![k]!) / 2);
      if (mean.indexOf(Math.max(...mean)) === set.labels[i]) correct++;
      loss -= Math.log(mean[set.labels[i]!]!);
    }
    assert.ok(result.flip, 'flip results are reported');
    assert.equal(result.flip.accuracy, correct / set.count);
    assert.ok(Math.abs(result.flip.loss - loss / set.count) < 1e-6, `${result.flip.loss} vs ${loss / set.count}`);
    assert.ok(Math.abs(result.flip.loss - result.loss) > 0.01, `the mirror changes the figures (${result.flip.loss} vs ${result.loss})`);
    assert.equal(single.flip, undefined);
    model.release();
  });

  it('argmax takes the first of equal maxima', () => {
    assert.equal(argmax([1, 3, 3, 2], 0, 4), 1);
    assert.equal(argmax([9, 1, 3, 3], 1, 3), 1);
  });

  it('vit eval on a saved model file prints what await evaluate() computes', async () => {
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine, seed: 11 });
    const file = join(sandbox.root, 'tiny.safetensors');
    saveCheckpoint(file, model.config, await model.stateDict());
    const expected = await evaluate(await loaded(file), readCifar10(sampleDataDir(), 'test'), 100);
    assert.deepEqual(await cliEval(file, '--batch-size', '100'), { accuracy: expected.accuracy, loss: expected.loss, images: 500 });
  });

  it('vit eval --tta flip prints the flip-averaged figures after the single-view headline', async () => {
    const model = await ViTForClassification.create({ ...TINY_CONFIG, initializer_range: 0.2 }, { engine: sandbox.engine, seed: 12 });
    const file = join(sandbox.root, 'tiny-flip.safetensors');
    saveCheckpoint(file, model.config, await model.stateDict());
    model.release();
    const expected = await evaluate(await loaded(file), readCifar10(sampleDataDir(), 'test'), 100, { flip: true });
    assert.ok(expected.flip);
    assert.deepEqual(await cliEval(file, '--batch-size', '100', '--tta', 'flip'), {
      accuracy: expected.accuracy,
      loss: expected.loss,
      images: 500,
      flip: { accuracy: expected.flip.accuracy, loss: expected.flip.loss },
    });
    const { stdout } = await run(process.execPath, [
      CLI,
      'eval',
      '--model',
      file,
      '--sample',
      '--threads',
      '2',
      '--batch-size',
      '100',
      '--tta',
      'flip',
    ]);
    const line = (accuracy: number, loss: number) =>
      `Accuracy: ${accuracy.toFixed(4)} (${Math.round(accuracy * 500)}/500 test images), Loss: ${loss.toFixed(4)}`;
    assert.equal(stdout, `${line(expected.accuracy, expected.loss)}\nWith flip TTA: ${line(expected.flip.accuracy, expected.flip.loss)}\n`);
  });

  it('vit eval --tta with an unknown mode says so in one line and exits 1', () => {
    const { status, stderr } = spawnSync(
      process.execPath,
      [CLI, 'eval', '--model', join(sandbox.root, 'tiny.safetensors'), '--sample', '--tta', 'mirror'],
      { encoding: 'utf8' },
    );
    assert.equal(status, 1);
    assert.equal(stderr, 'vit: --tta must be "none" or "flip" (got "mirror")\n');
  });

  it('vit eval works on an experiment folder and on a resized model', async () => {
    // image_size 16: BatchMaker resizes the 32×32 test images
    const result = await train({
      expName: 'exp',
      outDir: sandbox.root,
      dataDir: sampleDataDir(),
      engine: sandbox.engine,
      epochs: 1,
      batchSize: 50,
      trainSamples: 100,
      testSamples: 50,
      config: { ...TINY_CONFIG, image_size: 16, patch_size: 4 },
    });
    const expected = await evaluate(await loaded(result.experimentDir), readCifar10(sampleDataDir(), 'test'), 256);
    const printed = await cliEval(result.experimentDir);
    assert.deepEqual(printed, { accuracy: expected.accuracy, loss: expected.loss, images: 500 });

    const { stdout } = await run(process.execPath, [CLI, 'eval', '--model', result.experimentDir, '--sample', '--threads', '2']);
    assert.match(stdout, /^Accuracy: 0\.\d{4} \(\d+\/500 test images\), Loss: \d+\.\d{4}\n$/);
  });

  it('vit eval on a run with no model file yet evaluates its training checkpoint', async () => {
    const controller = new AbortController();
    const result = await train(
      {
        expName: 'unfinished',
        outDir: sandbox.root,
        dataDir: sampleDataDir(),
        engine: sandbox.engine,
        epochs: 3,
        batchSize: 50,
        trainSamples: 100,
        testSamples: 50,
        config: TINY_CONFIG,
        signal: controller.signal,
      },
      { onEpochEnd: () => controller.abort() },
    );
    assert.equal(result.stopped, true);
    const checkpoint = readTrainingCheckpoint(join(result.experimentDir, 'checkpoint.safetensors'));
    const model = await ViTForClassification.create(checkpoint.config, { engine: sandbox.engine });
    model.loadStateDict(checkpoint.params);
    const expected = await evaluate(model, readCifar10(sampleDataDir(), 'test'), 256);
    assert.deepEqual(await cliEval(result.experimentDir), { accuracy: expected.accuracy, loss: expected.loss, images: 500 });
  });

  it('vit eval names a missing data folder', async () => {
    const missing = join(sandbox.root, 'nowhere');
    await assert.rejects(
      run(process.execPath, [CLI, 'eval', '--model', join(sandbox.root, 'tiny.safetensors'), '--data', missing]),
      (e: unknown) => {
        const stderr = (e as { stderr?: string }).stderr ?? '';
        return stderr.includes(missing) && stderr.includes('vit data cifar10') && stderr.includes('--sample');
      },
    );
    await assert.rejects(
      evaluate({} as ViTForClassification, { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0, classNames: [] }, 8),
      UserError,
    );
  });
});
