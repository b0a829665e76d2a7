// CIFAR-10's binary format (no file system here: the page parses the files it is given too; Node reads
// them from a folder in cifar10-files.ts), and random subsets.
import { UserError } from '../errors.js';
import type { Random } from '../random.js';

/** Bytes of one image: 3 planes (R, G, B) of 32×32, row-major. */
export const IMAGE_BYTES = 3072;
/** Bytes of one record in the binary files: a label byte, then the image. */
export const RECORD_BYTES = 3073;
/** Side of a CIFAR-10 image in pixels. */
export const CIFAR10_SIZE = 32;
/** Colour planes in a CIFAR-10 image. */
export const CIFAR10_CHANNELS = 3;

/** The standard class names, in label order, for folders without batches.meta.txt. */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

export interface ImageSet {
  /** count × 3072 bytes, each image as R, G, B planes as in the file. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  classNames: string[];
}

export type Split = 'train' | 'test';

const TRAIN_FILE = /^data_batch_(\d+)\.bin$/;
export const TEST_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';

/** `argument` must be an ImageSet whose arrays agree with its count (a library caller's, say). */
export function checkImageSet(value: unknown, argument: string): asserts value is ImageSet {
  const set = value as Partial<ImageSet> | null;
  const fail = (why: string): never => {
    throw new UserError(`${argument} must be an image set { images, labels, count, classNames } (${why})`);
  };
  if (typeof set !== 'object' || set === null) fail(`got ${String(set)}`);
  if (!Number.isInteger(set!.count) || set!.count! < 0) fail('count is not a whole number');
  if (!(set!.images instanceof Uint8Array) || set!.images.length !== set!.count! * IMAGE_BYTES) fail(`images must be a Uint8Array of count × ${IMAGE_BYTES} bytes`);
  if (!(set!.labels instanceof Uint8Array) || set!.labels.length !== set!.count) fail('labels must be a Uint8Array of count labels');
  if (!Array.isArray(set!.classNames) || set!.classNames.length === 0) fail('classNames must be a non-empty list');
}

/** A file of the data set, read by whoever has it: Node from a folder, a page from a picked or dropped file. */
export interface DataFile {
  /** Its path or name, for messages; the base name decides what it is. */
  name: string;
  bytes: Uint8Array;
}

/** Whether a file's base name is one of `split`'s files (data_batch_N.bin, test_batch.bin). */
export function isSplitFile(name: string, split: Split): boolean {
  const base = baseName(name);
  return split === 'test' ? base === TEST_FILE : TRAIN_FILE.test(base);
}

const baseName = (name: string): string => name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);

/** Orders train batches by N (data_batch_2 before data_batch_10). */
export function batchOrder(a: string, b: string): number {
  const n = (name: string): number => Number(TRAIN_FILE.exec(baseName(name))?.[1] ?? 0);
  return n(a) - n(b);
}

/**
 * Parses a split of CIFAR-10 in the official binary format: `files` are the split's batches in
 * order, `classNames` the labels' names (batches.meta.txt, see parseClassNames), `namesFrom` the file they
 * came from (named beside the data file when a label has no name).
 */
export function parseCifar10(files: readonly DataFile[], classNames: readonly string[], namesFrom?: string): ImageSet {
  if (!Array.isArray(files) || files.some((f) => typeof f?.name !== 'string' || !(f.bytes instanceof Uint8Array))) {
    throw new UserError('parseCifar10: "files" must be an Array of { name: string, bytes: Uint8Array }');
  }
  if (!Array.isArray(classNames) || classNames.length === 0 || classNames.length > 256 || classNames.some((c) => typeof c !== 'string')) {
    throw new UserError('parseCifar10: "classNames" must be an Array of 1 to 256 strings');
  }
  for (const { name, bytes } of files) {
    if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
      throw new UserError(
        `${name} is ${bytes.length} bytes, not a whole number of ${RECORD_BYTES}-byte CIFAR-10 records ` +
          '(the file is damaged or not CIFAR-10 binary data)',
      );
    }
  }
  const count = files.reduce((sum, f) => sum + f.bytes.length / RECORD_BYTES, 0);
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const { name, bytes } of files) {
    const records = bytes.length / RECORD_BYTES;
    for (let r = 0; r < records; r++, n++) {
      const offset = r * RECORD_BYTES;
      const label = bytes[offset]!;
      if (label >= classNames.length) {
        // Both files may be at fault: an edited list of names is the likelier, so it is named too.
        throw new UserError(namesFrom === undefined
          ? `${name}: record ${r} has label ${label}, but there are only ${classNames.length} classes (labels 0–${classNames.length - 1})`
          : `${namesFrom} lists ${classNames.length} class name${classNames.length === 1 ? '' : 's'} (labels 0–${classNames.length - 1}), ` +
            `but record ${r} of ${name} has label ${label}: the list is short, or the data file is damaged`);
      }
      labels[n] = label;
      images.set(bytes.subarray(offset + 1, offset + RECORD_BYTES), n * IMAGE_BYTES);
    }
  }
  return { images, labels, count, classNames: [...classNames] };
}

/**
 * Checks that a model with `numClasses` outputs can be scored on `set`: every label below it.
 * `data` names the data and `model` the model in the error (a set with more classes than the model).
 */
export function checkLabelsFit(set: ImageSet, numClasses: number, data: string, model: string): void {
  const i = set.labels.findIndex((label) => label >= numClasses);
  if (i >= 0) {
    throw new UserError(`${data}: image ${i} has label ${set.labels[i]} (${set.classNames[set.labels[i]!] ?? 'unnamed'}), ` +
      `but the model ${model} has ${numClasses} classes (labels 0–${numClasses - 1})`);
  }
}

/** Class names from batches.meta.txt's text, one a line; `name` names the file in errors. */
export function parseClassNames(text: string, name: string): string[] {
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (names.length === 0) throw new UserError(`${name} lists no class names (expected one a line)`);
  if (names.length > 256) throw new UserError(`${name} lists ${names.length} class names; a label byte allows at most 256`);
  return names;
}

/**
 * The first `count` images of the set (all of them when it holds no more): CIFAR-10's test batch is
 * in random order already, so its first images are a fair sample that anyone can take again.
 */
export function firstImages(set: ImageSet, count: number): ImageSet {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`image count must be a whole number ≥ 0, got ${count}`);
  if (count >= set.count) return set;
  return { images: set.images.slice(0, count * IMAGE_BYTES), labels: set.labels.slice(0, count), count, classNames: set.classNames };
}

/**
 * A random subset of `count` images, without replacement, kept in file order.
 * Asking for as many images as the set holds, or more, gives the whole set (so a sample size
 * meant for the full data set still works on the small bundled sample).
 */
export function subset(set: ImageSet, count: number, rng: Random): ImageSet {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`subset size must be a whole number ≥ 0, got ${count}`);
  if (count >= set.count) return set;
  const chosen = rng.permutation(set.count).subarray(0, count).sort();
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const from = chosen[i]!;
    images.set(set.images.subarray(from * IMAGE_BYTES, (from + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
    labels[i] = set.labels[from]!;
  }
  return { images, labels, count, classNames: set.classNames };
}
