/**
 * From model-sized pictures to named classes: the model's forward pass on normalized pixels, the
 * softmax and the top classes. No decoder and no file system, so the page and `vit predict` share it.
 */
import { CIFAR10_CLASSES } from './data/cifar10.js';
import type { ViTConfig } from './model/config.js';
import type { ViTForClassification } from './model/vit.js';
import { type Normalization, type RgbImage, normalizeInto } from './pixels.js';

/** One class and its probability. */
export interface Classification {
  label: string;
  score: number;
}

export const DEFAULT_TOP_K = 5;

/**
 * The class names: the config's `labels`; else, for 10 classes, CIFAR-10's (`cifar10`, by default
 * the standard names); else LABEL_0, LABEL_1, … as transformers names unnamed classes.
 */
export function namedClasses(config: ViTConfig, cifar10: readonly string[] = CIFAR10_CLASSES): string[] {
  if (config.labels) return [...config.labels];
  if (config.num_classes === 10) return [...cifar10];
  return Array.from({ length: config.num_classes }, (_, i) => `LABEL_${i}`);
}

/** Runs the model on model-sized RGB pictures; returns a copy of the logits [count, classes]. */
export async function runModel(
  model: ViTForClassification,
  pictures: readonly RgbImage[],
  normalization: Normalization,
): Promise<Float32Array> {
  const count = pictures.length;
  if (count === 0) return new Float32Array(0);
  const perImage = model.imageFloats;
  const input = model.imageBuffer(count);
  pictures.forEach((picture, i) => normalizeInto(picture, model.config.num_channels, normalization, input, i * perImage));
  return model.infer(count);
}

/** Softmax of one row of logits; the `k` most likely classes, best first. */
export function topClasses(logits: ArrayLike<number>, labels: readonly string[], k: number): Classification[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, i) => ({ label: labels[i] ?? `LABEL_${i}`, score: e / total }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}
