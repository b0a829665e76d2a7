// Accuracy and mean cross-entropy of a model on a set of CIFAR-10 images, as the seed's evaluate().
import { kindOf } from '../arguments.js';
import { BatchMaker } from '../data/augment.js';
import { type ImageSet, checkImageSet } from '../data/cifar10.js';
import { UserError } from '../errors.js';
import { ViTForClassification } from '../model/vit.js';
import { Random } from '../random.js';

export interface EvaluateOptions {
  /** Normalization per channel (or one value for all); default 0.5 as the seed. */
  mean?: number[];
  std?: number[];
  /** Called after each batch with the images done so far. */
  onBatch?: (done: number, total: number) => void;
}

export interface Evaluation {
  /** Fraction of images whose largest logit is their label's. */
  accuracy: number;
  /** Mean cross-entropy over the images. */
  loss: number;
  images: number;
}

/**
 * Runs the model in inference mode over every image of `set`, in order, `batchSize` at a time.
 * Images are resized to the model's image_size and converted to its channels by BatchMaker.
 */
export function evaluate(model: ViTForClassification, set: ImageSet, batchSize: number, options: EvaluateOptions = {}): Evaluation {
  if (!(model instanceof ViTForClassification)) throw new UserError(`evaluate: model must be a ViTForClassification (got ${kindOf(model)})`);
  model.checkUsable('evaluate');
  checkImageSet(set, 'evaluate: set');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UserError(`--batch-size must be a whole number ≥ 1 (got ${batchSize})`);
  if (set.count === 0) throw new UserError('there are no images to evaluate on');
  const { image_size: size, num_channels: channels, num_classes: classes } = model.config;
  const half = [0.5];
  // Without augmentation the generator is never drawn from.
  const maker = new BatchMaker(size, channels, { mean: options.mean ?? half, std: options.std ?? half }, new Random(0));
  const order = new Uint32Array(set.count);
  for (let i = 0; i < set.count; i++) order[i] = i;
  const labels = new Int32Array(Math.min(batchSize, set.count));
  let totalLoss = 0;
  let correct = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const count = Math.min(batchSize, set.count - start);
    maker.fill(model.imageBuffer(count), set, order, start, count, false);
    for (let i = 0; i < count; i++) labels[i] = set.labels[start + i]!;
    model.setLabels(labels, count);
    const logits = model.infer(count);
    for (let i = 0; i < count; i++) if (argmax(logits, i * classes, classes) === labels[i]) correct++;
    // The seed sums loss.item() × batch size and divides by the set's size.
    totalLoss += model.evaluateLoss() * count;
    options.onBatch?.(start + count, set.count);
  }
  return { accuracy: correct / set.count, loss: totalLoss / set.count, images: set.count };
}

/** Index of the largest of values[offset … offset+n-1]; the first one on ties, as torch.argmax. */
export function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (values[offset + k]! > values[offset + best]!) best = k;
  return best;
}
