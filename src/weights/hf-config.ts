/** transformers' ViTConfig (config.json of a Hugging Face ViT) to and from this project's ViTConfig. */
import { quoteValue } from '../arguments.js';
import { UserError } from '../errors.js';
import { type ViTConfig, resolveConfig } from '../model/config.js';

/** transformers' ViTConfig defaults (google/vit-base-patch16-224), for keys a config.json leaves out. */
const HF_DEFAULTS = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  image_size: 224,
  patch_size: 16,
  num_channels: 3,
  qkv_bias: true,
} as const;

/** transformers' default label names, which carry no information. */
const isDefaultLabel = (label: string, i: number): boolean => label === `LABEL_${i}`;

/** image_size and patch_size may be [height, width] pairs; this model needs squares. */
function side(value: unknown, key: string, source: string): unknown {
  if (!Array.isArray(value)) return value;
  if (value.length === 2 && value[0] === value[1]) return value[0];
  throw new UserError(`${source}: "${key}" ${JSON.stringify(value)} is not square; only square images and patches are supported`);
}

function labelsOf(json: Record<string, unknown>, source: string): string[] | undefined {
  const id2label = json['id2label'];
  if (id2label === undefined || id2label === null) return undefined;
  if (typeof id2label !== 'object' || Array.isArray(id2label))
    throw new UserError(`${source}: "id2label" must be an object of index → name`);
  const entries = Object.entries(id2label as Record<string, unknown>);
  const labels: string[] = new Array<string>(entries.length);
  for (const [key, name] of entries) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= entries.length || String(i) !== key) {
      throw new UserError(`${source}: "id2label" key "${key}" is not an index in 0..${entries.length - 1}`);
    }
    if (typeof name !== 'string') throw new UserError(`${source}: "id2label"["${key}"] must be a string (got ${quoteValue(name)})`);
    labels[i] = name;
  }
  return labels;
}

/** Reads a Hugging Face ViT config.json; `source` names the file in errors. */
export function fromHfConfig(json: Record<string, unknown>, source: string): ViTConfig {
  if (json['model_type'] !== 'vit') {
    throw new UserError(
      `${source}: "model_type" must be "vit" (got ${quoteValue(json['model_type'])}); only ViTForImageClassification models are supported`,
    );
  }
  const get = (key: keyof typeof HF_DEFAULTS): unknown => json[key] ?? HF_DEFAULTS[key];
  const act = get('hidden_act');
  let hiddenAct: ViTConfig['hidden_act'];
  if (act === 'gelu') hiddenAct = 'gelu';
  else if (act === 'gelu_new' || act === 'gelu_pytorch_tanh') hiddenAct = 'gelu_new';
  else
    throw new UserError(
      `${source}: "hidden_act" ${JSON.stringify(act)} is not supported (supported: "gelu", "gelu_new", "gelu_pytorch_tanh")`,
    );

  const labels = labelsOf(json, source);
  // id2label decides, as in transformers; without either key its default is 2 labels.
  const numClasses: unknown = labels?.length ?? json['num_labels'] ?? 2;
  const named = labels !== undefined && labels.some((l, i) => !isDefaultLabel(l, i));

  return resolveConfig(
    {
      patch_size: side(get('patch_size'), 'patch_size', source),
      hidden_size: get('hidden_size'),
      num_hidden_layers: get('num_hidden_layers'),
      num_attention_heads: get('num_attention_heads'),
      intermediate_size: get('intermediate_size'),
      hidden_dropout_prob: get('hidden_dropout_prob'),
      attention_probs_dropout_prob: get('attention_probs_dropout_prob'),
      initializer_range: get('initializer_range'),
      image_size: side(get('image_size'), 'image_size', source),
      num_classes: numClasses,
      num_channels: get('num_channels'),
      qkv_bias: get('qkv_bias'),
      hidden_act: hiddenAct,
      layer_norm_eps: get('layer_norm_eps'),
      // transformers' ViT always normalizes the encoder output before the classifier.
      final_layernorm: true,
      ...(named ? { labels } : {}),
    },
    source,
  );
}

/** A config.json that transformers' ViTForImageClassification loads (the keys tools/pytorch/layouts.py's hf_config writes). */
export function toHfConfig(config: ViTConfig): Record<string, unknown> {
  const labels = config.labels ?? Array.from({ length: config.num_classes }, (_, i) => `LABEL_${i}`);
  return {
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    hidden_size: config.hidden_size,
    num_hidden_layers: config.num_hidden_layers,
    num_attention_heads: config.num_attention_heads,
    intermediate_size: config.intermediate_size,
    hidden_act: config.hidden_act,
    hidden_dropout_prob: config.hidden_dropout_prob,
    attention_probs_dropout_prob: config.attention_probs_dropout_prob,
    initializer_range: config.initializer_range,
    layer_norm_eps: config.layer_norm_eps,
    image_size: config.image_size,
    patch_size: config.patch_size,
    num_channels: config.num_channels,
    qkv_bias: config.qkv_bias,
    encoder_stride: config.patch_size,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}
