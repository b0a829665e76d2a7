// `vit eval`: a trained model's accuracy and mean cross-entropy on the CIFAR-10 test set.
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadModel, modelNormalization } from '../../api.js';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readCifar10 } from '../../data/cifar10.js';
import { CHECKPOINT_FILE, type TrainingCheckpoint, readTrainingCheckpoint } from '../../train/checkpoint.js';
import { evaluate } from '../../train/evaluate.js';
import type { Preprocessor } from '../../weights/files.js';
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

/**
 * A run still training (or killed) has no model file yet, only its checkpoint: evaluate that.
 * Returns null when `path` holds a model file, which is then preferred.
 */
function trainingCheckpointOf(path: string): TrainingCheckpoint | null {
  let names: string[];
  try {
    if (!statSync(path).isDirectory()) return basename(path) === CHECKPOINT_FILE ? readTrainingCheckpoint(path) : null;
    names = readdirSync(path);
  } catch {
    return null; // loadModel names the problem
  }
  const hasModel = names.some((n) => /^model_(final|\d+)\.safetensors$/.test(n));
  return !hasModel && names.includes(CHECKPOINT_FILE) ? readTrainingCheckpoint(join(path, CHECKPOINT_FILE)) : null;
}

/** The run's normalization (a fine-tuned run keeps its --init-from model's), kept in the checkpoint's settings; else 0.5. */
function trainingNormalization(checkpoint: TrainingCheckpoint): Preprocessor {
  const numbers = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const { mean, std } = checkpoint.settings;
  return numbers(mean) && numbers(std) && std.every((s) => s > 0) ? { mean, std } : { mean: [0.5], std: [0.5] };
}

async function evalCommand(flags: EvalFlags): Promise<void> {
  const dir = dataFolder(flags)!;
  const engine = await engineFor(flags.threads);
  const test = readCifar10(dir, 'test');
  const checkpoint = trainingCheckpointOf(flags.model);
  const model = checkpoint
    ? await loadModel({ config: checkpoint.config, params: checkpoint.params, preprocessor: trainingNormalization(checkpoint) }, { engine })
    : await loadModel(flags.model, { engine });
  if (checkpoint && !flags.json) process.stdout.write(`(the training checkpoint after epoch ${checkpoint.epoch})\n`);
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
