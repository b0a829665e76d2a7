// `vit train`: trains a ViT on CIFAR-10 into an experiment folder, as the seed's train.py does.
import { type Command, Option } from 'commander';
import { type AugmentName, type Hyperparameters, type RecipeName, AUGMENT_NAMES, RECIPES, RECIPE_NAMES } from '../../train/recipes.js';
import { progressReporter } from '../../train/progress.js';
import { readCheckpointSettings } from '../../train/checkpoint.js';
import { type TrainOptions, checkpointPathOf, train } from '../../train/trainer.js';
import { engineFor, finiteNumber, nonNegativeInteger, positiveInteger, readConfigFlag, threadsOption } from '../options.js';
import { dataFolder } from './data.js';

interface TrainFlags {
  expName: string;
  batchSize?: number;
  epochs?: number;
  lr?: number;
  saveModelEvery?: number;
  data?: string;
  sample?: boolean;
  config?: string;
  seed?: number;
  threads?: number;
  out?: string;
  trainSamples?: number;
  testSamples?: number;
  recipe?: RecipeName;
  resume?: string;
  initFrom?: string;
  valSplit?: number;
  warmupEpochs?: number;
  labelSmoothing?: number;
  clipGrad?: number;
  augment?: AugmentName;
  weightDecay?: number;
  minLr?: number;
  schedule?: Hyperparameters['schedule'];
}

/** "seed 256, fast 128": each recipe's default for the help text. */
function recipeDefaults(key: keyof Hyperparameters): string {
  return RECIPE_NAMES.map((r) => `${r} ${RECIPES[r][key]}`).join(', ');
}

// No option below has a commander default: an option left out must stay undefined, so that the
// recipe decides it and a resumed run keeps its own value.
export function register(program: Command): void {
  program
    .command('train')
    .description('train a ViT on CIFAR-10; the experiment (config, metrics, models, checkpoint) goes to OUT/NAME')
    .addOption(new Option('--exp-name <name>', 'the experiment\'s name: its folder under --out').makeOptionMandatory())
    .addOption(new Option('--recipe <name>', 'hyper-parameter defaults: "seed" (the seed article) or "fast" (default: seed)').choices(RECIPE_NAMES))
    .addOption(new Option('--epochs <n>', `epochs to train (${recipeDefaults('epochs')})`).argParser(positiveInteger('--epochs')))
    .addOption(new Option('--batch-size <n>', `images per step (${recipeDefaults('batchSize')})`).argParser(positiveInteger('--batch-size')))
    .addOption(new Option('--lr <x>', `(peak) learning rate (${recipeDefaults('lr')})`).argParser(finiteNumber('--lr', 0)))
    .addOption(new Option('--min-lr <x>', `learning rate at the end of a cosine schedule (${recipeDefaults('minLr')})`).argParser(finiteNumber('--min-lr', 0)))
    .addOption(new Option('--schedule <kind>', `learning rate schedule after the warmup (${recipeDefaults('schedule')})`).choices(['constant', 'cosine']))
    .addOption(new Option('--warmup-epochs <x>', `epochs of linear learning rate warmup (${recipeDefaults('warmupEpochs')})`).argParser(finiteNumber('--warmup-epochs', 0)))
    .addOption(new Option('--weight-decay <x>', `AdamW's decoupled weight decay (${recipeDefaults('weightDecay')})`).argParser(finiteNumber('--weight-decay', 0)))
    .addOption(new Option('--label-smoothing <x>', `label smoothing ε in [0, 1) (${recipeDefaults('labelSmoothing')})`).argParser(finiteNumber('--label-smoothing', 0, 1)))
    .addOption(new Option('--clip-grad <x>', `clip the gradients' global L2 norm to this; 0 = off (${recipeDefaults('clipGrad')})`).argParser(finiteNumber('--clip-grad', 0)))
    .addOption(new Option('--augment <kind>', `rrc: RandomResizedCrop(0.8-1) + flip; crop: pad 4, random crop + flip; none (${recipeDefaults('augment')})`).choices(AUGMENT_NAMES))
    .addOption(new Option('--save-model-every <n>', 'also save model_{epoch}.safetensors every N epochs; 0 = only model_final (default 0)').argParser(nonNegativeInteger('--save-model-every')))
    .option('--data <dir>', "the cifar-10-batches-bin folder (default: where 'vit data cifar10' puts it)")
    .option('--sample', 'train on the small sample bundled with vit-ts (2,000 training and 500 test images)')
    .option('--config <file-or-json>', 'model config keys over the seed config (or the --init-from model\'s): a JSON file, or JSON text like \'{"hidden_size":64}\'')
    .addOption(new Option('--seed <n>', 'seed of the weights, dropout, subsets, shuffling and augmentation (default 0)').argParser(nonNegativeInteger('--seed')))
    .addOption(threadsOption())
    .option('--out <dir>', 'the folder of experiments (default: experiments)')
    .addOption(new Option('--train-samples <n>', 'train on a random subset of this many images').argParser(positiveInteger('--train-samples')))
    .addOption(new Option('--test-samples <n>', 'evaluate on a random subset of this many test images').argParser(positiveInteger('--test-samples')))
    .addOption(new Option('--val-split <n>', 'hold out N training images and evaluate on them instead of the test set (for choosing hyper-parameters)').argParser(nonNegativeInteger('--val-split')))
    .option('--resume <dir>', "continue an experiment from its checkpoint (the run's options are kept; --epochs may grow)")
    .option('--init-from <path>', 'fine-tune a trained model (a Hugging Face ViT folder, an experiment, a .safetensors file) ' +
      'with its normalization; --config may change num_classes (a fresh classifier), image_size (position embeddings ' +
      'interpolated), the dropout and labels')
    .addHelpText('after', `
Recipes:
  seed  the seed article: AdamW (lr 1e-2, weight decay 1e-2) at a constant learning rate,
        RandomResizedCrop(0.8-1, 3/4-4/3) + flip, batch 256, 100 epochs.
  fast  aims at the seed's test accuracy (75.5%) in fewer epochs on a CPU: batch 128, 3 warmup epochs
        then cosine decay from 5e-3 to 1e-5, weight decay 1e-2, gradient clipping at 1, padded
        crop + flip, 50 epochs; --label-smoothing is there, off by default. lr, weight decay and label
        smoothing were chosen with --val-split 5000; 50 epochs because 40 fell short of 75.5% on the test set.
Any option above overrides the recipe's value.

A checkpoint is written after every epoch; after a crash or Ctrl-C,
  vit train --exp-name NAME --resume experiments/NAME
continues exactly where the last finished epoch left off.

Fine-tuning a pretrained ViT (e.g. google/vit-base-patch16-224 from the Hugging Face hub) on CIFAR-10:
  vit train --exp-name vit-b16 --init-from DIR --config '{"num_classes": 10}' --recipe fast --epochs 3 \\
    --warmup-epochs 0.5 --lr 5e-5 --batch-size 16
The 32×32 images are resized to the model's image_size; the README's "Pretrained ImageNet ViTs" says more.`)
    .action(async (flags: TrainFlags) => {
      await trainCommand(flags);
    });
}

async function trainCommand(flags: TrainFlags): Promise<void> {
  const dataDir = dataFolder(flags, flags.resume !== undefined);
  // Same thread count as before by default: it keeps a resumed run's losses bit-identical.
  const engine = await engineFor(flags.threads ?? (flags.resume !== undefined ? savedThreads(flags.resume) : undefined));
  const options: TrainOptions = {
    expName: flags.expName,
    engine,
    recipe: flags.recipe,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    lr: flags.lr,
    minLr: flags.minLr,
    schedule: flags.schedule,
    warmupEpochs: flags.warmupEpochs,
    weightDecay: flags.weightDecay,
    labelSmoothing: flags.labelSmoothing,
    clipGrad: flags.clipGrad,
    augment: flags.augment,
    dataDir,
    outDir: flags.out,
    config: flags.config === undefined ? undefined : readConfigFlag(flags.config),
    seed: flags.seed,
    trainSamples: flags.trainSamples,
    testSamples: flags.testSamples,
    valSplit: flags.valSplit,
    saveModelEvery: flags.saveModelEvery,
    resume: flags.resume,
    initFrom: flags.initFrom,
  };

  // Ctrl-C stops after the current batch, keeping the last finished epoch's files; a second one quits at once.
  const controller = new AbortController();
  const reporter = progressReporter();
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(130);
    reporter.close();
    process.stderr.write('Stopping after this batch (press Ctrl-C again to quit now)…\n');
    controller.abort();
  };
  process.on('SIGINT', onInterrupt);
  try {
    const result = await train({ ...options, signal: controller.signal }, reporter);
    if (result.stopped) {
      process.stdout.write(`Stopped after epoch ${result.epochsDone}. Continue with: vit train --exp-name ${result.settings.expName} ` +
        `--resume ${result.experimentDir}\n`);
      process.exitCode = 130;
    }
  } finally {
    reporter.close();
    process.off('SIGINT', onInterrupt);
  }
}

function savedThreads(resume: string): number | undefined {
  const threads = readCheckpointSettings(checkpointPathOf(resume))['threads'];
  return typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 ? threads : undefined;
}

