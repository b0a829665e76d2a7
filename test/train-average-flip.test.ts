// Training with the weights' moving average (--ema) and flip test-time augmentation (--tta flip),
// issue #11 item 2: the evaluations and the saved model use the average, a resumed run continues
// it exactly, and the flip accuracy is reported beside the single view, as `vit eval --tta flip` says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleDataDir } from '../src/data/location.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { type TrainOptions, readTrainingCheckpoint, train } from '../src/train/experiment-folder.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-ema-');

const run = (expName: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  expName, outDir: sandbox.root, dataDir: sampleDataDir(), config: TINY_CONFIG, engine: sandbox.engine,
  recipe: 'fast', batchSize: 20, warmupEpochs: 1, trainSamples: 100, testSamples: 60, seed: 5, epochs: 3, emaDecay: 0.9, tta: 'flip', ...extra,
});

describe('training with a moving average of the weights and flip TTA', () => {
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

  it('reports flip accuracies beside the single view, as vit eval --tta flip on the saved model', async () => {
    // the whole sample (2,000 training images), so that the model is past chance and its mirror views disagree
    const result = await train(run('flip', { emaDecay: 0, trainSamples: null, testSamples: null, batchSize: 50 }));
    const { accuracies, test_losses: losses, flip_accuracies: flips } = result.metrics;
    assert.equal(flips?.length, 3);
    const cli = spawnSync(process.execPath, [CLI, 'eval', '--model', result.experimentDir, '--sample', '--tta', 'flip', '--json'],
      { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '2' } });
    assert.equal(cli.status, 0, cli.stderr);
    const evaluated = JSON.parse(cli.stdout) as { accuracy: number; loss: number; flip: { accuracy: number; loss: number } };
    assert.equal(evaluated.accuracy, accuracies.at(-1));
    assert.ok(Math.abs(evaluated.loss - losses.at(-1)!) < 1e-5, `loss ${evaluated.loss} vs ${losses.at(-1)}`);
    assert.equal(evaluated.flip.accuracy, flips.at(-1));
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
