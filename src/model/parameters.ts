import { type ViTConfig, sequenceLength } from './config.js';

export type Init = 'normal' | 'zeros' | 'ones' | 'trunc_normal';

export interface ParameterSpec {
  /** The seed's PyTorch state_dict name; queries, keys and values of all heads are held fused. */
  name: string;
  shape: number[];
  init: Init;
}

/**
 * Every parameter of the model, in the order they are laid out in memory.
 * Attention keeps one fused `qkv_projection` ([3·hidden, hidden]: the queries of all heads,
 * then the keys, then the values); the seed's per-head `heads.{h}.{query,key,value}` tensors
 * are row slices of it (see weights/layouts.ts).
 */
export function parameterSpecs(c: ViTConfig): ParameterSpec[] {
  const h = c.hidden_size;
  const specs: ParameterSpec[] = [
    { name: 'embedding.patch_embeddings.projection.weight', shape: [h, c.num_channels, c.patch_size, c.patch_size], init: 'normal' },
    { name: 'embedding.patch_embeddings.projection.bias', shape: [h], init: 'zeros' },
    { name: 'embedding.cls_token', shape: [1, 1, h], init: 'trunc_normal' },
    { name: 'embedding.position_embeddings', shape: [1, sequenceLength(c), h], init: 'trunc_normal' },
  ];
  const linear = (name: string, out: number, inp: number, bias = true): void => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], init: 'normal' });
    if (bias) specs.push({ name: `${name}.bias`, shape: [out], init: 'zeros' });
  };
  const layerNorm = (name: string): void => {
    specs.push({ name: `${name}.weight`, shape: [h], init: 'ones' }, { name: `${name}.bias`, shape: [h], init: 'zeros' });
  };
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const block = `encoder.blocks.${i}`;
    layerNorm(`${block}.layernorm_1`);
    linear(`${block}.attention.qkv_projection`, 3 * h, h, c.qkv_bias);
    linear(`${block}.attention.output_projection`, h, h);
    layerNorm(`${block}.layernorm_2`);
    linear(`${block}.mlp.dense_1`, c.intermediate_size, h);
    linear(`${block}.mlp.dense_2`, h, c.intermediate_size);
  }
  if (c.final_layernorm) layerNorm('layernorm');
  linear('classifier', c.num_classes, h);
  return specs;
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
