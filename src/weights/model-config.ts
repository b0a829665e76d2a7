/**
 * Reading a model's config and image preprocessing from JSON already in memory: the part of
 * finding a model that needs no file system, shared by `--model` in Node and the page.
 */
import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { CHECKPOINT_FILE, CHECKPOINT_PARAM_PREFIX, FINAL_MODEL_FILE, epochOfModelFile } from '../io/experiment-layout.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';
import { fromHfConfig } from './hf-config.js';

/** The image normalization a model was trained with (Hugging Face's preprocessor_config.json). */
export interface Preprocessor {
  mean: number[];
  std: number[];
  /** The side the image is resized to, when the preprocessor says. */
  size?: number;
}

/** What `--model` (and the page's Open) accepts, for error messages. */
export const EXPECTED =
  `expected a .safetensors file, or a folder holding config.json and ${FINAL_MODEL_FILE}, ` +
  `model_{epoch}.safetensors, ${CHECKPOINT_FILE}, weights.safetensors or model.safetensors`;

/**
 * Picks the weights among a folder's file `names`: the final model of an experiment, else its
 * latest saved epoch, else the training checkpoint (a run still going, or killed), else the usual
 * names; in a Hugging Face folder (`hf`), model.safetensors. `folder` names it in errors.
 */
export function chooseWeights(names: readonly string[], hf: boolean, folder: string): string {
  const files = new Set(names);
  if (hf) {
    if (files.has('model.safetensors')) return 'model.safetensors';
    if (files.has('model.safetensors.index.json'))
      throw new UserError(`${folder}: sharded checkpoints (model.safetensors.index.json) are not supported`);
    const other = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => files.has(f));
    if (other) throw new UserError(`${folder}: holds ${other}, but only safetensors weights can be read; expected model.safetensors`);
    throw new UserError(`${folder}: a Hugging Face model folder without model.safetensors`);
  }
  if (files.has(FINAL_MODEL_FILE)) return FINAL_MODEL_FILE;
  let latest: string | undefined;
  let best = -1;
  for (const f of files) {
    const epoch = epochOfModelFile(f);
    if (epoch !== null && epoch > best) {
      best = epoch;
      latest = f;
    }
  }
  if (latest !== undefined) return latest;
  for (const name of [CHECKPOINT_FILE, 'weights.safetensors', 'model.safetensors']) if (files.has(name)) return name;
  const any = [...files].filter((f) => f.endsWith('.safetensors'));
  if (any.length === 1) return any[0]!;
  if (any.length > 1) throw new UserError(`${folder}: cannot tell which weights to load among ${any.join(', ')}; pass the file itself`);
  throw new UserError(`${folder}: no model weights found; ${EXPECTED}`);
}

/** Parses `text` as a JSON object; `source` names the file in errors. */
/**
 * The model's own entries of the weights file `fileName` (tensors, or a header's entries), by name:
 * all of them, but in a training checkpoint only the parameters — beside them are the optimizer's
 * moments — with their prefix removed.
 */
export function modelEntries<T>(entries: Iterable<[string, T]>, fileName: string): Map<string, T> {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const prefix = base === CHECKPOINT_FILE ? CHECKPOINT_PARAM_PREFIX : '';
  return new Map([...entries].filter(([name]) => name.startsWith(prefix)).map(([name, entry]) => [name.slice(prefix.length), entry]));
}

export function parseJsonObject(text: string, source: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${source}: expected a JSON object`);
  return json as Record<string, unknown>;
}

/**
 * Reads a config in any of the forms this project meets: Hugging Face's (has model_type), an
 * experiment's (the model's keys under "model", beside training options), or the seed's flat keys.
 */
export function interpretConfig(json: Record<string, unknown>, source: string): { config: ViTConfig; hf: boolean } {
  const model = json['model'];
  if (typeof model === 'object' && model !== null && !Array.isArray(model)) {
    return { config: resolveConfig(model as Record<string, unknown>, `${source} ("model")`), hf: false };
  }
  if (json['model_type'] !== undefined) return { config: fromHfConfig(json, source), hf: true };
  // An experiment's config.json: the model's keys, and the run's settings under "training".
  const { training: _training, ...modelKeys } = json;
  return { config: resolveConfig(modelKeys, source), hf: false };
}

/** The config a .safetensors file carries in its metadata ("config"), if any; `source` names the file. */
export function configFromMetadata(metadata: Record<string, string>, source: string): ViTConfig | undefined {
  const text = metadata['config'];
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: metadata "config" is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UserError(`${source}: metadata "config" is not a JSON object`);
  return interpretConfig(json as Record<string, unknown>, `${source} (metadata "config")`).config;
}

function numberList(value: unknown, channels: number, key: string, source: string): number[] {
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new UserError(`${source}: "${key}" must be a number or a list of numbers (got ${quoteValue(value)})`);
  }
  if (list.length === 1) return new Array<number>(channels).fill(list[0] as number);
  if (list.length !== channels) throw new UserError(`${source}: "${key}" has ${list.length} values, the model has ${channels} channels`);
  return list as number[];
}

/** Reads Hugging Face's preprocessor_config.json: the normalization, and the resize when it is a square. */
export function parsePreprocessor(json: Record<string, unknown>, config: ViTConfig, source: string): Preprocessor {
  const normalize = json['do_normalize'] !== false;
  const mean = normalize
    ? numberList(json['image_mean'] ?? [0.5], config.num_channels, 'image_mean', source)
    : new Array<number>(config.num_channels).fill(0);
  const std = normalize
    ? numberList(json['image_std'] ?? [0.5], config.num_channels, 'image_std', source)
    : new Array<number>(config.num_channels).fill(1);
  if (std.some((s) => s === 0)) throw new UserError(`${source}: "image_std" must not hold 0`);
  const preprocessor: Preprocessor = { mean, std };
  const size = json['size'];
  let side: unknown;
  if (typeof size === 'number') side = size;
  else if (typeof size === 'object' && size !== null) {
    const s = size as Record<string, unknown>;
    if (typeof s['height'] === 'number' && s['height'] === s['width']) side = s['height'];
    else if (typeof s['shortest_edge'] === 'number') side = s['shortest_edge'];
  }
  if (side !== undefined) {
    if (!Number.isInteger(side) || (side as number) < 1)
      throw new UserError(`${source}: "size" must be a side in whole pixels ≥ 1 (got ${quoteValue(size)})`);
    preprocessor.size = side as number;
  }
  return preprocessor;
}
