// `vit attention`: the seed notebook's figure of where the [CLS] token looks, image by image.
import { extname } from 'node:path';
import type { Backend } from '../../runtime/engine.js';
import { type Command, Option } from 'commander';
import { loadModel, modelLabels, modelNormalization } from '../../api.js';
import { BatchMaker } from '../../data/augment.js';
import { CIFAR10_SIZE, type ImageSet, subset } from '../../data/cifar10.js';
import { readCifar10 } from '../../data/cifar10-files.js';
import { sampleDataDir } from '../../data/location.js';
import { parseDecimal } from '../../decimal.js';
import { UserError } from '../../errors.js';
import { checkOutputFile } from '../../io/atomic.js';
import { type RgbImage, loadImageForModel, normalizeInto } from '../../images.js';
import { type LayerChoice, clsAttentionMaps } from '../../model/cls-attention.js';
import { numPatches } from '../../model/config.js';
import type { ViTForClassification } from '../../model/vit.js';
import { Random } from '../../random.js';
import { type AttentionItem, writeAttentionFigure } from '../../viz/attention-figure.js';
import { backendOption, engineFor, modelOption, nonNegativeInteger, positiveInteger, threadsOption } from '../options.js';

interface AttentionOptions {
  model: string;
  data?: string;
  sample?: boolean;
  n: number;
  layer: string;
  out: string;
  seed: number;
  columns?: number;
  threads?: number;
  backend?: Backend;
}

/** Images per forward pass: bounds the memory the attention probabilities take. */
const BATCH = 32;

export function register(program: Command): void {
  program
    .command('attention')
    .description("draw the [CLS] token's attention over test images or your own images")
    .argument('[image...]', 'your own images (PNG, JPEG, …), instead of --data or --sample')
    .addOption(modelOption())
    .addOption(new Option('--data <dir>', 'draw test images of this CIFAR-10 folder (cifar-10-batches-bin)').conflicts('sample'))
    .addOption(new Option('--sample', 'draw test images of the CIFAR-10 sample bundled with vit-ts'))
    .addOption(
      new Option('--n <count>', 'how many test images to draw (with --data or --sample)').default(30).argParser(positiveInteger('--n')),
    )
    .addOption(
      new Option('--seed <seed>', 'which test images: the seed of their random choice').default(0).argParser(nonNegativeInteger('--seed')),
    )
    .addOption(new Option('--layer <layer>', 'a block from 0 to layers − 1, or "all" for the mean over the blocks').default('all'))
    .addOption(new Option('--out <file>', 'the figure to write (.png)').makeOptionMandatory())
    .addOption(new Option('--columns <count>', 'images per row of the figure (default: 5)').argParser(positiveInteger('--columns')))
    .addOption(threadsOption())
    .addOption(backendOption())
    .action(async (images: string[], options: AttentionOptions, command: Command) => {
      const nGiven = command.getOptionValueSource('n') === 'cli' || command.getOptionValueSource('seed') === 'cli';
      await drawAttention(images, options, nGiven);
    });
}

function parseLayer(value: string, layers: number): LayerChoice {
  if (value === 'all') return 'all';
  const n = parseDecimal(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n >= layers) {
    throw new UserError(`--layer must be "all" or a block from 0 to ${layers - 1} (got "${value}")`);
  }
  return n;
}

async function drawAttention(images: string[], options: AttentionOptions, nOrSeedGiven: boolean): Promise<void> {
  const sources = (images.length > 0 ? 1 : 0) + (options.data !== undefined ? 1 : 0) + (options.sample ? 1 : 0);
  if (sources !== 1) throw new UserError('give exactly one of --data DIR, --sample, or image files');
  if (images.length > 0 && nOrSeedGiven) throw new UserError('--n and --seed choose test images; they go with --data or --sample');
  // Refuse a wrong name before the work, not after.
  if (extname(options.out).toLowerCase() !== '.png')
    throw new UserError(`--out ${options.out}: the figure is written as PNG; use a .png file name`);
  checkOutputFile(options.out, '--out');

  const engine = await engineFor(options.threads, options.backend);
  const model = await loadModel(options.model, { engine });
  const layer = parseLayer(options.layer, model.config.num_hidden_layers);
  const items =
    images.length > 0
      ? await userImageItems(model, images, layer)
      : await testImageItems(model, options.data ?? sampleDataDir(), options.n, options.seed, layer);
  await writeAttentionFigure(items, options.out, options.columns === undefined ? {} : { columns: options.columns });
  process.stdout.write(`wrote ${options.out} (${items.length} image${items.length === 1 ? '' : 's'})\n`);
}

/** Predictions and [CLS] attention maps for test images of a CIFAR-10 folder: title gt / pred, coloured by correctness. */
async function testImageItems(
  model: ViTForClassification,
  dir: string,
  n: number,
  seed: number,
  layer: LayerChoice,
): Promise<AttentionItem[]> {
  const chosen = subset(readCifar10(dir, 'test'), n, new Random(seed));
  const labels = await modelLabels(model);
  const { mean, std } = await modelNormalization(model);
  const maker = new BatchMaker(model.config.image_size, model.config.num_channels, { mean: [...mean], std: [...std] }, new Random(seed));
  const indices = Uint32Array.from({ length: chosen.count }, (_, i) => i);
  const items: AttentionItem[] = [];
  for (let start = 0; start < chosen.count; start += BATCH) {
    const count = Math.min(BATCH, chosen.count - start);
    maker.fill(model.imageBuffer(count), chosen, indices, start, count, false);
    const { predictions, maps } = await predictWithAttention(model, count, layer);
    for (let i = 0; i < count; i++) {
      const truth = chosen.labels[start + i]!;
      items.push({
        image: interleave(chosen, start + i),
        width: CIFAR10_SIZE,
        height: CIFAR10_SIZE,
        attention: maps[i]!,
        gridSize: gridSide(model),
        title: `gt: ${chosen.classNames[truth] ?? truth} / pred: ${labels[predictions[i]!]}`,
        correct: truth === predictions[i],
      });
    }
  }
  return items;
}

/** Predictions and maps for the user's images, shown as the model sees them (resized); titled with the prediction alone. */
async function userImageItems(model: ViTForClassification, files: string[], layer: LayerChoice): Promise<AttentionItem[]> {
  const labels = await modelLabels(model);
  const normalization = await modelNormalization(model);
  const size = model.config.image_size;
  const items: AttentionItem[] = [];
  for (let start = 0; start < files.length; start += BATCH) {
    const chunk = files.slice(start, start + BATCH);
    const pictures: RgbImage[] = await Promise.all(chunk.map((file) => loadImageForModel(file, size, file)));
    const input = model.imageBuffer(chunk.length);
    pictures.forEach((p, i) => normalizeInto(p, model.config.num_channels, normalization, input, i * model.imageFloats));
    const { predictions, maps } = await predictWithAttention(model, chunk.length, layer);
    pictures.forEach((picture, i) => {
      items.push({
        image: picture.data,
        width: picture.width,
        height: picture.height,
        attention: maps[i]!,
        gridSize: gridSide(model),
        title: `pred: ${labels[predictions[i]!]}`,
      });
    });
  }
  return items;
}

const gridSide = (model: ViTForClassification): number => Math.round(Math.sqrt(numPatches(model.config)));

/** Runs the images in the model's input buffer; returns each one's best class and [CLS] attention map. */
async function predictWithAttention(
  model: ViTForClassification,
  count: number,
  layer: LayerChoice,
): Promise<{ predictions: number[]; maps: Float32Array[] }> {
  model.forward(count);
  const logits = await model.readLogits();
  const classes = model.config.num_classes;
  const predictions = Array.from({ length: count }, (_, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[i * classes + c]! > logits[i * classes + best]!) best = c;
    return best;
  });
  return { predictions, maps: await clsAttentionMaps(model, count, layer) };
}

/** Test image `index` of the set, from its R, G, B planes to interleaved RGB bytes. */
function interleave(set: ImageSet, index: number): Uint8Array {
  const plane = CIFAR10_SIZE * CIFAR10_SIZE;
  const planes = set.images.subarray(index * 3 * plane, (index + 1) * 3 * plane);
  const rgb = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    rgb[p * 3] = planes[p]!;
    rgb[p * 3 + 1] = planes[plane + p]!;
    rgb[p * 3 + 2] = planes[2 * plane + p]!;
  }
  return rgb;
}
