// `vit eval`: a trained model's accuracy and mean cross-entropy on the CIFAR-10 test set.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadModel, modelNormalization } from '../../api.js';
import { basename, join } from 'node:path';
import { TEST_FILE, checkLabelsFit } from '../../data/cifar10.js';
import { readCifar10 } from '../../data/cifar10-files.js';
import { readSafetensorsHeader } from '../../io/safetensors.js';
import { CHECKPOINT_FILE } from '../../io/experiment-layout.js';
import { evaluate } from '../../train/evaluate.js';
import { loadCheckpoint } from '../../weights/files.js';
import { engineFor, modelOption, positiveInteger, threadsOption } from '../options.js';
import { dataFolder } from './data.js';

interface EvalFlags {
  model: string;
  data?: string;
  sample?: boolean;
  json?: boolean;
  batchSize: number;
  threads?: number;
}

export function register(program: Command): void {
  program
    .command('eval')
    .description("a model's accuracy and mean cross-entropy loss on the CIFAR-10 test set (test_batch.bin)")
    .addOption(modelOption())
    .option('--data <dir>', "the cifar-10-batches-bin folder (default: where 'vit data cifar10' puts it)")
    .option('--sample', 'use the small sample bundled with vit-ts (500 test images)')
    .option('--json', 'print one JSON object: { "accuracy": fraction, "loss": number, "images": N }')
    .addOption(new Option('--batch-size <n>', 'images per forward pass').default(256).argParser(positiveInteger('--batch-size')))
    .addOption(threadsOption())
    .action(async (flags: EvalFlags) => {
      await evalCommand(flags);
    });
}

async function evalCommand(flags: EvalFlags): Promise<void> {
  const dir = dataFolder(flags)!;
  const engine = await engineFor(flags.threads);
  const test = readCifar10(dir, 'test');
  // Resolved here once (not by loadModel) so that the file it picked can be named.
  const { config, params, files } = loadCheckpoint(flags.model);
  checkLabelsFit(test, config.num_classes, join(dir, TEST_FILE), files.weightsPath);
  const model = await loadModel({ config, params, preprocessor: files.preprocessor }, { engine });
  if (basename(files.weightsPath) === CHECKPOINT_FILE && !flags.json) {
    process.stdout.write(`(no model file yet: the training checkpoint after epoch ${readSafetensorsHeader(files.weightsPath).metadata['epoch']})\n`);
  }
  const { mean, std } = await modelNormalization(model);
  const result = evaluate(model, test, flags.batchSize, { mean: [...mean], std: [...std] });
  if (flags.json) {
    process.stdout.write(JSON.stringify({ accuracy: result.accuracy, loss: result.loss, images: result.images }) + '\n');
    return;
  }
  const correct = Math.round(result.accuracy * result.images);
  process.stdout.write(`Accuracy: ${result.accuracy.toFixed(4)} (${correct}/${result.images} test images), ` +
    `Loss: ${result.loss.toFixed(4)}\n`);
}
