/**
 * The names checkpoints give the model's parameters, and conversion to and from the canonical
 * ones (parameterSpecs). Three layouts:
 *  - 'seed':  the seed article's state_dict, one query/key/value Linear per head;
 *  - 'fused': the canonical names, queries, keys and values of all heads in one qkv_projection;
 *  - 'hf':    transformers' ViTForImageClassification (one query, key and value Linear per layer).
 * In all three the per-head and per-projection tensors are contiguous row blocks of the
 * canonical qkv tensor, so conversion is copying slices.
 */
import { UserError } from '../errors.js';
import { checkObject, kindOf } from '../arguments.js';
import type { Tensor } from '../io/safetensors.js';
import { type ViTConfig, headSize } from '../model/config.js';
import { parameterSpecs, sizeOf } from '../model/parameters.js';
import { nonFinite } from '../model/parameter-store.js';

export type Layout = 'seed' | 'fused' | 'hf';

/** One checkpoint tensor that fills `[offset, offset + size of shape)` of a canonical parameter. */
interface Part {
  name: string;
  shape: number[];
  offset: number;
}

interface Plan {
  canonical: string;
  shape: number[];
  parts: Part[];
}

const QKV = ['query', 'key', 'value'] as const;

/** transformers' ViTForImageClassification builds no pooler, but some exported checkpoints carry one; it is unused. */
const IGNORED_HF = /^vit\.pooler\./;

/** Tells the layout from the tensor names; `source` names the file in the error. */
export function detectLayout(names: Iterable<string>, source = 'checkpoint'): Layout {
  let seed = false;
  let fused = false;
  let hf = false;
  let bareHf = false;
  for (const n of names) {
    if (/^encoder\.blocks\.\d+\.attention\.heads\.\d+\./.test(n)) seed = true;
    else if (/^encoder\.blocks\.\d+\.attention\.qkv_projection\./.test(n)) fused = true;
    else if (n.startsWith('vit.')) hf = true;
    else if (n.startsWith('encoder.layer.') || n.startsWith('embeddings.')) bareHf = true;
  }
  const found = [seed && 'seed', fused && 'fused', hf && 'hf'].filter((x): x is Layout => typeof x === 'string');
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new UserError(`${source}: mixes tensor names of the ${found.join(' and ')} layouts`);
  if (bareHf) {
    throw new UserError(
      `${source}: looks like a Hugging Face ViTModel without a classification head (names without "vit."); ` +
        'expected ViTForImageClassification weights',
    );
  }
  throw new UserError(
    `${source}: not a ViT checkpoint this project knows: no tensor named ` +
      '"encoder.blocks.{i}.attention.heads.{h}.*" (seed), "encoder.blocks.{i}.attention.qkv_projection.*" (fused) or "vit.*" (Hugging Face)',
  );
}

/** Maps a canonical name to its Hugging Face name (all but the qkv projection). */
function hfName(canonical: string): string {
  const fixed: Record<string, string> = {
    'embedding.cls_token': 'vit.embeddings.cls_token',
    'embedding.position_embeddings': 'vit.embeddings.position_embeddings',
    'embedding.patch_embeddings.projection.weight': 'vit.embeddings.patch_embeddings.projection.weight',
    'embedding.patch_embeddings.projection.bias': 'vit.embeddings.patch_embeddings.projection.bias',
    'layernorm.weight': 'vit.layernorm.weight',
    'layernorm.bias': 'vit.layernorm.bias',
    'classifier.weight': 'classifier.weight',
    'classifier.bias': 'classifier.bias',
  };
  const name = fixed[canonical];
  if (name !== undefined) return name;
  const m = /^encoder\.blocks\.(\d+)\.(.+)\.(weight|bias)$/.exec(canonical);
  const block: Record<string, string> = {
    layernorm_1: 'layernorm_before',
    layernorm_2: 'layernorm_after',
    'attention.output_projection': 'attention.output.dense',
    'mlp.dense_1': 'intermediate.dense',
    'mlp.dense_2': 'output.dense',
  };
  const inner = m ? block[m[2]!] : undefined;
  if (!m || inner === undefined) throw new Error(`no Hugging Face name for parameter ${canonical}`);
  return `vit.encoder.layer.${m[1]}.${inner}.${m[3]}`;
}

/** How each canonical parameter is stored in `layout`. */
function plans(config: ViTConfig, layout: Layout): Plan[] {
  const h = config.hidden_size;
  const hs = headSize(config);
  return parameterSpecs(config).map(({ name, shape }) => {
    const qkv = /^(encoder\.blocks\.(\d+)\.attention)\.qkv_projection\.(weight|bias)$/.exec(name);
    if (layout === 'fused') return { canonical: name, shape, parts: [{ name, shape, offset: 0 }] };
    if (!qkv) return { canonical: name, shape, parts: [{ name: layout === 'hf' ? hfName(name) : name, shape, offset: 0 }] };
    const [, attention, block, kind] = qkv;
    const rowLength = kind === 'weight' ? h : 1;
    const parts: Part[] = [];
    QKV.forEach((which, j) => {
      if (layout === 'hf') {
        parts.push({
          name: `vit.encoder.layer.${block}.attention.attention.${which}.${kind}`,
          shape: kind === 'weight' ? [h, h] : [h],
          offset: j * h * rowLength,
        });
      } else {
        for (let head = 0; head < config.num_attention_heads; head++) {
          parts.push({
            name: `${attention}.heads.${head}.${which}.${kind}`,
            shape: kind === 'weight' ? [hs, h] : [hs],
            offset: (j * h + head * hs) * rowLength,
          });
        }
      }
    });
    return { canonical: name, shape, parts };
  });
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/**
 * Canonical name → Float32Array, checked against parameterSpecs(config): a missing, unexpected or
 * mis-shaped tensor is a UserError that names it (and the file, via `source`).
 */
export function toCanonical(tensors: Map<string, Tensor>, config: ViTConfig, source: string): Map<string, Float32Array> {
  if (!(tensors instanceof Map))
    throw new UserError(`toCanonical: "tensors" must be a Map of name → Tensor, as parseSafetensors returns (got ${kindOf(tensors)})`);
  checkObject(config, 'toCanonical: "config"');
  const layout = detectLayout(tensors.keys(), source);
  const all = plans(config, layout);
  const expected = new Map<string, Part>();
  for (const plan of all) for (const part of plan.parts) expected.set(part.name, part);

  const problems: string[] = [];
  for (const [name, t] of tensors) {
    const part = expected.get(name);
    if (part === undefined) {
      if (!(layout === 'hf' && IGNORED_HF.test(name))) problems.push(`unexpected tensor "${name}" ${shapeText(t.shape)}`);
    } else if (t.shape.length !== part.shape.length || t.shape.some((d, i) => d !== part.shape[i])) {
      problems.push(`tensor "${name}" has shape ${shapeText(t.shape)}, expected ${shapeText(part.shape)}`);
    } else if (!(t.data instanceof Float32Array)) {
      problems.push(`tensor "${name}" has dtype ${t.dtype}, expected a float type (F32, F16 or BF16)`);
    } else {
      const bad = nonFinite(t.data);
      if (bad !== undefined) throw new UserError(`${source}: tensor "${name}" ${bad}`);
    }
  }
  for (const name of expected.keys()) {
    if (!tensors.has(name)) problems.push(`missing tensor "${name}" ${shapeText(expected.get(name)!.shape)}`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 6).join('; ') + (problems.length > 6 ? `; and ${problems.length - 6} more` : '');
    throw new UserError(`${source}: does not match the model config (${layout} layout, ${describeConfig(config)}): ${shown}`);
  }

  const params = new Map<string, Float32Array>();
  for (const plan of all) {
    if (plan.parts.length === 1) {
      params.set(plan.canonical, Float32Array.from(tensors.get(plan.parts[0]!.name)!.data as Float32Array));
      continue;
    }
    const out = new Float32Array(sizeOf(plan.shape));
    for (const part of plan.parts) out.set(tensors.get(part.name)!.data as Float32Array, part.offset);
    params.set(plan.canonical, out);
  }
  return params;
}

function describeConfig(c: ViTConfig): string {
  return (
    `hidden_size ${c.hidden_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads, ` +
    `intermediate_size ${c.intermediate_size}, image_size ${c.image_size}, patch_size ${c.patch_size}, ` +
    `num_channels ${c.num_channels}, num_classes ${c.num_classes}, qkv_bias ${c.qkv_bias}, final_layernorm ${c.final_layernorm}`
  );
}

/** The tensors to write for `layout`, in checkpoint order; each is a copy, never a view of `params`. */
export function fromCanonical(
  params: Map<string, Float32Array>,
  config: ViTConfig,
  layout: Layout,
): Map<string, { shape: number[]; data: Float32Array }> {
  if (!(params instanceof Map)) throw new UserError(`fromCanonical: "params" must be a Map of name → Float32Array (got ${kindOf(params)})`);
  checkObject(config, 'fromCanonical: "config"');
  if (layout === 'hf' && !config.final_layernorm) {
    throw new UserError(
      'cannot write the Hugging Face layout: its ViTForImageClassification always has a final LayerNorm, ' +
        'and this model (final_layernorm false) has none; use the seed or fused layout',
    );
  }
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const plan of plans(config, layout)) {
    const data = params.get(plan.canonical);
    // A wrong map here is a bug in the caller, not user input.
    if (data === undefined) throw new Error(`fromCanonical: missing parameter ${plan.canonical}`);
    if (data.length !== sizeOf(plan.shape)) {
      throw new Error(`fromCanonical: ${plan.canonical} has ${data.length} values, expected ${shapeText(plan.shape)}`);
    }
    for (const part of plan.parts) {
      out.set(part.name, { shape: [...part.shape], data: data.slice(part.offset, part.offset + sizeOf(part.shape)) });
    }
  }
  return out;
}
