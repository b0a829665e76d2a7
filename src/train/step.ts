// One training step, the same for `vit train`, the page, `vit bench` and scripts/ab-step.js:
// zero the gradients → forward and backward over the batch → clip them → AdamW's update → the
// weights' moving average. Recorded on the engine and submitted at once; nothing waits for it.
import type { TokenSelection } from '../model/patch-dropout.js';
import type { ViTForClassification } from '../model/vit.js';
import type { AdamW } from './adamw.js';
import type { GradientClipper } from './gradient-clipper.js';
import type { WeightAverage } from './weight-average.js';

/** What a step updates: the model, its optimizer, and the clipper and average when the run keeps them. */
export interface TrainingParts {
  model: ViTForClassification;
  optimizer: AdamW;
  clipper: GradientClipper | null;
  average: WeightAverage | null;
}

export interface StepOptions {
  /** This update's learning rate. */
  lr: number;
  /** Label smoothing of the objective (default 0). */
  labelSmoothing?: number;
  /** The gradients' largest global norm (with a clipper). */
  clipGrad?: number;
  /** The patches each image keeps (token dropping); every patch without. */
  tokens?: TokenSelection;
}

/**
 * One step on the `count` images and labels in the model's buffers. Returns each image's plain
 * cross-entropy before the update (without label smoothing, comparable with the test loss), read
 * back once the engine gets there: a training loop awaits it a step later, so that it never waits
 * for a GPU between steps.
 */
export function trainStep(parts: TrainingParts, count: number, options: StepOptions): Promise<Float32Array> {
  const { model, optimizer, clipper, average } = parts;
  const smoothing = options.labelSmoothing ?? 0;
  model.parameters.zeroGrad();
  model.trainBatch(count, smoothing, options.tokens);
  // The losses hold the smoothed objective; the metrics keep plain cross-entropy.
  if (smoothing > 0) model.crossEntropy();
  if (clipper) clipper.clip(options.clipGrad ?? Infinity);
  optimizer.update(options.lr);
  average?.update();
  const losses = model.readLosses();
  model.engine.flush();
  return losses;
}
