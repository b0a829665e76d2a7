import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { type TrainOptions, type TrainResult, readTrainingCheckpoint, train } from '../src/train/experiment-folder.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

// Dropout on, so that the dropout generator's state must be restored too.
const TINY_WITH_DROPOUT = { ...TINY_CONFIG, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };

const sandbox = trainingSandbox('vit-resume-');

const run = (expName: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  expName,
  outDir: sandbox.root,
  dataDir: sampleDataDir(),
  config: TINY_WITH_DROPOUT,
  engine: sandbox.engine,
  batchSize: 40,
  lr: 3e-3,
  trainSamples: 200,
  testSamples: 80,
  seed: 7,
  ...extra,
});

function assertSameRun(resumed: TrainResult, straight: TrainResult): void {
  for (const key of ['train_losses', 'test_losses', 'accuracies'] as const) {
    assert.deepEqual(resumed.metrics[key], straight.metrics[key], key);
  }
  const a = readSafetensors(join(resumed.experimentDir, 'model_final.safetensors')).tensors;
  const b = readSafetensors(join(straight.experimentDir, 'model_final.safetensors')).tensors;
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, tensor] of a) assert.deepEqual(tensor.data, b.get(name)!.data, name);
  // the optimizer's moments and the generators too, so that a third epoch would also agree
  const ca = readTrainingCheckpoint(join(resumed.experimentDir, 'checkpoint.safetensors'));
  const cb = readTrainingCheckpoint(join(straight.experimentDir, 'checkpoint.safetensors'));
  assert.equal(ca.step, cb.step);
  assert.deepEqual(ca.dataRandom, cb.dataRandom);
  assert.deepEqual(ca.dropoutRandom, cb.dropoutRandom);
  for (const [name, m] of ca.moment1) assert.deepEqual(m, cb.moment1.get(name), `m of ${name}`);
  for (const [name, v] of ca.moment2) assert.deepEqual(v, cb.moment2.get(name), `v of ${name}`);
}

describe('resume', () => {
  it('1 epoch, then resumed to 2, equals 2 epochs straight (seed recipe)', async () => {
    const straight = await train(run('seed-straight', { epochs: 2 }));
    const first = await train(run('seed-resumed', { epochs: 1 }));
    assert.equal(first.metrics.train_losses.length, 1);
    const notices: string[] = [];
    const resumed = await train(
      { expName: 'seed-resumed', outDir: sandbox.root, engine: sandbox.engine, epochs: 2, resume: first.experimentDir },
      { onNotice: (n) => notices.push(n) },
    );
    assert.deepEqual(notices, []);
    assert.equal(resumed.epochsDone, 2);
    assertSameRun(resumed, straight);
  });

  it('a run stopped after epoch 1 and resumed equals the uninterrupted run (fast recipe)', async () => {
    const fast: Partial<TrainOptions> = { recipe: 'fast', epochs: 2, batchSize: 40, warmupEpochs: 1, valSplit: 40 };
    const straight = await train(run('fast-straight', fast));
    const controller = new AbortController();
    const stopped = await train(run('fast-resumed', { ...fast, signal: controller.signal }), { onEpochEnd: () => controller.abort() });
    assert.equal(stopped.stopped, true);
    assert.equal(stopped.epochsDone, 1);
    // options left out come from the checkpoint, not from the defaults
    const resumed = await train({ expName: 'fast-resumed', outDir: sandbox.root, engine: sandbox.engine, resume: stopped.experimentDir });
    assert.equal(resumed.settings.recipe, 'fast');
    assertSameRun(resumed, straight);
  });

  it('resumes into a new experiment folder, and refuses options that would change the run', async () => {
    const from = join(sandbox.root, 'seed-straight');
    const forked = await train({ expName: 'forked', outDir: sandbox.root, engine: sandbox.engine, epochs: 3, resume: from });
    assert.equal(forked.metrics.train_losses.length, 3);
    assert.ok(existsSync(join(sandbox.root, 'forked', 'model_final.safetensors')));
    await assert.rejects(
      train({ expName: 'forked2', outDir: sandbox.root, engine: sandbox.engine, lr: 1, resume: from }),
      (e: unknown) => e instanceof UserError && e.message.startsWith('lr 1 differs'),
    );
    await assert.rejects(
      train({ expName: 'forked3', outDir: sandbox.root, engine: sandbox.engine, epochs: 1, resume: from }),
      (e: unknown) => e instanceof UserError && e.message.startsWith('epochs 1 is fewer'),
    );
    await assert.rejects(
      train({ expName: 'x', outDir: sandbox.root, engine: sandbox.engine, resume: join(sandbox.root, 'nothing-here') }),
      (e: unknown) => e instanceof UserError && e.message.includes('nothing-here'),
    );
  });

  it('a killed run leaves whole files, and resuming removes its temporaries', async () => {
    const name = 'killed';
    const dir = join(sandbox.root, name);
    const child: ChildProcess = spawn(
      process.execPath,
      [
        CLI,
        'train',
        '--exp-name',
        name,
        '--out',
        sandbox.root,
        '--sample',
        '--config',
        JSON.stringify(TINY_WITH_DROPOUT),
        '--epochs',
        '1000',
        '--batch-size',
        '20',
        '--train-samples',
        '60',
        '--test-samples',
        '20',
        '--threads',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    // Kill it, unwarned, a few epochs in: most likely in the middle of a step, sometimes in a write.
    const deadline = Date.now() + 60_000;
    while ((output.match(/^Epoch: /gm) ?? []).length < 3) {
      assert.ok(Date.now() < deadline && child.exitCode === null, `the training did not get going:\n${output}`);
      await new Promise((done) => setTimeout(done, 20));
    }
    child.kill('SIGKILL');
    await exited;

    const checkpoint = readTrainingCheckpoint(join(dir, 'checkpoint.safetensors'));
    assert.ok(checkpoint.epoch >= 3);
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { train_losses: number[] };
    // metrics.json is written just after the checkpoint: equal, or one epoch behind
    assert.ok([checkpoint.epoch, checkpoint.epoch - 1].includes(metrics.train_losses.length));
    assert.deepEqual(metrics.train_losses, checkpoint.metrics.train_losses.slice(0, metrics.train_losses.length));

    const resumed = await train({ expName: name, outDir: sandbox.root, engine: sandbox.engine, epochs: checkpoint.epoch + 1, resume: dir });
    assert.equal(resumed.metrics.train_losses.length, checkpoint.epoch + 1);
    assert.deepEqual(resumed.metrics.train_losses.slice(0, -1), checkpoint.metrics.train_losses);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('.tmp')),
      [],
    );
  });
});
