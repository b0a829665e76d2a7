import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SEED_AUGMENT } from '../src/data/augment.js';
import { UserError } from '../src/errors.js';
import { RECIPES, augmentOptions } from '../src/train/recipes.js';
import { resolveHyperparameters } from '../src/train/settings.js';
import { learningRateAt } from '../src/train/schedule.js';

const close = (actual: number, expected: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= 1e-15 + 1e-12 * Math.abs(expected), `${what}: ${actual} ≠ ${expected}`);
};

describe('learning rate schedule', () => {
  const cosine = { kind: 'cosine' as const, peakLr: 1e-3, minLr: 1e-5, warmupSteps: 10, totalSteps: 110 };

  it('warms up linearly from peak/warmup to the peak', () => {
    close(learningRateAt(cosine, 0), 1e-4, 'step 0');
    close(learningRateAt(cosine, 4), 5e-4, 'step 4');
    close(learningRateAt(cosine, 9), 1e-3, 'step 9');
  });

  it('decays along a half cosine from the peak to the floor', () => {
    close(learningRateAt(cosine, 10), 1e-3, 'first step after warmup');
    // halfway through the 100 decay steps: cos(π/2) = 0, so the mean of peak and floor
    close(learningRateAt(cosine, 60), (1e-3 + 1e-5) / 2, 'halfway');
    // a quarter of the way: min + (peak − min)·(1 + cos(π/4))/2
    close(learningRateAt(cosine, 35), 1e-5 + (1e-3 - 1e-5) * (1 + Math.SQRT1_2) / 2, 'a quarter');
    close(learningRateAt(cosine, 109), 1e-5 + (1e-3 - 1e-5) * (1 + Math.cos(Math.PI * 0.99)) / 2, 'last step');
    close(learningRateAt(cosine, 500), 1e-5, 'past the end');
  });

  it('is constant after the warmup for the seed', () => {
    const constant = { kind: 'constant' as const, peakLr: 1e-2, minLr: 0, warmupSteps: 0, totalSteps: 100 };
    for (const step of [0, 1, 50, 99, 1000]) assert.equal(learningRateAt(constant, step), 1e-2);
    const warm = { ...constant, warmupSteps: 4 };
    assert.deepEqual([0, 1, 2, 3, 4].map((s) => learningRateAt(warm, s)), [0.0025, 0.005, 0.0075, 0.01, 0.01]);
  });
});

describe('recipes', () => {
  it('seed is exactly the seed article\'s run', () => {
    assert.deepEqual({ ...RECIPES.seed }, {
      epochs: 100, batchSize: 256, lr: 1e-2, minLr: 0, schedule: 'constant', warmupEpochs: 0,
      weightDecay: 1e-2, labelSmoothing: 0, clipGrad: 0, augment: 'rrc',
    });
    const rrc = augmentOptions('rrc');
    assert.deepEqual(rrc.randomResizedCrop, SEED_AUGMENT.randomResizedCrop);
    assert.equal(rrc.horizontalFlip, true);
    assert.deepEqual([rrc.mean, rrc.std], [[0.5], [0.5]]);
  });

  it('fast uses warmup, cosine decay, clipping and padded crops', () => {
    const fast = RECIPES.fast;
    assert.equal(fast.schedule, 'cosine');
    assert.ok(fast.warmupEpochs >= 2 && fast.warmupEpochs <= 5);
    assert.ok(fast.lr >= 2e-3 && fast.lr <= 5e-3);
    assert.ok(fast.epochs <= RECIPES.seed.epochs / 2, 'fast takes at most half the seed recipe\'s epochs');
    assert.ok(fast.clipGrad > 0);
    assert.equal(fast.augment, 'crop');
    const crop = augmentOptions('crop');
    assert.equal(crop.randomResizedCrop, null);
    assert.equal(crop.cropPadding, 4);
    assert.equal(crop.horizontalFlip, true);
    const none = augmentOptions('none');
    assert.equal(none.cropPadding, 0);
    assert.equal(none.horizontalFlip, false);
  });

  it('lets every option override the recipe, and ignores options left undefined', () => {
    const h = resolveHyperparameters('fast', { lr: 1e-3, epochs: 5, augment: 'none', labelSmoothing: undefined });
    assert.equal(h.lr, 1e-3);
    assert.equal(h.epochs, 5);
    assert.equal(h.augment, 'none');
    assert.equal(h.labelSmoothing, RECIPES.fast.labelSmoothing);
    // a warmup longer than a short trial run is allowed
    assert.equal(resolveHyperparameters('fast', { epochs: 1 }).warmupEpochs, RECIPES.fast.warmupEpochs);
  });

  it('names the flag at fault', () => {
    const cases: [Parameters<typeof resolveHyperparameters>[1], RegExp][] = [
      [{ lr: 0 }, /--lr/],
      [{ epochs: 1.5 }, /--epochs/],
      [{ batchSize: 0 }, /--batch-size/],
      [{ labelSmoothing: 1 }, /--label-smoothing/],
      [{ clipGrad: -1 }, /--clip-grad/],
      [{ minLr: 1 }, /--min-lr/],
    ];
    for (const [overrides, flag] of cases) {
      assert.throws(() => resolveHyperparameters('seed', overrides), (e: unknown) => e instanceof UserError && flag.test(e.message));
    }
  });
});
