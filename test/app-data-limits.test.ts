// What the page reads from people's files, bounded before it is read (in Chromium): an archive
// that unpacks to a gigabyte, one with thousands of entries, files larger than any CIFAR-10 file,
// and images whose header claims more pixels than `vit predict` decodes each give one line naming
// the file and the limit; images of every format the page takes still classify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, crc32, deflateRawSync, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { create as createTar } from 'tar';
import type { Page } from 'playwright-core';
import { encodeModelFile } from '../src/weights/model-file.js';
import { loadCheckpoint } from '../src/weights/files.js';
import { browserHarness } from './browser-harness.js';
import { fixturesDir } from './helpers.js';

const SAMPLE_DIR = fileURLToPath(new URL('../../data/cifar10-sample', import.meta.url));
const browser = browserHarness();
const GIB = 2 ** 30;

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'vit-app-limits-'));
});
after(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** A tar header (ustar) for a regular file `name` of `size` bytes. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('0', 156);
  header.write('ustar\x0000', 257);
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/**
 * A gzip bomb: `head`, then `size` zero bytes. The zeros are one compressed 16 MiB piece, flushed
 * to a byte boundary and repeated (each piece refers only to itself), so the file is made in
 * milliseconds; the trailer's CRC is never reached by a reader that stops at its limit, and is left zero.
 */
function gzipBomb(head: Buffer, size: number): Buffer {
  const piece = 16 * 2 ** 20;
  const flush = { finishFlush: constants.Z_SYNC_FLUSH, level: 9 };
  const zeros = deflateRawSync(Buffer.alloc(piece), flush);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(0, 0);
  trailer.writeUInt32LE((head.length + size) % 2 ** 32, 4);
  return Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]),
    deflateRawSync(head, flush),
    ...Array.from({ length: size / piece }, () => zeros),
    deflateRawSync(Buffer.alloc(0)),
    trailer,
  ]);
}

async function openTrain(): Promise<Awaited<ReturnType<typeof browser.open>>> {
  const opened = await browser.open();
  await opened.page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
  return opened;
}

/** Picks `path` as the user's data; returns the one error line it gives. */
async function refusedData(page: Page, path: string): Promise<string> {
  await page.getByTestId('data-files').setInputFiles(path);
  await page.getByTestId('data-status').filter({ hasText: 'Still using the bundled sample.' }).waitFor({ timeout: 60_000 });
  return (await page.getByTestId('error').textContent()) ?? '';
}

test(
  "the user's data: an archive unpacking to 1 GiB (in an entry, or after a whole CIFAR-10 tar), one of 100 entries and files larger than CIFAR-10's are refused, each in one line naming the file and the limit",
  { timeout: 120_000 },
  async () => {
    // One tar entry of 1 GiB of zeros, shaped as the official archive's readme.
    const bomb = join(work, 'bomb', 'cifar-10-binary.tar.gz');
    mkdirSync(join(work, 'bomb'));
    writeFileSync(bomb, gzipBomb(tarHeader('cifar-10-batches-bin/readme.html', GIB), GIB));
    // The sample as a whole tar (the data is all there), then 1 GiB of zeros after its end.
    const sample = join(work, 'sample');
    mkdirSync(join(sample, 'cifar-10-batches-bin'), { recursive: true });
    for (const name of ['data_batch_1.bin', 'test_batch.bin', 'batches.meta.txt'])
      cpSync(join(SAMPLE_DIR, name), join(sample, 'cifar-10-batches-bin', name));
    const sampleTar = join(work, 'sample.tar');
    createTar({ file: sampleTar, cwd: sample, sync: true }, ['cifar-10-batches-bin']);
    const trailing = join(work, 'trailing', 'cifar-10-binary.tar.gz');
    mkdirSync(join(work, 'trailing'));
    writeFileSync(trailing, gzipBomb(readFileSync(sampleTar), GIB));

    const many = join(work, 'many');
    mkdirSync(join(many, 'cifar-10-batches-bin'), { recursive: true });
    for (let i = 0; i < 100; i++) writeFileSync(join(many, 'cifar-10-batches-bin', `note_${i}.txt`), `${i}\n`);
    const manyArchive = join(work, 'cifar-10-many.tar.gz');
    createTar({ gzip: true, file: manyArchive, cwd: many, sync: true }, ['cifar-10-batches-bin']);

    // Sparse files: their size is what the file system says, nothing is written.
    mkdirSync(join(work, 'large'));
    const largeBatch = join(work, 'large', 'data_batch_1.bin');
    writeFileSync(largeBatch, '');
    truncateSync(largeBatch, 100_000_000);
    const largeArchive = join(work, 'large', 'cifar-10-binary.tar.gz');
    writeFileSync(largeArchive, '');
    truncateSync(largeArchive, 300_000_000);

    const { page, consoleErrors, pageErrors, close } = await openTrain();
    try {
      for (const path of [bomb, trailing]) {
        assert.equal(
          await refusedData(page, path),
          'cifar-10-binary.tar.gz unpacks to more than 200 MB, the most this page reads (CIFAR-10 unpacks to 184 MB): it is not the CIFAR-10 archive',
        );
      }
      assert.equal(
        await refusedData(page, manyArchive),
        "cifar-10-many.tar.gz has more than 64 entries, the most this page reads (CIFAR-10's archive has 9): it is not the CIFAR-10 archive",
      );
      assert.equal(
        await refusedData(page, largeBatch),
        "data_batch_1.bin is 100,000,000 bytes, more than the 64 MB this page reads for a batch file (CIFAR-10's are 31 MB)",
      );
      assert.equal(
        await refusedData(page, largeArchive),
        "cifar-10-binary.tar.gz is 300,000,000 bytes, more than the 200 MB this page reads for an archive (CIFAR-10's is 170 MB)",
      );
      // The page goes on with the sample.
      assert.equal(await page.getByTestId('start').isEnabled(), true);
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

/** A valid PNG of `width`×`height` one-bit gray pixels, all black: tiny on disk, any size in its header. */
function onebitPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), data])));
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, grayscale, deflate, adaptive filters, no interlace
  const rows = Buffer.alloc(height * (1 + Math.ceil(width / 8))); // filter byte 0 and zero bits on every row
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 24-bit BMP (bottom-up rows padded to 4 bytes) of `width`×`height` gray pixels. */
function bmp(width: number, height: number): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const file = Buffer.alloc(54 + row * height, 0x80);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(0, 6);
  file.writeUInt32LE(54, 10);
  file.writeUInt32LE(40, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(24, 28);
  file.writeUInt32LE(0, 30);
  file.writeUInt32LE(row * height, 34);
  file.fill(0, 38, 54);
  return file;
}

/** `jpeg` with the frame header's height and width set to these: the header lies, the data is the small image's. */
function claimSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let at = 2; at < out.length;) {
    const marker = out[at + 1]!;
    if (marker === 0xc0 || marker === 0xc2) {
      out.writeUInt16BE(height, at + 5);
      out.writeUInt16BE(width, at + 7);
      return out;
    }
    at += 2 + out.readUInt16BE(at + 2);
  }
  throw new Error('no frame header in the JPEG');
}

test(
  'Classify: images whose header claims more than 100 megapixels are refused before decoding, in one line naming the file and the limit; PNG, JPEG (with EXIF), WebP, GIF and BMP still classify',
  { timeout: 120_000 },
  async () => {
    const { config, params } = loadCheckpoint(join(fixturesDir, 'seed'));
    const model = join(work, 'seed.safetensors');
    writeFileSync(model, encodeModelFile(config, params));
    const [width, height] = [37, 23];
    const gradient = Buffer.alloc(width * height * 3);
    for (let i = 0; i < gradient.length; i++) gradient[i] = (i * 7) % 256;
    const image = (): ReturnType<typeof sharp> => sharp(gradient, { raw: { width, height, channels: 3 } });
    const images: [string, Buffer][] = [
      ['small.png', await image().png().toBuffer()],
      [
        'small.jpg',
        await image()
          .jpeg()
          .withExif({ IFD0: { Copyright: 'vit-ts test' } })
          .toBuffer(),
      ],
      ['lossy.webp', await image().webp().toBuffer()],
      ['lossless.webp', await image().webp({ lossless: true }).toBuffer()],
      ['alpha.webp', await image().ensureAlpha(0.5).webp().toBuffer()],
      ['small.gif', await image().gif().toBuffer()],
      ['small.bmp', bmp(width, height)],
    ];
    const huge: [string, Buffer, string][] = [
      ['huge.png', onebitPng(20_000, 20_000), '20000×20000 is 400 megapixels'],
      ['huge.jpg', claimSize(images[1]![1], 12_000, 9_000), '12000×9000 is 108 megapixels'],
    ];
    for (const [name, bytes] of [...images, ...huge]) writeFileSync(join(work, name), bytes);

    const { page, consoleErrors, pageErrors, close } = await browser.open('#model');
    try {
      await page.getByTestId('model-file-input').setInputFiles(model);
      await page.getByTestId('model-name').filter({ hasText: 'seed.safetensors' }).waitFor();
      await page.getByTestId('tab-classify').click();
      const status = page.getByTestId('classify-status');
      const error = page.getByTestId('error');
      for (const [name] of images) {
        await page.getByTestId('classify-file-input').setInputFiles(join(work, name));
        await status.filter({ hasText: `${name} (${width}×${height} shown)` }).waitFor();
        assert.equal(await page.getByTestId('prediction').count(), 5, `${name} classified`);
      }
      for (const [name, , size] of huge) {
        await page.getByTestId('classify-file-input').setInputFiles(join(work, name));
        await status.filter({ hasText: 'No image classified.' }).waitFor({ timeout: 60_000 });
        assert.equal(await error.textContent(), `${name}: ${size}, more than the 100 this decodes; scale it down first`);
        // The next image is a new ask: the status shows it classified.
        await page.getByTestId('classify-file-input').setInputFiles(join(work, 'small.png'));
        await status.filter({ hasText: 'small.png' }).filter({ hasNotText: 'Classifying' }).waitFor();
      }
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);

test(
  'the Model view: a model file larger than the page can hold is refused from its size, in one line naming it and the limit; the page goes on',
  { timeout: 60_000 },
  async () => {
    // Sparse: 3 GB by its size, nothing written.
    const large = join(work, 'large.safetensors');
    writeFileSync(large, '');
    truncateSync(large, 3_000_000_000);
    const { config, params } = loadCheckpoint(join(fixturesDir, 'seed'));
    const model = join(work, 'seed-model.safetensors');
    writeFileSync(model, encodeModelFile(config, params));

    const { page, consoleErrors, pageErrors, close } = await browser.open('#model');
    try {
      await page.getByTestId('model-file-input').setInputFiles(large);
      const error = page.getByTestId('error').filter({ hasText: 'large.safetensors' });
      await error.waitFor();
      assert.equal(
        await error.textContent(),
        'large.safetensors is 3,000,000,000 bytes, more than the 2,000 MB this page reads for a model file',
      );
      await page.getByTestId('model-file-input').setInputFiles(model);
      await page.getByTestId('model-name').filter({ hasText: 'seed-model.safetensors' }).waitFor();
      assert.deepEqual([...consoleErrors, ...pageErrors], []);
    } finally {
      await close();
    }
  },
);
