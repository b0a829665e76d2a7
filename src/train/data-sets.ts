// The images a run trains and evaluates on: the training set (or a random subset), and the test
// set (or its first images: the same for every seed, and what `vit eval --test-samples` takes), or
// a validation split held out of the training set instead.
import { IMAGE_BYTES, type ImageSet, firstImages, subset } from '../data/cifar10.js';
import { UserError } from '../errors.js';
import { Random } from '../random.js';
import type { EvaluatedOn } from './metrics.js';
import type { TrainSettings } from './settings.js';

export interface TrainingData {
  trainSet: ImageSet;
  /** Evaluated after every epoch. */
  evalSet: ImageSet;
  evaluatedOn: EvaluatedOn;
}

/** Salt of the subsets' generator, derived from the run's seed (the model and the batches derive their own). */
const SUBSET_SALT = 0x5ab5e7;

/** The sets of a run from the data set's splits; the test split is read only when it is used. */
export function trainingData(
  train: ImageSet,
  test: () => ImageSet,
  s: Pick<TrainSettings, 'seed' | 'trainSamples' | 'testSamples' | 'valSplit'>,
): TrainingData {
  const rng = new Random(s.seed ^ SUBSET_SALT);
  const trainSet = s.trainSamples !== null ? subset(train, s.trainSamples, rng) : train;
  if (s.valSplit > 0) {
    if (s.valSplit >= trainSet.count) {
      throw new UserError(`--val-split ${s.valSplit} leaves no training images (there are ${trainSet.count})`);
    }
    const { kept, heldOut } = splitOff(trainSet, s.valSplit, rng);
    return { trainSet: kept, evalSet: heldOut, evaluatedOn: 'validation' };
  }
  const testSet = s.testSamples !== null ? firstImages(test(), s.testSamples) : test();
  return { trainSet, evalSet: testSet, evaluatedOn: 'test' };
}

/** A model must have a class for every label of the data; `model` and `data` name them in the error. */
export function checkClasses(numClasses: number, trainSet: ImageSet, model: string, data: string): void {
  const classes = trainSet.classNames.length;
  if (classes > numClasses) {
    throw new UserError(`${model} has ${numClasses} classes but ${data} has ${classes}: set num_classes to ${classes}`);
  }
}

/** Splits `count` random images off `set`; both parts keep file order. */
export function splitOff(set: ImageSet, count: number, rng: Random): { kept: ImageSet; heldOut: ImageSet } {
  const chosen = new Uint8Array(set.count);
  const permutation = rng.permutation(set.count);
  for (let i = 0; i < count; i++) chosen[permutation[i]!] = 1;
  const pick = (want: number, n: number): ImageSet => {
    const images = new Uint8Array(n * IMAGE_BYTES);
    const labels = new Uint8Array(n);
    for (let from = 0, to = 0; from < set.count; from++) {
      if (chosen[from] !== want) continue;
      images.set(set.images.subarray(from * IMAGE_BYTES, (from + 1) * IMAGE_BYTES), to * IMAGE_BYTES);
      labels[to++] = set.labels[from]!;
    }
    return { images, labels, count: n, classNames: set.classNames };
  };
  return { kept: pick(0, set.count - count), heldOut: pick(1, count) };
}
