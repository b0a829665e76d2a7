import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
const TEST_FILE = 'test_batch.bin';
const META_FILE = 'batches.meta.txt';

const HOW_TO_GET_DATA =
  "Run 'vit data cifar10' to download it, pass --data DIR to point at an existing copy of " +
  "cifar-10-batches-bin, or use --sample to train on the small sample bundled with vit-ts.";

/**
 * Reads a split of CIFAR-10 in the official binary format from `dir`
 * (the cifar-10-batches-bin folder). The train split is every data_batch_N.bin in the folder,
 * in order of N, so a folder holding a smaller sample works too.
 */
export function readCifar10(dir: string, split: Split): ImageSet {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UserError(`The CIFAR-10 data folder ${dir} does not exist. ${HOW_TO_GET_DATA}`);
  }
  if (!isDir) throw new UserError(`${dir} is not a folder; expected the CIFAR-10 cifar-10-batches-bin folder. ${HOW_TO_GET_DATA}`);

  const files = dataFiles(dir, split);
  if (files.length === 0) {
    const wanted = split === 'train' ? 'data_batch_*.bin files' : TEST_FILE;
    throw new UserError(`The CIFAR-10 data folder ${dir} holds no ${wanted}. ${HOW_TO_GET_DATA}`);
  }

  const classNames = readClassNames(dir);
  const contents = files.map((file) => {
    const bytes = readFileSync(file);
    if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
      throw new UserError(
        `${file} is ${bytes.length} bytes, not a whole number of ${RECORD_BYTES}-byte CIFAR-10 records ` +
          '(the file is damaged or not CIFAR-10 binary data)',
      );
    }
    return { file, bytes };
  });

  const count = contents.reduce((sum, c) => sum + c.bytes.length / RECORD_BYTES, 0);
  const images = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const { file, bytes } of contents) {
    const records = bytes.length / RECORD_BYTES;
    for (let r = 0; r < records; r++, n++) {
      const offset = r * RECORD_BYTES;
      const label = bytes[offset]!;
      if (label >= classNames.length) {
        throw new UserError(
          `${file}: record ${r} has label ${label}, but there are only ${classNames.length} classes ` +
            `(labels 0–${classNames.length - 1})`,
        );
      }
      labels[n] = label;
      images.set(bytes.subarray(offset + 1, offset + RECORD_BYTES), n * IMAGE_BYTES);
    }
  }
  return { images, labels, count, classNames };
}

/** The split's files in `dir`, train batches in numeric order. */
function dataFiles(dir: string, split: Split): string[] {
  const names = readdirSync(dir);
  if (split === 'test') return names.includes(TEST_FILE) ? [join(dir, TEST_FILE)] : [];
  return names
    .map((name) => ({ name, match: TRAIN_FILE.exec(name) }))
    .filter((f): f is { name: string; match: RegExpExecArray } => f.match !== null)
    .sort((a, b) => Number(a.match[1]) - Number(b.match[1]))
    .map((f) => join(dir, f.name));
}

/** Class names from batches.meta.txt, one a line; the standard names when the file is absent. */
function readClassNames(dir: string): string[] {
  const file = join(dir, META_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [...CIFAR10_CLASSES];
    throw error;
  }
  const names = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  if (names.length === 0) throw new UserError(`${file} lists no class names (expected one a line)`);
  if (names.length > 256) throw new UserError(`${file} lists ${names.length} class names; a label byte allows at most 256`);
  return names;
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
