#!/usr/bin/env node
// Builds data/cifar10-sample/ from a full copy of CIFAR-10 (the binary version):
//   node scripts/make-sample.js PATH/TO/cifar-10-batches-bin
// Takes the first 200 training images of each class (data_batch_1.bin … data_batch_5.bin, in
// file order) and the first 50 test images of each class, so the sample is the same every time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORD_BYTES = 3073;
const CLASSES = 10;
const TRAIN_PER_CLASS = 200;
const TEST_PER_CLASS = 50;
const STANDARD_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const source = process.argv[2];
if (!source) {
  console.error('usage: node scripts/make-sample.js PATH/TO/cifar-10-batches-bin');
  process.exit(2);
}
const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'data', 'cifar10-sample');

/** The first `perClass` records of each class from `files`, kept in file order. */
function pick(files, perClass) {
  const taken = new Array(CLASSES).fill(0);
  const chosen = [];
  for (const name of files) {
    const file = join(source, name);
    if (!existsSync(file)) throw new Error(`${file} is missing`);
    const bytes = readFileSync(file);
    if (bytes.length % RECORD_BYTES !== 0) throw new Error(`${file} is not a whole number of ${RECORD_BYTES}-byte records`);
    for (let offset = 0; offset < bytes.length; offset += RECORD_BYTES) {
      const label = bytes[offset];
      if (label >= CLASSES) throw new Error(`${file}: record ${offset / RECORD_BYTES} has label ${label}`);
      if (taken[label] < perClass) {
        taken[label]++;
        chosen.push(bytes.subarray(offset, offset + RECORD_BYTES));
      }
    }
    if (taken.every((n) => n === perClass)) break;
  }
  if (!taken.every((n) => n === perClass)) throw new Error(`not enough records of each class in ${files.join(', ')}`);
  return Buffer.concat(chosen);
}

const train = pick(
  [1, 2, 3, 4, 5].map((n) => `data_batch_${n}.bin`),
  TRAIN_PER_CLASS,
);
const test = pick(['test_batch.bin'], TEST_PER_CLASS);
const metaFile = join(source, 'batches.meta.txt');
const names = existsSync(metaFile)
  ? readFileSync(metaFile, 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
  : STANDARD_NAMES;

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'data_batch_1.bin'), train);
writeFileSync(join(outDir, 'test_batch.bin'), test);
writeFileSync(join(outDir, 'batches.meta.txt'), names.join('\n') + '\n');
console.log(`wrote ${train.length / RECORD_BYTES} training and ${test.length / RECORD_BYTES} test records to ${outDir}`);
