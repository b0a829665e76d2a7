import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jet } from '../src/viz/colormap.js';

/** Hue in degrees [0, 360) of an RGB colour. */
function hue([r, g, b]: [number, number, number]): number {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === min) return 0;
  const delta = max - min;
  let degrees: number;
  if (max === r) degrees = 60 * (((g - b) / delta) % 6);
  else if (max === g) degrees = 60 * ((b - r) / delta + 2);
  else degrees = 60 * ((r - g) / delta + 4);
  return (degrees + 360) % 360;
}

test('jet end points and middle match matplotlib', () => {
  assert.deepEqual(jet(0), [0, 0, 128]); // dark blue
  assert.deepEqual(jet(1), [128, 0, 0]); // dark red
  const [r, g, b] = jet(0.5);
  assert.ok(g === 255 && r < 140 && b < 140, `jet(0.5) = ${[r, g, b]} is not greenish`);
  // Cyan-ish on the way up, yellow-ish on the way down.
  const cyan = jet(0.35);
  assert.ok(cyan[1] > 200 && cyan[2] > 200 && cyan[0] < 30, `jet(0.35) = ${cyan}`);
  const yellow = jet(0.65);
  assert.ok(yellow[0] > 200 && yellow[1] > 200 && yellow[2] < 30, `jet(0.65) = ${yellow}`);
});

test('jet returns bytes, clamps out-of-range input and maps NaN like 0', () => {
  for (let t = 0; t <= 1; t += 0.01) {
    for (const channel of jet(t)) assert.ok(Number.isInteger(channel) && channel >= 0 && channel <= 255);
  }
  assert.deepEqual(jet(-3), jet(0));
  assert.deepEqual(jet(7), jet(1));
  assert.deepEqual(jet(Number.NaN), jet(0));
});

test('jet hue falls monotonically from blue (240°) to red (0°)', () => {
  let previous = Infinity;
  for (let step = 0; step <= 200; step++) {
    const degrees = hue(jet(step / 200));
    assert.ok(degrees <= previous + 1e-9, `hue rises at t=${step / 200}: ${previous} → ${degrees}`);
    previous = degrees;
  }
  assert.equal(hue(jet(0)), 240);
  assert.equal(hue(jet(1)), 0);
});
