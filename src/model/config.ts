import { UserError } from '../errors.js';

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
  'patch_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads',
  'intermediate_size', 'image_size', 'num_classes', 'num_channels',
] as const;
const PROBABILITIES = ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const;
const KNOWN_KEYS = new Set<string>([...Object.keys(SEED_CONFIG), 'labels']);

/**
 * Merges `overrides` over the seed config and checks that the result can work.
 * `source` names where the overrides came from, for the error message.
 * Keys this project does not know are ignored (configs from other tools carry extra keys).
 */
export function resolveConfig(overrides: Record<string, unknown> = {}, source = 'config'): ViTConfig {
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(overrides)) {
    if (KNOWN_KEYS.has(key) && value !== undefined && value !== null) picked[key] = value;
  }
  const config = { ...SEED_CONFIG, ...picked } as ViTConfig;
  const fail = (key: string, why: string): never => {
    throw new UserError(`${source}: "${key}" ${why} (got ${JSON.stringify(config[key as keyof ViTConfig])})`);
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
  return config;
}

export const headSize = (c: ViTConfig): number => c.hidden_size / c.num_attention_heads;
export const numPatches = (c: ViTConfig): number => (c.image_size / c.patch_size) ** 2;
/** Tokens per image: the patches and the [CLS] token. */
export const sequenceLength = (c: ViTConfig): number => numPatches(c) + 1;
