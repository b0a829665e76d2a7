// Evaluates an experiment's trained weights and its weights' moving average (a run trained with
// --ema) on the run's own evaluation set, its validation split with --val-split: whether the average
// helps, measured without the test set. Reads the checkpoint, which keeps both.
//   node scripts/compare-average.js EXPERIMENT_DIR [--data DIR]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { readCifar10 } from '../dist/src/data/cifar10-files.js';
import { defaultDataDir } from '../dist/src/data/location.js';
import { CHECKPOINT_FILE, CONFIG_FILE } from '../dist/src/io/experiment-layout.js';
import { ViTForClassification } from '../dist/src/model/vit.js';
import { getEngine } from '../dist/src/runtime/engine.js';
import { readTrainingCheckpoint } from '../dist/src/train/experiment-folder.js';
import { trainingData } from '../dist/src/train/data-sets.js';
import { evaluate } from '../dist/src/train/evaluate.js';
import { settingsFromJson } from '../dist/src/train/settings.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { data: { type: 'string' } } });
const dir = positionals[0];
if (!dir) throw new Error('usage: node scripts/compare-average.js EXPERIMENT_DIR [--data DIR]');
const config = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8'));
const settings = settingsFromJson(config.training, join(dir, CONFIG_FILE));
const data = values.data ?? settings.dataDir ?? defaultDataDir();
const { evalSet, evaluatedOn } = trainingData(readCifar10(data, 'train'), () => readCifar10(data, 'test'), settings);
const checkpoint = readTrainingCheckpoint(join(dir, CHECKPOINT_FILE));
if (!checkpoint.average) throw new Error(`${dir} was trained without --ema: its checkpoint has no average`);
const model = await ViTForClassification.create(checkpoint.config, { engine: await getEngine() });
const options = { mean: settings.mean, std: settings.std, flip: true };
for (const [name, params] of [
  ['trained weights', checkpoint.params],
  [`average (decay ${settings.emaDecay})`, checkpoint.average.params],
]) {
  model.loadStateDict(params);
  const { accuracy, loss, flip } = await evaluate(model, evalSet, settings.batchSize, options);
  console.log(
    `${name.padEnd(24)} ${evaluatedOn} accuracy ${(100 * accuracy).toFixed(2)}%, loss ${loss.toFixed(4)}; ` +
      `with flip TTA ${(100 * flip.accuracy).toFixed(2)}% (epoch ${checkpoint.epoch}, ${evalSet.count} images)`,
  );
}
