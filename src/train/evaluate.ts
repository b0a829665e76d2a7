// Accuracy and mean cross-entropy of a model on a set of CIFAR-10 images, as the seed's evaluate(),
// and optionally with horizontal-flip test-time augmentation.
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
  /** Also measure each image's mirror: Evaluation.flip (twice the inference). */
  flip?: boolean;
}

export interface FlipEvaluation {
  /** Fraction of images whose label has the largest mean probability over the image and its mirror. */
  accuracy: number;
  /** Mean of −ln(that mean probability of the label). */
  loss: number;
}

export interface Evaluation {
  /** Fraction of images whose largest logit is their label's. */
  accuracy: number;
  /** Mean cross-entropy over the images. */
  loss: number;
  images: number;
  /** With options.flip: the softmax probabilities of each image and its left–right mirror averaged. */
  flip?: FlipEvaluation;
}

/**
 * Runs the model in inference mode over every image of `set`, in order, `batchSize` at a time.
 * Images are resized to the model's image_size and converted to its channels by BatchMaker.
 */
export async function evaluate(
  model: ViTForClassification,
  set: ImageSet,
  batchSize: number,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  if (!(model instanceof ViTForClassification))
    throw new UserError(`evaluate: model must be a ViTForClassification (got ${kindOf(model)})`);
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
  const flip = options.flip ? { correct: 0, loss: 0, probabilities: new Float64Array(Math.min(batchSize, set.count) * classes) } : null;
  for (let start = 0; start < set.count; start += batchSize) {
    const count = Math.min(batchSize, set.count - start);
    maker.fill(model.imageBuffer(count), set, order, start, count, false);
    for (let i = 0; i < count; i++) labels[i] = set.labels[start + i]!;
    model.setLabels(labels, count);
    const inferred = model.infer(count);
    model.crossEntropy();
    const [logits, loss] = await Promise.all([inferred, model.readLoss()]);
    for (let i = 0; i < count; i++) if (argmax(logits, i * classes, classes) === labels[i]) correct++;
    // The seed sums loss.item() × batch size and divides by the set's size.
    totalLoss += loss * count;
    if (flip) {
      const probabilities = flip.probabilities;
      softmaxRows(logits, count, classes, probabilities, 0.5, false);
      mirrorRows(model.imageBuffer(count), count * channels * size, size);
      softmaxRows(await model.infer(count), count, classes, probabilities, 0.5, true);
      for (let i = 0; i < count; i++) {
        if (argmax(probabilities, i * classes, classes) === labels[i]) flip.correct++;
        flip.loss -= Math.log(probabilities[i * classes + labels[i]!]!);
      }
    }
    options.onBatch?.(start + count, set.count);
  }
  const result: Evaluation = { accuracy: correct / set.count, loss: totalLoss / set.count, images: set.count };
  if (flip) result.flip = { accuracy: flip.correct / set.count, loss: flip.loss / set.count };
  return result;
}

/** Reverses each of `rows` rows of `width` values in place: [B, C, H, W] images mirrored left–right. */
function mirrorRows(values: Float32Array, rows: number, width: number): void {
  for (let start = 0; start < rows * width; start += width) {
    for (let a = start, b = start + width - 1; a < b; a++, b--) {
      const t = values[a]!;
      values[a] = values[b]!;
      values[b] = t;
    }
  }
}

/** weight × softmax of each row of logits [rows, n], written into out (or added to it), in float64. */
function softmaxRows(logits: Float32Array, rows: number, n: number, out: Float64Array, weight: number, add: boolean): void {
  for (let r = 0; r < rows; r++) {
    const offset = r * n;
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, logits[offset + k]!);
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.exp(logits[offset + k]! - max);
    for (let k = 0; k < n; k++) {
      const p = (weight * Math.exp(logits[offset + k]! - max)) / sum;
      out[offset + k] = add ? out[offset + k]! + p : p;
    }
  }
}

/** Index of the largest of values[offset … offset+n-1]; the first one on ties, as torch.argmax. */
export function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (values[offset + k]! > values[offset + best]!) best = k;
  return best;
}
