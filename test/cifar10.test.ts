import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { after, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { CIFAR10_CLASSES, IMAGE_BYTES, RECORD_BYTES, subset } from '../src/data/cifar10.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { defaultDataDir, packageRoot, sampleDataDir } from '../src/data/location.js';
import { Random } from '../src/random.js';

const root = mkdtempSync(join(tmpdir(), 'vit-cifar10-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Records whose label and first pixel identify them: label = tag % 10, first red byte = tag. */
function records(tags: number[]): Buffer {
  const bytes = Buffer.alloc(tags.length * RECORD_BYTES);
  tags.forEach((tag, r) => {
    bytes[r * RECORD_BYTES] = tag % 10;
    bytes[r * RECORD_BYTES + 1] = tag;
    bytes[r * RECORD_BYTES + RECORD_BYTES - 1] = 255 - tag; // last blue byte
  });
  return bytes;
}

function folder(name: string, files: Record<string, Buffer | string>): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, contents] of Object.entries(files)) writeFileSync(join(dir, file), contents);
  return dir;
}

test('reads train batches in numeric order and the test batch, with class names', () => {
  const dir = folder('ordered', {
    'data_batch_10.bin': records([30, 31]),
    'data_batch_2.bin': records([20]),
    'data_batch_1.bin': records([10, 11, 12]),
    'test_batch.bin': records([5, 6]),
    'batches.meta.txt': '\nplane\r\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n',
    'data_batch_x.bin': 'ignored: not a numbered batch',
  });
  const train = readCifar10(dir, 'train');
  assert.equal(train.count, 6);
  assert.deepEqual([...train.labels], [0, 1, 2, 0, 0, 1]);
  assert.equal(train.images.length, 6 * IMAGE_BYTES);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((i) => train.images[i * IMAGE_BYTES]),
    [10, 11, 12, 20, 30, 31],
  );
  assert.equal(train.images[IMAGE_BYTES - 1], 255 - 10);
  assert.deepEqual(train.classNames, ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  const testSet = readCifar10(dir, 'test');
  assert.equal(testSet.count, 2);
  assert.deepEqual([...testSet.labels], [5, 6]);
});

test('falls back to the standard class names without batches.meta.txt', () => {
  const dir = folder('no-meta', { 'data_batch_1.bin': records([1]) });
  assert.deepEqual(readCifar10(dir, 'train').classNames, [...CIFAR10_CLASSES]);
});

test('user errors name the folder or file at fault and say how to get the data', () => {
  const missing = join(root, 'absent');
  assert.throws(
    () => readCifar10(missing, 'train'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message.includes(missing) &&
      e.message.includes('vit data cifar10') &&
      e.message.includes('--data') &&
      e.message.includes('--sample'),
  );

  const empty = folder('empty', { 'notes.txt': 'hi' });
  assert.throws(
    () => readCifar10(empty, 'train'),
    (e: unknown) =>
      e instanceof UserError && e.message.includes(empty) && e.message.includes('data_batch_') && e.message.includes('--sample'),
  );
  const trainOnly = folder('train-only', { 'data_batch_1.bin': records([1]) });
  assert.throws(
    () => readCifar10(trainOnly, 'test'),
    (e: unknown) => e instanceof UserError && e.message.includes('test_batch.bin'),
  );

  const cut = folder('cut', { 'data_batch_1.bin': records([1, 2]).subarray(0, RECORD_BYTES + 100) });
  assert.throws(
    () => readCifar10(cut, 'train'),
    (e: unknown) => e instanceof UserError && e.message.includes(join(cut, 'data_batch_1.bin')) && e.message.includes('3073'),
  );

  const badLabel = records([1, 2, 3]);
  badLabel[2 * RECORD_BYTES] = 12;
  const labelled = folder('bad-label', { 'data_batch_1.bin': records([4]), 'data_batch_2.bin': badLabel });
  assert.throws(
    () => readCifar10(labelled, 'train'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message.includes(join(labelled, 'data_batch_2.bin')) &&
      e.message.includes('record 2') &&
      e.message.includes('label 12'),
  );

  const fewClasses = folder('few-classes', { 'data_batch_1.bin': records([0, 1, 2]), 'batches.meta.txt': 'a\nb\n' });
  // The list of names is named beside the data file: an edited list is the likelier fault.
  assert.throws(
    () => readCifar10(fewClasses, 'train'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message ===
        `${join(fewClasses, 'batches.meta.txt')} lists 2 class names (labels 0–1), but record 2 of ${join(fewClasses, 'data_batch_1.bin')} ` +
          'has label 2: the list is short, or the data file is damaged',
  );
  const blankMeta = folder('blank-meta', { 'data_batch_1.bin': records([0]), 'batches.meta.txt': '\n \n' });
  assert.throws(
    () => readCifar10(blankMeta, 'train'),
    (e: unknown) => e instanceof UserError && e.message.includes('batches.meta.txt'),
  );

  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(
    () => readCifar10(file, 'train'),
    (e: unknown) => e instanceof UserError && e.message.includes('not a folder'),
  );
});

test('subset draws without replacement, keeps images with their labels, and repeats for a seed', () => {
  const tags = Array.from({ length: 50 }, (_, i) => i);
  const set = readCifar10(folder('subset', { 'data_batch_1.bin': records(tags) }), 'train');
  const picked = subset(set, 20, new Random(7));
  assert.equal(picked.count, 20);
  assert.equal(picked.images.length, 20 * IMAGE_BYTES);
  const chosenTags = Array.from({ length: 20 }, (_, i) => picked.images[i * IMAGE_BYTES]!);
  assert.equal(new Set(chosenTags).size, 20, 'no image twice');
  assert.deepEqual(
    chosenTags,
    [...chosenTags].sort((a, b) => a - b),
    'file order kept',
  );
  chosenTags.forEach((tag, i) => {
    assert.equal(picked.labels[i], tag % 10);
    assert.equal(picked.images[(i + 1) * IMAGE_BYTES - 1], 255 - tag);
  });
  assert.deepEqual(subset(set, 20, new Random(7)), picked);
  assert.notDeepEqual(subset(set, 20, new Random(8)).images, picked.images);
  assert.equal(subset(set, 50, new Random(7)), set);
  assert.equal(subset(set, 500, new Random(7)), set);
  assert.equal(subset(set, 0, new Random(7)).count, 0);
  assert.throws(() => subset(set, -1, new Random(7)), RangeError);
});

test('the bundled sample holds 200 training and 50 test images per class', () => {
  const dir = sampleDataDir();
  assert.equal(dir, join(packageRoot(), 'data', 'cifar10-sample'));
  assert.ok(existsSync(join(packageRoot(), 'package.json')));
  const train = readCifar10(dir, 'train');
  const testSet = readCifar10(dir, 'test');
  assert.equal(train.count, 2000);
  assert.equal(testSet.count, 500);
  assert.deepEqual(train.classNames, [...CIFAR10_CLASSES]);
  for (const [set, perClass] of [
    [train, 200],
    [testSet, 50],
  ] as const) {
    const counts = new Array<number>(10).fill(0);
    for (const label of set.labels) counts[label]!++;
    assert.deepEqual(counts, new Array<number>(10).fill(perClass));
  }
});

test('the default data folder follows VIT_CACHE_DIR, XDG_CACHE_HOME, ~/.cache and LOCALAPPDATA', () => {
  assert.equal(defaultDataDir({ VIT_CACHE_DIR: '/data/vit', XDG_CACHE_HOME: '/x' }, 'linux'), '/data/vit/cifar-10-batches-bin');
  assert.equal(defaultDataDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux'), '/x/cache/vit-ts/cifar-10-batches-bin');
  assert.equal(defaultDataDir({ XDG_CACHE_HOME: 'relative' }, 'linux'), join(homedir(), '.cache', 'vit-ts', 'cifar-10-batches-bin'));
  assert.equal(defaultDataDir({}, 'darwin'), join(homedir(), '.cache', 'vit-ts', 'cifar-10-batches-bin'));
  assert.equal(
    defaultDataDir({ LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' }, 'win32'),
    win32.join('C:\\Users\\me\\AppData\\Local', 'vit-ts', 'cifar-10-batches-bin'),
  );
});
