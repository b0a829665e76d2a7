// Untrusted images (issue #12, item 2): a header claiming too many pixels is refused before
// decoding, naming the file; many large images are decoded one at a time, so memory stays bounded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { classifyAll, loadModel } from '../src/api.js';
import { UserError } from '../src/errors.js';
import { MAX_IMAGE_PIXELS, decodeImage } from '../src/images.js';
import { getEngine } from '../src/runtime/engine.js';
import { fixturesDir } from './helpers.js';

let dir: string;
before(async () => {
  await getEngine({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'vit-img-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A PNG chunk: length, type, data, CRC-32 of type and data (the PNG specification, section 5.3). */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const body = new Uint8Array([...new TextEncoder().encode(type), ...data]);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(body, 4);
  view.setUint32(8 + data.length, crc32(body));
  return out;
}

/** A tiny PNG whose header says width × height RGB pixels, with only the first row's data. */
function pngHeaderOnly(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter tweaks, not interlaced
  const signature = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  const firstRow = deflateSync(new Uint8Array(1 + 3 * width));
  return new Uint8Array([...signature, ...chunk('IHDR', ihdr), ...chunk('IDAT', firstRow), ...chunk('IEND', new Uint8Array(0))]);
}

test('a header claiming more than the pixel limit is refused by its size, naming the file', async () => {
  const file = join(dir, 'huge.png');
  writeFileSync(file, pngHeaderOnly(20_000, 20_000));
  assert.equal((await sharp(file, { limitInputPixels: false }).metadata()).width, 20_000, 'sharp reads the crafted header');
  await assert.rejects(
    decodeImage(file),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === `${file}: 20000×20000 is 400 megapixels, more than the ${MAX_IMAGE_PIXELS / 1e6} this decodes; scale it down first`,
  );
  // Just under the limit, the header passes and the missing pixel data is what fails.
  await assert.rejects(
    decodeImage(pngHeaderOnly(10_000, 9_999), 'under.png'),
    (e: unknown) => e instanceof UserError && /^under\.png: cannot decode the image/.test(e.message),
  );
});

test('an undecodable image names the formats that work', async () => {
  await assert.rejects(
    decodeImage(new Uint8Array([1, 2, 3]), 'x.bin'),
    (e: unknown) => e instanceof UserError && /expected a PNG, JPEG, GIF, WebP, TIFF, AVIF or SVG image$/.test(e.message),
  );
});

test('many large images are decoded one at a time: peak memory is about one decoded image, not all of them', async () => {
  sharp.cache(false);
  const side = 4000; // 16 megapixels: 48 MB decoded
  const file = join(dir, 'large.png');
  await sharp({ create: { width: side, height: side, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .png()
    .toFile(file);
  const model = await loadModel(join(fixturesDir, 'seed'));
  const images = new Array<string>(12).fill(file);
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 2);
  try {
    const results = await classifyAll(model, images, { topK: 1 });
    assert.equal(results.length, images.length);
  } finally {
    clearInterval(sampler);
    model.release();
  }
  const grewMb = (peak - baseline) / 2 ** 20;
  // Twelve at once (as before) peaked at ~12 × 48 MB; one at a time stays within a few images' worth.
  assert.ok(grewMb < 4 * 48, `memory grew by ${grewMb.toFixed(0)} MB while classifying ${images.length} images of ${side}×${side}`);
});
