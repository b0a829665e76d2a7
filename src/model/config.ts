import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { unknownNameMessage } from '../did-you-mean.js';

/** The seed article's config keys, plus the keys needed to hold Hugging Face ViTs exactly. */
export interface ViTConfig {
  patch_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  initializer_range: number;
  image_size: number;
  num_classes: number;
  num_channels: number;
  qkv_bias: boolean;
  /** "gelu_new" is the seed's tanh approximation; "gelu" is the exact erf form. */
  hidden_act: 'gelu_new' | 'gelu';
  layer_norm_eps: number;
  /** The seed has no LayerNorm before the classifier; Hugging Face's ViT has one. */
  final_layernorm: boolean;
  /** Class names, in label order; optional. */
  labels?: string[];
}

export const SEED_CONFIG: Readonly<ViTConfig> = Object.freeze({
  patch_size: 4,
  hidden_size: 48,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 4 * 48,
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  initializer_range: 0.02,
  image_size: 32,
  num_classes: 10,
  num_channels: 3,
  qkv_bias: true,
  hidden_act: 'gelu_new',
  layer_norm_eps: 1e-5,
  final_layernorm: false,
});

const POSITIVE_INTEGERS = [
  'patch_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'intermediate_size',
  'image_size',
  'num_classes',
  'num_channels',
] as const;
const PROBABILITIES = ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const;
export const CONFIG_KEYS: readonly string[] = [...Object.keys(SEED_CONFIG), 'labels'];

/** A key that is not a ViTConfig key is a mistake (Hugging Face configs are translated first, see hf-config.ts). */
export function checkConfigKeys(overrides: Record<string, unknown>, source: string): void {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new UserError(`${source}: expected an object of config keys (got ${quoteValue(overrides)})`);
  }
  for (const key of Object.keys(overrides)) {
    if (!CONFIG_KEYS.includes(key)) throw new UserError(`${source}: ${unknownNameMessage('config key', key, CONFIG_KEYS)}`);
  }
}

/**
 * Merges `overrides` over the seed config and checks that the result can work and fits in the
 * engine's memory. `source` names where the overrides came from, for the error message.
 * An unknown key is an error (with the closest known key); null or undefined means "not given".
 */
export function resolveConfig(overrides: Record<string, unknown> = {}, source = 'config'): ViTConfig {
  checkConfigKeys(overrides, source);
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined && value !== null) picked[key] = value;
  }
  const config = { ...SEED_CONFIG, ...picked } as ViTConfig;
  const fail = (key: string, why: string): never => {
    throw new UserError(`${source}: "${key}" ${why} (got ${quoteValue(config[key as keyof ViTConfig])})`);
  };
  for (const key of POSITIVE_INTEGERS) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(key, 'must be a positive integer');
  }
  for (const key of PROBABILITIES) {
    const v = config[key];
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail(key, 'must be a number in [0, 1)');
  }
  if (typeof config.initializer_range !== 'number' || !(config.initializer_range >= 0)) {
    fail('initializer_range', 'must be a number ≥ 0');
  }
  if (typeof config.layer_norm_eps !== 'number' || !(config.layer_norm_eps > 0)) fail('layer_norm_eps', 'must be a number > 0');
  if (typeof config.qkv_bias !== 'boolean') fail('qkv_bias', 'must be true or false');
  if (typeof config.final_layernorm !== 'boolean') fail('final_layernorm', 'must be true or false');
  if (config.hidden_act !== 'gelu_new' && config.hidden_act !== 'gelu') fail('hidden_act', 'must be "gelu_new" or "gelu"');
  if (config.hidden_size % config.num_attention_heads !== 0) {
    fail('hidden_size', `must be divisible by num_attention_heads (${config.num_attention_heads})`);
  }
  if (config.image_size % config.patch_size !== 0) {
    fail('image_size', `must be divisible by patch_size (${config.patch_size})`);
  }
  if (config.labels !== undefined) {
    if (!Array.isArray(config.labels) || config.labels.some((l) => typeof l !== 'string')) fail('labels', 'must be a list of strings');
    if (config.labels.length !== config.num_classes) fail('labels', `must have num_classes (${config.num_classes}) names`);
  }
  checkModelSize(config, source);
  return config;
}

export const headSize = (c: ViTConfig): number => c.hidden_size / c.num_attention_heads;
export const numPatches = (c: ViTConfig): number => (c.image_size / c.patch_size) ** 2;
/** Tokens per image: the patches and the [CLS] token. */
export const sequenceLength = (c: ViTConfig): number => numPatches(c) + 1;

/** The most one engine can hold: WebAssembly's 32-bit memory, 65536 pages of 64 KiB. */
export const ENGINE_MAX_BYTES = 2 ** 32;

/** The number of parameters (floats) of a model of config `c`; see parameters.ts for the tensors. */
export function parameterCount(c: ViTConfig): number {
  const h = c.hidden_size;
  const inter = c.intermediate_size;
  const embeddings = h * c.num_channels * c.patch_size ** 2 + h + h + sequenceLength(c) * h;
  const block = 4 * h + (3 * h * h + (c.qkv_bias ? 3 * h : 0)) + (h * h + h) + (inter * h + inter) + (h * inter + h);
  return embeddings + c.num_hidden_layers * block + (c.final_layernorm ? 2 * h : 0) + c.num_classes * (h + 1);
}

/**
 * A lower bound of the activations (floats) one image takes in a training pass: each Block keeps
 * its attention probabilities (heads × tokens²) and about 8 hidden-wide and 2 MLP-wide rows per token.
 */
export function activationFloatsPerImage(c: ViTConfig): number {
  const T = sequenceLength(c);
  return c.num_hidden_layers * (c.num_attention_heads * T * T + T * (8 * c.hidden_size + 2 * c.intermediate_size));
}

/**
 * About the engine memory a training run of batch `batch` takes: parameters, gradients, AdamW's two
 * moments and the weights' average with its swap (6 copies), and the activations of one pass (at most 256 images).
 */
export function trainingBytes(c: ViTConfig, batch: number): number {
  return 4 * (6 * parameterCount(c) + Math.min(batch, 256) * activationFloatsPerImage(c));
}

/** The keys that make a model big, with the seed's value: the one furthest above it is named as the cause. */
const SIZE_KEYS = ['num_hidden_layers', 'hidden_size', 'intermediate_size', 'num_attention_heads', 'num_classes', 'num_channels'] as const;

/**
 * Rejects a config whose parameters (with their gradients) and one image's activations cannot fit
 * in an engine, before anything is allocated: `num_hidden_layers: 1000000` is one line, not an
 * out-of-memory abort minutes later.
 */
function checkModelSize(c: ViTConfig, source: string): void {
  const bytes = 4 * (2 * parameterCount(c) + activationFloatsPerImage(c));
  if (bytes <= ENGINE_MAX_BYTES) return;
  // The tokens grow with (image_size / patch_size)², the rest linearly: compare growth over the seed's.
  const growth: [string, number][] = SIZE_KEYS.map((k) => [k, c[k] / SEED_CONFIG[k]]);
  growth.push(['image_size', (numPatches(c) / numPatches(SEED_CONFIG)) ** 2], ['patch_size', (c.patch_size / SEED_CONFIG.patch_size) ** 2]);
  const [key] = growth.reduce((a, b) => (b[1] > a[1] ? b : a));
  const shown = (n: number): string => (n >= 2 ** 40 ? `${(n / 2 ** 40).toPrecision(3)} TiB` : `${(n / 2 ** 30).toPrecision(3)} GiB`);
  throw new UserError(
    `${source}: "${key}" ${JSON.stringify(c[key as keyof ViTConfig])} makes the model too big: ` +
      `${parameterCount(c).toPrecision(3)} parameters and one image's activations need ${shown(bytes)}, ` +
      `more than the ${shown(ENGINE_MAX_BYTES)} a WebAssembly engine can hold`,
  );
}
