// CIFAR-10 from a cifar-10-batches-bin folder on disk (Node): the split's files, checked, parsed.
import { quoteValue } from '../arguments.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { readUserFile } from '../io/user-files.js';
import { CIFAR10_CLASSES, type ImageSet, META_FILE, type Split, TEST_FILE, batchOrder, isSplitFile, parseCifar10, parseClassNames } from './cifar10.js';

const HOW_TO_GET_DATA =
  "Run 'vit data cifar10' to download it, pass --data DIR to point at an existing copy of " +
  "cifar-10-batches-bin, or use --sample to train on the small sample bundled with vit-ts.";

/**
 * Reads a split of CIFAR-10 in the official binary format from `dir`
 * (the cifar-10-batches-bin folder). The train split is every data_batch_N.bin in the folder,
 * in order of N, so a folder holding a smaller sample works too.
 */
export function readCifar10(dir: string, split: Split): ImageSet {
  if (typeof dir !== 'string' || dir === '') throw new UserError('readCifar10: "dir" must be a folder\'s path');
  if (split !== 'train' && split !== 'test') throw new UserError(`readCifar10: "split" must be "train" or "test" (got ${quoteValue(split)})`);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UserError(`The CIFAR-10 data folder ${dir} does not exist. ${HOW_TO_GET_DATA}`);
  }
  if (!isDir) throw new UserError(`${dir} is not a folder; expected the CIFAR-10 cifar-10-batches-bin folder. ${HOW_TO_GET_DATA}`);

  const files = readdirSync(dir).filter((name) => isSplitFile(name, split)).sort(batchOrder).map((name) => join(dir, name));
  if (files.length === 0) {
    const wanted = split === 'train' ? 'data_batch_*.bin files' : TEST_FILE;
    throw new UserError(`The CIFAR-10 data folder ${dir} holds no ${wanted}. ${HOW_TO_GET_DATA}`);
  }
  const meta = join(dir, META_FILE);
  const classNames = readClassNames(dir);
  return parseCifar10(files.map((name) => ({ name, bytes: readUserFile(name) })), classNames, existsSync(meta) ? meta : undefined);
}

/** Class names from batches.meta.txt; the standard names when the file is absent. */
function readClassNames(dir: string): string[] {
  const file = join(dir, META_FILE);
  if (!existsSync(file)) return [...CIFAR10_CLASSES];
  return parseClassNames(readUserFile(file).toString('utf8'), file);
}
