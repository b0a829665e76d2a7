/**
 * The starting point of a fine-tuning run: a trained checkpoint (a Hugging Face ViT, an experiment,
 * a .safetensors file) adapted to a new task. Only what leaves the trained weights meaningful may
 * change: the classes (a fresh classifier), the image size (position embeddings interpolated to the
 * new patch grid, as transformers' interpolate_pos_encoding and timm do), dropout and class names.
 */
import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { type ViTConfig, checkConfigKeys, resolveConfig } from '../model/config.js';
import { resizeBicubic } from '../model/interpolate.js';
import { Random } from '../random.js';
import { type Preprocessor, loadCheckpoint } from './files.js';

/** Config keys a fine-tuning run may set to something other than the checkpoint's. */
export const CHANGEABLE_KEYS: ReadonlySet<string> = new Set<keyof ViTConfig>([
  'num_classes',
  'image_size',
  'hidden_dropout_prob',
  'attention_probs_dropout_prob',
  'labels',
]);

export interface InitFromOptions {
  /** Seeds the fresh classifier; default 0. */
  seed?: number;
  /** Names where the overrides came from in error messages (default "overrides"). */
  source?: string;
}

export interface InitialModel {
  config: ViTConfig;
  params: Map<string, Float32Array>;
  /** The checkpoint's preprocessor_config.json normalization, when it has one. */
  preprocessor?: Preprocessor;
  /** What was adapted, in words, for the user (empty when nothing was). */
  changes: string[];
}

const CLASSIFIER_WEIGHT = 'classifier.weight';
const CLASSIFIER_BIAS = 'classifier.bias';
const POSITIONS = 'embedding.position_embeddings';

/**
 * Loads the checkpoint at `path` and applies `overrides` (see the module comment). Tensors not
 * adapted are the checkpoint's own, bit for bit. Any other changed key is a UserError naming it.
 */
export function initFrom(path: string, overrides: Partial<ViTConfig> = {}, options: InitFromOptions = {}): InitialModel {
  const source = options.source ?? 'overrides';
  const { config: base, params: loaded, files } = loadCheckpoint(path);
  checkConfigKeys(overrides, source);
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides) as [string, unknown][]) {
    // As resolveConfig: null means "not given".
    if (value === undefined || value === null) continue;
    const current = base[key as keyof ViTConfig];
    if (!CHANGEABLE_KEYS.has(key) && JSON.stringify(value) !== JSON.stringify(current)) {
      throw new UserError(
        `${source}: "${key}" cannot change when fine-tuning ${path} (it is ${JSON.stringify(current)}, ` +
          `got ${quoteValue(value)}); only ${[...CHANGEABLE_KEYS].join(', ')} may`,
      );
    }
    picked[key] = value;
  }
  const merged: Record<string, unknown> = { ...base, ...picked };
  const newClasses = merged['num_classes'] !== base.num_classes;
  // The checkpoint's class names belong to its classifier.
  if (newClasses && picked['labels'] === undefined) delete merged['labels'];
  const config = resolveConfig(merged, source);

  const params = new Map(loaded);
  const changes: string[] = [];
  if (newClasses) {
    const rng = new Random(options.seed ?? 0);
    const weight = new Float32Array(config.num_classes * config.hidden_size);
    // The seed's initialization of a Linear layer: normal(0, initializer_range), zero bias
    for (let i = 0; i < weight.length; i++) weight[i] = rng.normal() * config.initializer_range;
    params.set(CLASSIFIER_WEIGHT, weight);
    params.set(CLASSIFIER_BIAS, new Float32Array(config.num_classes));
    changes.push(`a fresh classifier for ${config.num_classes} classes (the checkpoint's has ${base.num_classes})`);
  }
  if (config.image_size !== base.image_size) {
    const oldGrid = base.image_size / base.patch_size;
    const newGrid = config.image_size / config.patch_size;
    params.set(POSITIONS, interpolatePositions(params.get(POSITIONS)!, config.hidden_size, oldGrid, newGrid));
    changes.push(
      `position embeddings interpolated from ${oldGrid}×${oldGrid} to ${newGrid}×${newGrid} patches ` +
        `(${base.image_size} to ${config.image_size} pixels)`,
    );
  }
  const initial: InitialModel = { config, params, changes };
  if (files.preprocessor) initial.preprocessor = files.preprocessor;
  return initial;
}

/**
 * [1, 1 + g², hidden] position embeddings for a g×g patch grid → the same for newGrid: the [CLS]
 * row kept, the patch rows read as a [g, g, hidden] image and resized bicubically.
 */
export function interpolatePositions(positions: Float32Array, hidden: number, grid: number, newGrid: number): Float32Array {
  if (positions.length !== (1 + grid * grid) * hidden) {
    throw new RangeError(`position embeddings hold ${positions.length} values, not (1 + ${grid}²) × ${hidden}`);
  }
  const patches = resizeBicubic(positions.subarray(hidden), hidden, grid, grid, newGrid, newGrid);
  const out = new Float32Array((1 + newGrid * newGrid) * hidden);
  out.set(positions.subarray(0, hidden));
  out.set(patches, hidden);
  return out;
}
