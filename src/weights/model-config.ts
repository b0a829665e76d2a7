/**
 * Reading a model's config and image preprocessing from JSON already in memory: the part of
 * finding a model that needs no file system, shared by `--model` in Node and the page.
 */
import { UserError } from '../errors.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';
import { fromHfConfig } from './hf-config.js';

/** The image normalization a model was trained with (Hugging Face's preprocessor_config.json). */
export interface Preprocessor {
  mean: number[];
  std: number[];
  /** The side the image is resized to, when the preprocessor says. */
  size?: number;
}

/** Parses `text` as a JSON object; `source` names the file in errors. */
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
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${source}: metadata "config" is not a JSON object`);
  return interpretConfig(json as Record<string, unknown>, `${source} (metadata "config")`).config;
}

function numberList(value: unknown, channels: number, key: string, source: string): number[] {
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new UserError(`${source}: "${key}" must be a number or a list of numbers (got ${JSON.stringify(value)})`);
  }
  if (list.length === 1) return new Array<number>(channels).fill(list[0] as number);
  if (list.length !== channels) throw new UserError(`${source}: "${key}" has ${list.length} values, the model has ${channels} channels`);
  return list as number[];
}

/** Reads Hugging Face's preprocessor_config.json: the normalization, and the resize when it is a square. */
export function parsePreprocessor(json: Record<string, unknown>, config: ViTConfig, source: string): Preprocessor {
  const normalize = json['do_normalize'] !== false;
  const mean = normalize ? numberList(json['image_mean'] ?? [0.5], config.num_channels, 'image_mean', source) : new Array<number>(config.num_channels).fill(0);
  const std = normalize ? numberList(json['image_std'] ?? [0.5], config.num_channels, 'image_std', source) : new Array<number>(config.num_channels).fill(1);
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
    if (!Number.isInteger(side) || (side as number) < 1) throw new UserError(`${source}: "size" must be a side in whole pixels ≥ 1 (got ${JSON.stringify(size)})`);
    preprocessor.size = side as number;
  }
  return preprocessor;
}
