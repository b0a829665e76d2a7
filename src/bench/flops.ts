// Floating-point operations of the model, counted from its matrix products (2 per multiply-add),
// for GFLOP/s figures. Element-wise work (softmax, GELU, LayerNorm) is left out, as is customary.
import { type ViTConfig, numPatches, sequenceLength } from '../model/config.js';

/** Forward-pass FLOPs for one image. */
export function forwardFlopsPerImage(c: ViTConfig): number {
  const T = sequenceLength(c),
    h = c.hidden_size,
    inter = c.intermediate_size;
  const patch = 2 * numPatches(c) * c.num_channels * c.patch_size ** 2 * h;
  const projections = 2 * T * h * (3 * h + h + 2 * inter);
  const attention = 2 * 2 * T * T * h; // Q·Kᵀ and P·V over all heads
  return patch + c.num_hidden_layers * (projections + attention) + 2 * h * c.num_classes;
}

/** A training step costs about three forward passes: the forward, and two products per product backward. */
export function trainingFlopsPerImage(c: ViTConfig): number {
  return 3 * forwardFlopsPerImage(c);
}
