import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Schedule, learningRateAt, patchesKeptAt, runFraction } from '../src/train/schedule.js';

const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= 1e-15 + 1e-12 * Math.abs(expected), `${what}: ${actual} ≠ ${expected}`);
};
const atStep = (step: number) => ({ step, seconds: 0 });
/** min + (peak − min)·(1 + cos(π·p))/2, written out. */
const cosineAt = (p: number, peak: number, floor: number): number => floor + ((peak - floor) * (1 + Math.cos(Math.PI * p))) / 2;

describe('learning rate schedule over steps', () => {
  const cosine: Schedule = { kind: 'cosine', peakLr: 1e-3, minLr: 1e-5, warmupSteps: 10, length: { steps: 110 } };

  it('warms up linearly from peak/warmup to the peak', () => {
    close(learningRateAt(cosine, atStep(0)), 1e-4, 'step 0');
    close(learningRateAt(cosine, atStep(4)), 5e-4, 'step 4');
    close(learningRateAt(cosine, atStep(9)), 1e-3, 'step 9');
  });

  it('decays along a half cosine from the peak to the floor', () => {
    close(learningRateAt(cosine, atStep(10)), 1e-3, 'first step after warmup');
    // halfway through the 100 decay steps: cos(π/2) = 0, so the mean of peak and floor
    close(learningRateAt(cosine, atStep(60)), (1e-3 + 1e-5) / 2, 'halfway');
    close(learningRateAt(cosine, atStep(35)), 1e-5 + ((1e-3 - 1e-5) * (1 + Math.SQRT1_2)) / 2, 'a quarter');
    close(learningRateAt(cosine, atStep(109)), cosineAt(0.99, 1e-3, 1e-5), 'last step');
    close(learningRateAt(cosine, atStep(500)), 1e-5, 'past the end');
  });

  it('decays along a straight line for "linear"', () => {
    const linear: Schedule = { ...cosine, kind: 'linear' };
    close(learningRateAt(linear, atStep(10)), 1e-3, 'after warmup');
    close(learningRateAt(linear, atStep(35)), 1e-3 - 0.25 * (1e-3 - 1e-5), 'a quarter');
    close(learningRateAt(linear, atStep(110)), 1e-5, 'the end');
  });

  it('is constant after the warmup for the seed', () => {
    const constant: Schedule = { kind: 'constant', peakLr: 1e-2, minLr: 0, warmupSteps: 0, length: { steps: 100 } };
    for (const step of [0, 1, 50, 99, 1000]) assert.equal(learningRateAt(constant, atStep(step)), 1e-2);
    const warm = { ...constant, warmupSteps: 4 };
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((s) => learningRateAt(warm, atStep(s))),
      [0.0025, 0.005, 0.0075, 0.01, 0.01],
    );
  });
});

describe('learning rate schedule under a time budget', () => {
  const budget: Schedule = { kind: 'cosine', peakLr: 5e-3, minLr: 1e-5, warmupSteps: 100, length: { seconds: 1800 } };

  it('warms up over steps, however much time passed', () => {
    close(learningRateAt(budget, { step: 49, seconds: 600 }), 5e-3 / 2, 'step 49 of the warmup');
  });

  it('decays over the wall time of the budget, whatever the step', () => {
    for (const step of [100, 5000, 20000]) {
      close(learningRateAt(budget, { step, seconds: 450 }), cosineAt(0.25, 5e-3, 1e-5), `a quarter of the budget at step ${step}`);
      close(learningRateAt(budget, { step, seconds: 900 }), cosineAt(0.5, 5e-3, 1e-5), `half the budget at step ${step}`);
    }
    close(learningRateAt(budget, { step: 9000, seconds: 1800 }), 1e-5, 'at the budget');
    close(learningRateAt(budget, { step: 9000, seconds: 2500 }), 1e-5, 'past the budget');
    close(
      learningRateAt({ ...budget, kind: 'linear' }, { step: 9000, seconds: 1350 }),
      1e-5 + 0.25 * (5e-3 - 1e-5),
      'linear, three quarters',
    );
  });

  it('measures the run in seconds or steps', () => {
    assert.equal(runFraction({ seconds: 200 }, { step: 7, seconds: 50 }), 0.25);
    assert.equal(runFraction({ steps: 200 }, { step: 50, seconds: 7 }), 0.25);
    assert.equal(runFraction({ seconds: 200 }, { step: 7, seconds: 400 }), 1);
  });
});

describe('token dropping schedule', () => {
  it('rises linearly from the start share to all patches', () => {
    const keep = { start: 0.5, allFrom: 0.8 };
    assert.equal(patchesKeptAt(keep, 64, 0), 32);
    assert.equal(patchesKeptAt(keep, 64, 0.4), 48);
    assert.equal(patchesKeptAt(keep, 64, 0.8), 64);
    assert.equal(patchesKeptAt(keep, 64, 1), 64);
  });

  it('keeps every patch when off, and at least one when on', () => {
    assert.equal(patchesKeptAt({ start: 1, allFrom: 0 }, 64, 0), 64);
    assert.equal(patchesKeptAt({ start: 0.001, allFrom: 0.5 }, 64, 0), 1);
  });
});
