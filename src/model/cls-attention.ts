/**
 * Where the [CLS] token looks: row 0 of each block's attention probabilities without its own
 * column, one value per patch, read after a forward pass and averaged over the chosen blocks and heads.
 */
import { numPatches } from './config.js';
import type { ViTForClassification } from './vit.js';

/** One block (0-based) or the mean over all of them; the same for heads. */
export type LayerChoice = number | 'all';
export type HeadChoice = number | 'all';

/** The sizes of a block of [CLS] rows: [images, layers, heads, patches]. */
export interface ClsRowsShape {
  layers: number;
  heads: number;
  patches: number;
}

export const clsRowsShape = (model: ViTForClassification): ClsRowsShape => ({
  layers: model.config.num_hidden_layers,
  heads: model.config.num_attention_heads,
  patches: numPatches(model.config),
});

/** Every block's and head's [CLS] row for the `count` images of the last forward pass: [count, layers, heads, patches]. */
export async function clsAttentionRows(model: ViTForClassification, count: number): Promise<Float32Array> {
  const { layers, heads, patches } = clsRowsShape(model);
  const tokens = patches + 1;
  const rows = new Float32Array(count * layers * heads * patches);
  for (let l = 0; l < layers; l++) {
    const probabilities = await model.attentions(l); // [count, heads, T, T]
    for (let b = 0; b < count; b++) {
      for (let h = 0; h < heads; h++) {
        const from = (b * heads + h) * tokens * tokens + 1; // query 0 is [CLS]; skip its own key
        rows.set(probabilities.subarray(from, from + patches), ((b * layers + l) * heads + h) * patches);
      }
    }
  }
  return rows;
}

/** Image `image`'s [CLS] attention map (patch grid, row-major): the mean of its rows over the chosen blocks and heads. */
export function averageClsAttention(
  rows: Float32Array,
  shape: ClsRowsShape,
  image: number,
  layer: LayerChoice,
  head: HeadChoice,
): Float32Array {
  const { layers, heads, patches } = shape;
  const chosenLayers = layer === 'all' ? Array.from({ length: layers }, (_, i) => i) : [layer];
  const chosenHeads = head === 'all' ? Array.from({ length: heads }, (_, i) => i) : [head];
  const sum = new Float64Array(patches);
  for (const l of chosenLayers) {
    for (const h of chosenHeads) {
      const from = ((image * layers + l) * heads + h) * patches;
      for (let p = 0; p < patches; p++) sum[p]! += rows[from + p]!;
    }
  }
  const scale = 1 / (chosenHeads.length * chosenLayers.length);
  return Float32Array.from(sum, (v) => v * scale);
}

/**
 * The [CLS] token's attention to each patch after the last forward pass, averaged over the heads
 * (and over the blocks for 'all'). One patch-grid map (row-major) per image.
 */
export async function clsAttentionMaps(model: ViTForClassification, count: number, layer: LayerChoice): Promise<Float32Array[]> {
  const rows = await clsAttentionRows(model, count);
  const shape = clsRowsShape(model);
  return Array.from({ length: count }, (_, b) => averageClsAttention(rows, shape, b, layer, 'all'));
}
