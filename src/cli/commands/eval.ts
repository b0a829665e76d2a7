// `vit eval`: a trained model's accuracy and mean cross-entropy on the CIFAR-10 test set, and with
// --tta flip also those of each image's probabilities averaged with its mirror's (reported apart:
// the headline figure stays single-view, as the seed's).
import type { Command } from 'commander';
import type { Backend } from '../../runtime/engine.js';
import { Option } from 'commander';
import { loadModel, modelNormalization } from '../../api.js';
import { basename, join } from 'node:path';
import { TEST_FILE, checkLabelsFit, firstImages } from '../../data/cifar10.js';
import { readCifar10 } from '../../data/cifar10-files.js';
import { readSafetensorsHeader } from '../../io/safetensors.js';
import { CHECKPOINT_FILE } from '../../io/experiment-layout.js';
import { UserError } from '../../errors.js';
import { type Evaluation, evaluate } from '../../train/evaluate.js';
import { TTA_NAMES, type TtaName } from '../../train/settings.js';
import { loadCheckpoint } from '../../weights/files.js';
import { backendOption, engineFor, modelOption, positiveInteger, threadsOption } from '../options.js';
import { dataFolder } from './data.js';

interface EvalFlags {
  model: string;
  data?: string;
  sample?: boolean;
  json?: boolean;
  batchSize: number;
  threads?: number;
  backend?: Backend;
  tta?: TtaName;
  testSamples?: number;
}

function ttaMode(value: string): TtaName {
  const mode = TTA_NAMES.find((m) => m === value);
  if (!mode) throw new UserError(`--tta must be ${TTA_NAMES.map((m) => `"${m}"`).join(' or ')} (got "${value}")`);
  return mode;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description("a model's accuracy and mean cross-entropy loss on the CIFAR-10 test set (test_batch.bin)")
    .addOption(modelOption())
    .option('--data <dir>', "the cifar-10-batches-bin folder (default: where 'vit data cifar10' puts it)")
    .option('--sample', 'use the small sample bundled with vit-ts (500 test images)')
    .option(
      '--json',
      'print one JSON object: { "accuracy": fraction, "loss": number, "images": N } (with --tta, also "flip": { "accuracy", "loss" })',
    )
    .addOption(
      new Option(
        '--tta <mode>',
        'also report test-time augmentation: "flip" averages the probabilities of each image and its mirror',
      ).argParser(ttaMode),
    )
    .addOption(
      new Option('--test-samples <n>', 'evaluate on the first N test images, as vit train --test-samples N and the page do').argParser(
        positiveInteger('--test-samples'),
      ),
    )
    .addOption(new Option('--batch-size <n>', 'images per forward pass').default(256).argParser(positiveInteger('--batch-size')))
    .addOption(threadsOption())
    .addOption(backendOption())
    .action(async (flags: EvalFlags) => {
      await evalCommand(flags);
    });
}

async function evalCommand(flags: EvalFlags): Promise<void> {
  const dir = dataFolder(flags)!;
  const engine = await engineFor(flags.threads, flags.backend);
  const whole = readCifar10(dir, 'test');
  const test = flags.testSamples === undefined ? whole : firstImages(whole, flags.testSamples);
  // Resolved here once (not by loadModel) so that the file it picked can be named.
  const { config, params, files } = loadCheckpoint(flags.model);
  checkLabelsFit(test, config.num_classes, join(dir, TEST_FILE), files.weightsPath);
  const model = await loadModel({ config, params, preprocessor: files.preprocessor }, { engine });
  if (basename(files.weightsPath) === CHECKPOINT_FILE && !flags.json) {
    process.stdout.write(
      `(no model file yet: the training checkpoint after epoch ${readSafetensorsHeader(files.weightsPath).metadata['epoch']})\n`,
    );
  }
  const { mean, std } = await modelNormalization(model);
  const result = await evaluate(model, test, flags.batchSize, { mean: [...mean], std: [...std], flip: flags.tta === 'flip' });
  if (flags.json) {
    const { accuracy, loss, images, flip } = result;
    process.stdout.write(JSON.stringify({ accuracy, loss, images, ...(flip ? { flip } : {}) }) + '\n');
    return;
  }
  process.stdout.write(summary(result, result.images) + '\n');
  if (result.flip) process.stdout.write(`With flip TTA: ${summary(result.flip, result.images)}\n`);
}

function summary({ accuracy, loss }: Pick<Evaluation, 'accuracy' | 'loss'>, images: number): string {
  return `Accuracy: ${accuracy.toFixed(4)} (${Math.round(accuracy * images)}/${images} test images), Loss: ${loss.toFixed(4)}`;
}
