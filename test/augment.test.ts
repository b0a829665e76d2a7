import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchMaker, SEED_AUGMENT, sampleResizedCrop } from '../src/data/augment.js';
import { CIFAR10_CLASSES, IMAGE_BYTES, type ImageSet } from '../src/data/cifar10.js';
import { Random } from '../src/random.js';

const SIZE = 32;
const PLANE = SIZE * SIZE;

/** Images with varied, position-dependent bytes so that mirrors and shifts show. */
function makeSet(count: number, seed = 1): ImageSet {
  const rng = new Random(seed);
  const images = new Uint8Array(count * IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count, classNames: [...CIFAR10_CLASSES] };
}

const byte = (set: ImageSet, image: number, c: number, y: number, x: number): number =>
  set.images[image * IMAGE_BYTES + c * PLANE + y * SIZE + x]!;

test('normalization matches a hand computation exactly', () => {
  const set = makeSet(3);
  const mean = [0.4914, 0.4822, 0.4465];
  const std = [0.247, 0.243, 0.261];
  const maker = new BatchMaker(SIZE, 3, { mean, std }, new Random(0));
  const out = new Float32Array(2 * 3 * PLANE);
  maker.fill(out, set, [2, 0], 0, 2, false);
  for (const [slot, image] of [
    [0, 2],
    [1, 0],
  ] as const) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const expected = Math.fround((byte(set, image, c, y, x) / 255 - mean[c]!) / std[c]!);
          assert.equal(out[slot * 3 * PLANE + c * PLANE + y * SIZE + x], expected);
        }
      }
    }
  }
  // the default is 0.5 per channel: bytes 0 and 255 map to -1 and 1
  const edges: ImageSet = { ...makeSet(1), images: new Uint8Array(IMAGE_BYTES).fill(255) };
  edges.images[0] = 0;
  const half = new BatchMaker(SIZE, 3, {}, new Random(0));
  const small = new Float32Array(3 * PLANE);
  half.fill(small, edges, [0], 0, 1, false);
  assert.equal(small[0], -1);
  assert.equal(small[1], 1);
});

test('with augmentation off the output is the normalized image, whatever the options', () => {
  const set = makeSet(4);
  const plain = new Float32Array(4 * 3 * PLANE);
  new BatchMaker(SIZE, 3, {}, new Random(0)).fill(plain, set, [0, 1, 2, 3], 0, 4, false);
  const withOptions = new Float32Array(4 * 3 * PLANE);
  new BatchMaker(SIZE, 3, { ...SEED_AUGMENT, cropPadding: 4 }, new Random(5)).fill(withOptions, set, [0, 1, 2, 3], 0, 4, false);
  assert.deepEqual(withOptions, plain);
  // start offsets into the index list
  const second = new Float32Array(3 * PLANE);
  new BatchMaker(SIZE, 3, SEED_AUGMENT, new Random(5)).fill(second, set, [3, 1, 2], 1, 1, false);
  assert.deepEqual(second, plain.subarray(3 * PLANE, 6 * PLANE));
});

test('a horizontal flip is an exact mirror', () => {
  const set = makeSet(1);
  const plain = new Float32Array(3 * PLANE);
  new BatchMaker(SIZE, 3, {}, new Random(0)).fill(plain, set, [0], 0, 1, false);
  const flipper = new BatchMaker(SIZE, 3, { horizontalFlip: true }, new Random(3));
  const out = new Float32Array(3 * PLANE);
  let flipped = 0;
  let kept = 0;
  for (let trial = 0; trial < 40; trial++) {
    flipper.fill(out, set, [0], 0, 1, true);
    if (out.every((v, i) => v === plain[i])) {
      kept++;
      continue;
    }
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          assert.equal(out[c * PLANE + y * SIZE + x], plain[c * PLANE + y * SIZE + (SIZE - 1 - x)]);
        }
      }
    }
    flipped++;
  }
  assert.ok(flipped > 5 && kept > 5, `flipped ${flipped}, kept ${kept} of 40`);
});

test('crop statistics: area fraction within scale, aspect within ratio, inside the image', () => {
  const rng = new Random(11);
  const scale: [number, number] = [0.08, 1];
  const ratio: [number, number] = [3 / 4, 4 / 3];
  // large images make the integer rounding of the crop size negligible
  const side = 1000;
  const fractions: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const box = sampleResizedCrop(rng, side, side, scale, ratio);
    assert.ok(box.top >= 0 && box.left >= 0 && box.top + box.height <= side && box.left + box.width <= side);
    const fraction = (box.width * box.height) / (side * side);
    const aspect = box.width / box.height;
    assert.ok(fraction >= scale[0] - 0.002 && fraction <= scale[1] + 0.002, `area fraction ${fraction}`);
    assert.ok(aspect >= ratio[0] * 0.99 && aspect <= ratio[1] * 1.01, `aspect ${aspect}`);
  }
  // with a square ratio no try is rejected, so the area fraction is uniform over the scale
  for (let i = 0; i < 2000; i++) {
    const box = sampleResizedCrop(rng, side, side, scale, [1, 1]);
    fractions.push((box.width * box.height) / (side * side));
  }
  const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
  assert.ok(Math.abs(mean - 0.54) < 0.02, `mean area fraction ${mean}`);
  assert.ok(Math.min(...fractions) < 0.1 && Math.max(...fractions) > 0.98);

  // the seed's crop on 32×32: sizes round to whole pixels, at most half a pixel per side
  for (let i = 0; i < 2000; i++) {
    const box = sampleResizedCrop(rng, SIZE, SIZE, [0.8, 1], ratio);
    assert.ok(box.top >= 0 && box.left >= 0 && box.top + box.height <= SIZE && box.left + box.width <= SIZE);
    const low = Math.max(box.width - 0.5, 0) * Math.max(box.height - 0.5, 0);
    const high = (box.width + 0.5) * (box.height + 0.5);
    assert.ok(low <= 1 * PLANE && high >= 0.8 * PLANE, `crop ${box.width}×${box.height}`);
    assert.ok((box.width + 0.5) / (box.height - 0.5) >= 3 / 4 && (box.width - 0.5) / (box.height + 0.5) <= 4 / 3);
  }

  // an impossible scale falls back to the central crop at the nearest allowed ratio
  assert.deepEqual(sampleResizedCrop(rng, 32, 32, [2, 3], ratio), { top: 0, left: 0, height: 32, width: 32 });
  assert.deepEqual(sampleResizedCrop(rng, 20, 40, [2, 3], [1, 1]), { top: 0, left: 10, height: 20, width: 20 });
});

test('a crop covering the whole image reproduces the image', () => {
  const set = makeSet(2);
  const plain = new Float32Array(2 * 3 * PLANE);
  new BatchMaker(SIZE, 3, {}, new Random(0)).fill(plain, set, [0, 1], 0, 2, false);
  const whole = new BatchMaker(SIZE, 3, { randomResizedCrop: { scale: [1, 1], ratio: [1, 1] } }, new Random(9));
  const out = new Float32Array(2 * 3 * PLANE);
  whole.fill(out, set, [0, 1], 0, 2, true);
  assert.deepEqual(out, plain);
});

test('bilinear resizing uses half-pixel centers', () => {
  const set = makeSet(1);
  // 32 → 16: each output is the mean of a 2×2 block
  const down = new Float32Array(3 * 16 * 16);
  new BatchMaker(16, 3, {}, new Random(0)).fill(down, set, [0], 0, 1, false);
  for (const [c, y, x] of [
    [0, 0, 0],
    [1, 5, 9],
    [2, 15, 15],
  ] as const) {
    const sum =
      byte(set, 0, c, 2 * y, 2 * x) +
      byte(set, 0, c, 2 * y, 2 * x + 1) +
      byte(set, 0, c, 2 * y + 1, 2 * x) +
      byte(set, 0, c, 2 * y + 1, 2 * x + 1);
    assert.ok(Math.abs(down[c * 256 + y * 16 + x]! - (sum / 4 / 255 - 0.5) / 0.5) < 1e-6);
  }
  // 32 → 64: output 2k+1 sits at source k + 0.25, edges clamp
  const up = new Float32Array(3 * 64 * 64);
  new BatchMaker(64, 3, {}, new Random(0)).fill(up, set, [0], 0, 1, false);
  const norm = (v: number): number => (v / 255 - 0.5) / 0.5;
  const row = 7;
  // output row 2·7+1 = 15 sits at source row 7.25
  const at = (x: number): number => 0.75 * byte(set, 0, 1, row, x) + 0.25 * byte(set, 0, 1, row + 1, x);
  assert.ok(Math.abs(up[64 * 64 + 15 * 64 + 0]! - norm(at(0))) < 1e-6);
  assert.ok(Math.abs(up[64 * 64 + 15 * 64 + 63]! - norm(at(31))) < 1e-6);
  assert.ok(Math.abs(up[64 * 64 + 15 * 64 + 11]! - norm(0.75 * at(5) + 0.25 * at(6))) < 1e-6);
  // a resized constant image stays constant
  const flat: ImageSet = { ...makeSet(1), images: new Uint8Array(IMAGE_BYTES).fill(200) };
  const big = new Float32Array(3 * 224 * 224);
  new BatchMaker(224, 3, SEED_AUGMENT, new Random(2)).fill(big, flat, [0], 0, 1, true);
  const expected = Math.fround(norm(200));
  assert.ok(big.every((v) => Math.abs(v - expected) < 1e-6));
});

test('a padded random crop is a shift with zero fill', () => {
  const set = makeSet(1);
  const maker = new BatchMaker(SIZE, 3, { cropPadding: 4 }, new Random(4));
  const out = new Float32Array(3 * PLANE);
  const zero = Math.fround((0 - 0.5) / 0.5);
  const seen = new Set<string>();
  for (let trial = 0; trial < 30; trial++) {
    maker.fill(out, set, [0], 0, 1, true);
    let found = false;
    for (let dy = -4; dy <= 4 && !found; dy++) {
      for (let dx = -4; dx <= 4 && !found; dx++) {
        found = out.every((v, i) => {
          const c = Math.floor(i / PLANE);
          const y = Math.floor((i % PLANE) / SIZE) + dy;
          const x = (i % SIZE) + dx;
          const inside = y >= 0 && x >= 0 && y < SIZE && x < SIZE;
          return v === (inside ? Math.fround((byte(set, 0, c, y, x) / 255 - 0.5) / 0.5) : zero);
        });
        if (found) seen.add(`${dy},${dx}`);
      }
    }
    assert.ok(found, 'output is not a shifted copy of the image');
  }
  assert.ok(seen.size > 10, `only ${seen.size} distinct shifts`);
});

test('padded crops draw top, left, then the flip per image, and leave the generator where the draws end', () => {
  // What reproducible and resumable runs rely on: the same draws in the same order as ever.
  const set = makeSet(5);
  const indices = [3, 0, 4, 1, 2];
  const out = new Float32Array(5 * 3 * PLANE);
  const rng = new Random(11);
  new BatchMaker(SIZE, 3, { cropPadding: 4, horizontalFlip: true }, rng).fill(out, set, indices, 0, 5, true);
  const draws = new Random(11);
  const zero = Math.fround((0 - 0.5) / 0.5);
  indices.forEach((image, i) => {
    const top = draws.int(9) - 4;
    const left = draws.int(9) - 4;
    const mirror = draws.uniform() < 0.5;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const sy = y + top;
          const sx = (mirror ? SIZE - 1 - x : x) + left;
          const inside = sy >= 0 && sx >= 0 && sy < SIZE && sx < SIZE;
          const expected = inside ? Math.fround((byte(set, image, c, sy, sx) / 255 - 0.5) / 0.5) : zero;
          assert.equal(out[((i * 3 + c) * SIZE + y) * SIZE + x], expected, `image ${i}, channel ${c}, (${y}, ${x})`);
        }
      }
    }
  });
  assert.deepEqual(rng.state(), draws.state());
});

test('one channel gives the luma of the image', () => {
  const set = makeSet(1);
  const out = new Float32Array(PLANE);
  new BatchMaker(SIZE, 1, {}, new Random(0)).fill(out, set, [0], 0, 1, false);
  const luma = 0.2989 * byte(set, 0, 0, 3, 4) + 0.587 * byte(set, 0, 1, 3, 4) + 0.114 * byte(set, 0, 2, 3, 4);
  assert.ok(Math.abs(out[3 * SIZE + 4]! - (luma / 255 - 0.5) / 0.5) < 1e-6);
});

test('the same seed gives the same batches; another seed does not', () => {
  const set = makeSet(8);
  const indices = Uint32Array.from([7, 3, 5, 1, 0, 2]);
  const run = (seed: number): Float32Array => {
    const maker = new BatchMaker(SIZE, 3, SEED_AUGMENT, new Random(seed));
    const out = new Float32Array(6 * 3 * PLANE * 2);
    maker.fill(out, set, indices, 0, 6, true);
    maker.fill(out.subarray(6 * 3 * PLANE), set, indices, 0, 6, true);
    return out;
  };
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
});

test('fill refuses a short buffer or an index outside the set', () => {
  const set = makeSet(2);
  const maker = new BatchMaker(SIZE, 3, {}, new Random(0));
  assert.throws(() => maker.fill(new Float32Array(3 * PLANE), set, [0, 1], 0, 2, false), RangeError);
  assert.throws(() => maker.fill(new Float32Array(3 * PLANE), set, [2], 0, 1, false), RangeError);
  assert.throws(() => new BatchMaker(SIZE, 2, {}, new Random(0)), RangeError);
});
