// The training parts of the library refuse what they cannot use with a UserError naming the
// argument, instead of a TypeError from deep inside or a run on wrong data.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { ViTForClassification } from '../src/model/vit.js';
import { AdamW } from '../src/train/adamw.js';
import { evaluate } from '../src/train/evaluate.js';
import { train } from '../src/train/experiment-folder.js';
import { resolveSettings } from '../src/train/settings.js';
import { type RunStore, Trainer } from '../src/train/trainer.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-train-arguments-');

const refused =
  (pattern: RegExp) =>
  (e: unknown): boolean =>
    e instanceof UserError && pattern.test(e.message);

const store: RunStore = { location: 'memory', saveConfig() {}, saveCheckpoint() {}, saveMetrics() {}, saveModel() {} };

describe('the training parts of the library check their arguments', () => {
  it('evaluate: the model, a released model and the image set', async () => {
    const set = readCifar10(sampleDataDir(), 'test');
    await assert.rejects(
      evaluate(null as unknown as ViTForClassification, set, 10),
      refused(/evaluate: model must be a ViTForClassification \(got null\)/),
    );
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine });
    await assert.rejects(
      evaluate(model, { ...set, images: new Uint8Array(5) }, 10),
      refused(/evaluate: set must be an image set .*images must be a Uint8Array/),
    );
    await assert.rejects(evaluate(model, 'test' as unknown as typeof set, 10), refused(/evaluate: set must be an image set/));
    model.release();
    await assert.rejects(evaluate(model, set, 10), refused(/evaluate: the model was released/));
  });

  it('AdamW: the parameters and the options', async () => {
    const model = await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine });
    try {
      assert.throws(
        () => new AdamW(model as unknown as ViTForClassification['parameters'], { lr: 1e-3 }),
        refused(/AdamW: the first argument must be a model's parameters/),
      );
      assert.throws(() => new AdamW(model.parameters, { lr: Number.NaN }), refused(/AdamW: options.lr must be a number/));
      assert.throws(() => new AdamW(model.parameters, null as unknown as { lr: number }), refused(/AdamW: options must be an object/));
    } finally {
      model.release();
    }
  });

  it('Trainer: the engine, the settings, the store and the data', async () => {
    const settings = resolveSettings({ expName: 'x', dataDir: 'memory', threads: 2, epochs: 1 });
    const spec = {
      engine: sandbox.engine,
      config: (await ViTForClassification.create(TINY_CONFIG, { engine: sandbox.engine })).config,
      settings,
    };
    await assert.rejects(
      Trainer.create({ ...spec, engine: {} as typeof spec.engine }, 'test', store),
      refused(/spec.engine must be an Engine/),
    );
    await assert.rejects(
      Trainer.create({ ...spec, settings: { ...settings, lr: -1 } }, 'test', store),
      refused(/spec.settings: --lr must be a number > 0/),
    );
    await assert.rejects(
      Trainer.create(spec, 'test', { location: 'x' } as RunStore),
      refused(/store must be a RunStore \(it lacks saveConfig\)/),
    );
    await assert.rejects(Trainer.create(spec, 'train' as 'test', store), refused(/evaluatedOn must be "test" or "validation"/));
    const trainer = await Trainer.create(spec, 'test', store);
    try {
      const set = readCifar10(sampleDataDir(), 'test');
      await assert.rejects(
        trainer.train({ trainSet: set, evalSet: null as unknown as typeof set, evaluatedOn: 'test' }),
        refused(/data.evalSet must be an image set/),
      );
    } finally {
      trainer.release();
    }
  });

  it("train: messages name the library's options, where `vit train` names its flags", async () => {
    await assert.rejects(
      train({ expName: 'x', dataDir: sampleDataDir(), minLr: 1 }),
      refused(/^minLr must be a number from 0 to lr \(0\.01\)/),
    );
    await assert.rejects(train({ expName: 'x', dataDir: sampleDataDir(), batchSize: 0 }), refused(/^batchSize must be a whole number ≥ 1/));
    await assert.rejects(train({ expName: 'x' }), refused(/set dataDir to a cifar-10-batches-bin folder .*sampleDataDir\(\)/));
    const cli = spawnSync(process.execPath, [CLI, 'train', '--exp-name', 'x', '--sample', '--min-lr', '1'], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /^vit: --min-lr must be a number from 0 to --lr \(0\.01\)/);
  });

  it('train: callbacks must be an object', async () => {
    await assert.rejects(
      train({ expName: 'x', dataDir: sampleDataDir() }, 'quiet' as unknown as object),
      refused(/train: callbacks must be an object \(got a string\)/),
    );
  });
});
