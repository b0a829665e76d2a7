// The CIFAR-10 a run uses, read inside the training worker: the bundled sample (fetched from the
// page's sample/ folder) or the user's files (the official .tar.gz, or its .bin files), each
// identified by its SHA-256 so that a continued run can tell it has the same data again.
import {
  CIFAR10_CLASSES,
  type DataFile,
  type ImageSet,
  META_FILE,
  TEST_FILE,
  batchOrder,
  isSplitFile,
  parseCifar10,
  parseClassNames,
} from '../../../src/data/cifar10.js';
import { UserError } from '../../../src/errors.js';
import { MAX_ARCHIVE_BYTES, MAX_MEMBER_BYTES, cifar10MemberName, megabytes, readCifar10Archive } from './cifar-archive.js';
import type { DataChoice, FileChecksum } from './protocol.js';

export interface LoadedData {
  choice: DataChoice;
  /** How the page names it: "the bundled sample", or the files' names. */
  description: string;
  train: ImageSet;
  test: ImageSet;
  /** The user's files, in the order of choice.files (none for the sample): what a run keeps. */
  sources: readonly File[];
}

const SAMPLE_FILES = ['data_batch_1.bin', TEST_FILE, META_FILE];
const ARCHIVE = /\.(tar\.gz|tgz)$/i;

export async function loadSample(baseUrl: string): Promise<LoadedData> {
  const files = await Promise.all(
    SAMPLE_FILES.map(async (name) => {
      const response = await fetch(new URL(name, baseUrl));
      if (!response.ok) throw new UserError(`the bundled sample's ${name} could not be loaded (HTTP ${response.status})`);
      return { name, bytes: new Uint8Array(await response.arrayBuffer()) };
    }),
  );
  return { choice: { kind: 'sample' }, description: 'the bundled sample', sources: [], ...splits(files, 'the bundled sample') };
}

/** The user's picked or dropped files: cifar-10-binary.tar.gz, or data_batch_N.bin, test_batch.bin (and batches.meta.txt). */
export async function loadFiles(given: readonly File[]): Promise<LoadedData> {
  const checksums: FileChecksum[] = [];
  const files: DataFile[] = [];
  for (const file of given) {
    const archive = ARCHIVE.test(file.name);
    if (!archive && cifar10MemberName(file.name) === null) {
      throw new UserError(`${file.name} is not a CIFAR-10 file: expected cifar-10-binary.tar.gz, or data_batch_N.bin and test_batch.bin`);
    }
    // Sizes from the file system, before anything is read.
    const limit = archive ? MAX_ARCHIVE_BYTES : MAX_MEMBER_BYTES;
    if (file.size > limit) {
      throw new UserError(
        `${file.name} is ${file.size.toLocaleString('en-US')} bytes, more than the ${megabytes(limit)} this page reads ` +
          `for ${archive ? "an archive (CIFAR-10's is 170 MB)" : "a batch file (CIFAR-10's are 31 MB)"}`,
      );
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    checksums.push({ name: file.name, bytes: bytes.length, sha256: await sha256(bytes) });
    files.push(...(archive ? readCifar10Archive(bytes, file.name) : [{ name: file.name, bytes }]));
  }
  const description = given.map((file) => file.name).join(', ');
  return { choice: { kind: 'files', files: checksums }, description, sources: given, ...splits(files, description) };
}

/** The train and test splits of the data set's files; `source` names them in errors. */
function splits(files: readonly DataFile[], source: string): { train: ImageSet; test: ImageSet } {
  const meta = files.find((f) => f.name.endsWith(META_FILE));
  const classNames = meta ? parseClassNames(new TextDecoder().decode(meta.bytes), meta.name) : [...CIFAR10_CLASSES];
  const trainFiles = files.filter((f) => isSplitFile(f.name, 'train')).sort((a, b) => batchOrder(a.name, b.name));
  const testFiles = files.filter((f) => isSplitFile(f.name, 'test'));
  if (trainFiles.length === 0) throw new UserError(`${source}: no training batches (data_batch_N.bin) in it`);
  if (testFiles.length === 0) throw new UserError(`${source}: no ${TEST_FILE} in it`);
  return { train: parseCifar10(trainFiles, classNames), test: parseCifar10(testFiles, classNames) };
}

export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Whether `data` is the data `wanted` was (same kind; for files, the same checksums). */
export function sameData(data: DataChoice, wanted: DataChoice): boolean {
  if (data.kind === 'sample' || wanted.kind === 'sample') return data.kind === wanted.kind;
  const key = (files: readonly FileChecksum[]): string =>
    files
      .map((f) => f.sha256)
      .sort()
      .join();
  return key(data.files) === key(wanted.files);
}
