// Bicubic resizing against PyTorch's F.interpolate(mode="bicubic", align_corners=False), worked by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resizeBicubic } from '../src/model/interpolate.js';
import { Random } from '../src/random.js';
import { assertClose } from './helpers.js';

/**
 * Keys' cubic kernel with A = −0.75 at the four taps of a fraction t, worked out by hand:
 * t = 0.25 → distances 1.25, 0.25, 0.75, 1.75; t = 0.75 mirrors it.
 * e.g. W(0.25) = ((A+2)·0.25 − (A+3))·0.25² + 1 = (0.3125 − 2.25)·0.0625 + 1 = 0.87890625.
 */
const QUARTER = [-0.10546875, 0.87890625, 0.26171875, -0.03515625];
const THREE_QUARTERS = [...QUARTER].reverse();

/**
 * Doubling n → 2n samples output o at source 0.5·o − 0.25: for even o, floor −1 + o/2 with t = 0.75;
 * for odd o, floor (o − 1)/2 with t = 0.25. The taps floor − 1 … floor + 2 are clamped to the edge.
 * Returns the [2n, n] matrix of this 1-D resize.
 */
function doublingMatrix(n: number): number[][] {
  return Array.from({ length: 2 * n }, (_, o) => {
    const row = new Array<number>(n).fill(0);
    const floor = o % 2 === 0 ? o / 2 - 1 : (o - 1) / 2;
    const weights = o % 2 === 0 ? THREE_QUARTERS : QUARTER;
    for (let k = 0; k < 4; k++) row[Math.max(0, Math.min(floor - 1 + k, n - 1))]! += weights[k]!;
    return row;
  });
}

const randomGrid = (h: number, w: number, channels: number, seed: number): Float32Array => {
  const rng = new Random(seed);
  return Float32Array.from({ length: h * w * channels }, () => rng.normal());
};

/** Keys' cubic convolution kernel with A = −0.75 (PyTorch's bicubic), from its definition. */
function keys(x: number): number {
  const A = -0.75;
  const d = Math.abs(x);
  if (d <= 1) return (A + 2) * d ** 3 - (A + 3) * d ** 2 + 1;
  if (d < 2) return A * d ** 3 - 5 * A * d ** 2 + 8 * A * d - 4 * A;
  return 0;
}

test("the hand-worked weights are Keys' kernel at the four taps, and the resize applies them", () => {
  assert.deepEqual([1.25, 0.25, -0.75, -1.75].map(keys), QUARTER);
  // Doubling one row of 8 samples with a 1 at index 4: output o reads source 0.5·o − 0.25, so outputs
  // 5 … 12 see the impulse at distances 1.75, 1.25, 0.75, 0.25, 0.25, 0.75, 1.25, 1.75 (signs aside).
  const impulse = new Float32Array(8);
  impulse[4] = 1;
  const out = resizeBicubic(impulse, 1, 1, 8, 1, 16);
  const expected = new Array<number>(16).fill(0);
  [1.75, 1.25, 0.75, 0.25, 0.25, 0.75, 1.25, 1.75].forEach((d, i) => {
    expected[5 + i] = keys(d);
  });
  assert.deepEqual(Array.from(out), expected.map(Math.fround));
});

test('equal sizes give back the input exactly', () => {
  const src = randomGrid(5, 3, 4, 1);
  assert.deepEqual(resizeBicubic(src, 4, 5, 3, 5, 3), src);
});

test('2×2 → 4×4 as worked by hand (PyTorch gives 0.6836 … 4.3164 for [[1, 2], [3, 4]])', () => {
  const out = resizeBicubic(Float32Array.of(1, 2, 3, 4), 1, 2, 2, 4, 4);
  // 1-D rows: [1.10546875, −0.10546875], [0.7734375, 0.2265625], then mirrored
  const r = doublingMatrix(2);
  assert.deepEqual(r[0], [1.10546875, -0.10546875]);
  assert.deepEqual(r[1], [0.7734375, 0.2265625]);
  const x = [
    [1, 2],
    [3, 4],
  ];
  const expected: number[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let sum = 0;
      for (let p = 0; p < 2; p++) for (let q = 0; q < 2; q++) sum += r[i]![p]! * r[j]![q]! * x[p]![q]!;
      expected.push(sum);
    }
  }
  // out[0][0]: rows first: 1.10546875·[1, 2] − 0.10546875·[3, 4] = [0.7890625, 1.7890625], then 0.68359375
  assert.equal(expected[0], 0.68359375);
  assertClose(out, expected, '2×2 → 4×4', 1e-7);
  assertClose(
    out,
    [0.6836, 1.0156, 1.5625, 1.8945, 1.3477, 1.6797, 2.2266, 2.5586, 2.4414, 2.7734, 3.3203, 3.6523, 3.1055, 3.4375, 3.9844, 4.3164],
    'PyTorch, to 4 decimals',
    2e-5,
  );
});

test('4×4 → 8×8 over 3 channels is the separable hand-computed resize of each channel', () => {
  const channels = 3;
  const src = randomGrid(4, 4, channels, 2);
  const out = resizeBicubic(src, channels, 4, 4, 8, 8);
  const r = doublingMatrix(4);
  for (let c = 0; c < channels; c++) {
    const expected: number[] = [];
    const actual: number[] = [];
    for (let i = 0; i < 8; i++) {
      for (let j = 0; j < 8; j++) {
        let sum = 0;
        for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) sum += r[i]![p]! * r[j]![q]! * src[(p * 4 + q) * channels + c]!;
        expected.push(sum);
        actual.push(out[(i * 8 + j) * channels + c]!);
      }
    }
    assertClose(actual, expected, `channel ${c}`, 1e-6);
  }
});

test('a constant stays constant, up and down', () => {
  const src = new Float32Array(6 * 6 * 2).fill(0.375);
  for (const [h, w] of [
    [13, 9],
    [3, 4],
    [6, 1],
  ] as const) {
    const out = resizeBicubic(src, 2, 6, 6, h, w);
    assert.equal(out.length, h * w * 2);
    assertClose(out, new Float32Array(h * w * 2).fill(0.375), `6×6 → ${h}×${w}`, 1e-6);
  }
});

/**
 * Where the 4 taps stay inside, a ramp's output is the ramp at source + δ(t), δ(t) the kernel's first
 * moment Σ w·(tap − source). With A = −0.75 (not Keys' −0.5) δ is 0 only at t = 0 and t = ½; by hand,
 * t = 0.25: −0.10546875·(−1.25) + 0.87890625·(−0.25) + 0.26171875·0.75 − 0.03515625·1.75 = 0.046875,
 * and t = 0.75 mirrors it: −0.046875.
 */
const FIRST_MOMENT: Readonly<Record<number, number>> = { 0: 0, 0.25: 0.046875, 0.5: 0, 0.75: -0.046875 };

/** Checks a resize of the ramp 2·y − 3·x + 1 at the outputs whose taps are all inside; returns how many. */
function checkRamp(h: number, outH: number): number {
  const ramp = (y: number, x: number): number => 2 * y - 3 * x + 1;
  const src = new Float32Array(h * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < h; x++) src[y * h + x] = ramp(y, x);
  const out = resizeBicubic(src, 1, h, h, outH, outH);
  const inside: { o: number; at: number }[] = [];
  for (let o = 0; o < outH; o++) {
    const source = (h / outH) * (o + 0.5) - 0.5;
    const floor = Math.floor(source);
    const shift = FIRST_MOMENT[source - floor];
    assert.ok(shift !== undefined, `fraction ${source - floor}`);
    if (floor - 1 >= 0 && floor + 2 <= h - 1) inside.push({ o, at: source + shift });
  }
  for (const row of inside) {
    for (const col of inside) {
      const expected = ramp(row.at, col.at);
      const got = out[row.o * outH + col.o]!;
      assert.ok(Math.abs(got - expected) < 1e-5, `${h} → ${outH} at (${row.o}, ${col.o}): ${got} vs ${expected}`);
    }
  }
  return inside.length ** 2;
}

test('a linear ramp stays linear inside at fraction ½ (halving), and moves by the first moment when doubling', () => {
  assert.equal(checkRamp(12, 6), 16, 'halving: source 2·o + ½');
  assert.equal(checkRamp(8, 16), 100, 'doubling: fractions ¾ and ¼, source ½·o − ¼');
});

test('bad shapes are refused', () => {
  assert.throws(() => resizeBicubic(new Float32Array(5), 1, 2, 2, 4, 4), RangeError);
  assert.throws(() => resizeBicubic(new Float32Array(4), 1, 2, 2, 0, 4), RangeError);
});
