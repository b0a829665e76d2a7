// `vit train`: trains a ViT on CIFAR-10 into an experiment folder, as the seed's train.py does.
import { type Command, Option } from 'commander';
import { type TrainOptions, runExperiment } from '../../train/experiment-folder.js';
import { formatDuration } from '../../train/metrics.js';
import { progressReporter } from '../../train/progress.js';
import { RECIPE_NAMES, type RecipeName, describeRecipe } from '../../train/recipes.js';
import { type SettingKey, flaggedSettings } from '../../train/settings.js';
import { readConfigFlag } from '../options.js';
import { dataFolder } from './data.js';

/** Flags that are not settings of the run. */
interface OtherFlags {
  sample?: boolean;
  config?: string;
  resume?: string;
}

/** One option per setting with a flag, from the settings table, and the setting each one sets. */
function settingOptions(): { key: SettingKey; option: Option }[] {
  return flaggedSettings().map(({ key, setting }) => {
    const option = new Option(`${setting.flag} ${setting.placeholder ?? '<value>'}`, setting.help);
    if (setting.choices) option.choices(setting.choices);
    const parse = setting.parse;
    if (parse) option.argParser((text: string) => parse(text, setting.flag));
    return { key, option };
  });
}

// No option has a commander default: an option left out must stay undefined, so that the recipe
// decides it and a resumed run keeps its own value.
export function register(program: Command): void {
  const settings = settingOptions();
  const command = program
    .command('train')
    .description('train a ViT on CIFAR-10; the experiment (config, metrics, models, checkpoint) goes to OUT/NAME');
  for (const { option } of settings) command.addOption(option);
  command
    .option('--sample', 'train on the small sample bundled with vit-ts (2,000 training and 500 test images)')
    .option(
      '--config <file-or-json>',
      "model config keys over the seed config (or the --init-from model's): a JSON file, or JSON text like '{\"hidden_size\":64}'",
    )
    .option('--resume <dir>', "continue an experiment from its checkpoint (the run's options are kept; --epochs may grow)")
    .addHelpText(
      'after',
      `
Recipes (docs/recipes.md says how the fast one was chosen):
${RECIPE_NAMES.map((name) => recipeHelp(name)).join('\n')}

Any option above overrides the recipe's value.

A checkpoint is written after every epoch; after a crash or Ctrl-C,
  vit train --resume experiments/NAME
continues exactly where the last finished epoch left off, in that folder (with --out DIR
[--exp-name NEW], in a new folder DIR/NEW instead). One run at a time trains into a folder.

Fine-tuning a pretrained ViT (e.g. google/vit-base-patch16-224 from the Hugging Face hub) on CIFAR-10:
  vit train --exp-name vit-b16 --init-from DIR --config '{"num_classes": 10}' --recipe fast --epochs 3 \\
    --warmup-epochs 0.5 --lr 5e-5 --batch-size 16
The 32×32 images are resized to the model's image_size; the README's "Pretrained ImageNet ViTs" says more.`,
    )
    .action(async (flags: OtherFlags & Record<string, unknown>) => {
      await trainCommand(trainOptions(flags, settings));
    });
}

/** "  fast  AdamW …", wrapped at 100 columns under its name. */
function recipeHelp(name: RecipeName): string {
  const indent = ' '.repeat(8);
  const lines: string[] = [];
  let line = '';
  for (const word of `${describeRecipe(name)}.`.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return `  ${name.padEnd(6)}${lines.join(`\n${indent}`)}`;
}

/** The library's options from the flags: each setting's flag by its attribute name, the rest as they are. */
function trainOptions(flags: OtherFlags & Record<string, unknown>, settings: { key: SettingKey; option: Option }[]): TrainOptions {
  const options: Record<string, unknown> = {};
  for (const { key, option } of settings) options[key] = flags[option.attributeName()];
  options['dataDir'] = dataFolder({ data: options['dataDir'] as string | undefined, sample: flags.sample }, flags.resume !== undefined);
  if (flags.config !== undefined) options['config'] = readConfigFlag(flags.config);
  options['resume'] = flags.resume;
  return options as TrainOptions;
}

async function trainCommand(options: TrainOptions): Promise<void> {
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
    const result = await runExperiment({ ...options, signal: controller.signal }, reporter, 'flags');
    if (result.stopped) {
      process.stdout.write(
        result.epochsDone === 0
          ? 'Stopped before the first epoch ended: nothing was saved; run the same command again to start over.\n'
          : `Stopped after epoch ${result.epochsDone}. Continue with: vit train --resume ${result.experimentDir}\n`,
      );
      process.exitCode = 130;
    } else if (result.settings.timeBudget !== null) {
      process.stdout.write(`Used ${formatDuration(result.runSeconds)} of the ${formatDuration(result.settings.timeBudget)} time budget\n`);
    }
  } finally {
    reporter.close();
    process.off('SIGINT', onInterrupt);
  }
}
