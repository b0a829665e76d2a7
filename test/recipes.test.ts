import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, test } from 'node:test';
import { SEED_AUGMENT } from '../src/data/augment.js';
import { UserError } from '../src/errors.js';
import { RECIPES, RECIPE_NAMES, augmentOptions } from '../src/train/recipes.js';
import { resolveHyperparameters } from '../src/train/settings.js';
import { CLI } from './helpers.js';

describe('recipes', () => {
  it("seed is exactly the seed article's run", () => {
    assert.deepEqual(
      { ...RECIPES.seed },
      {
        epochs: 100,
        batchSize: 256,
        lr: 1e-2,
        minLr: 0,
        schedule: 'constant',
        warmupEpochs: 0,
        weightDecay: 1e-2,
        labelSmoothing: 0,
        clipGrad: 0,
        augment: 'rrc',
        keepTokens: 1,
        keepTokensUntil: 0,
        emaDecay: 0,
      },
    );
    const rrc = augmentOptions('rrc');
    assert.deepEqual(rrc.randomResizedCrop, SEED_AUGMENT.randomResizedCrop);
    assert.equal(rrc.horizontalFlip, true);
    assert.deepEqual([rrc.mean, rrc.std], [[0.5], [0.5]]);
  });

  it('fast uses warmup, linear decay, clipping, padded crops and token dropping', () => {
    const fast = RECIPES.fast;
    assert.equal(fast.schedule, 'linear');
    assert.ok(fast.keepTokens < 1 && fast.keepTokensUntil > 0 && fast.keepTokensUntil < 1);
    assert.ok(fast.warmupEpochs >= 2 && fast.warmupEpochs <= 5);
    assert.ok(fast.lr >= 2e-3 && fast.lr <= 5e-3);
    assert.ok(fast.epochs <= RECIPES.seed.epochs / 2, "fast takes at most half the seed recipe's epochs");
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
      assert.throws(
        () => resolveHyperparameters('seed', overrides),
        (e: unknown) => e instanceof UserError && flag.test(e.message),
      );
    }
  });
});

test("vit train --help describes each recipe from its values (the fast one's linear decay and token dropping)", () => {
  const help = spawnSync(process.execPath, [CLI, 'train', '--help'], { encoding: 'utf8' }).stdout.replace(/\n {8}/g, ' ');
  const fast = RECIPES.fast;
  assert.ok(
    help.includes(
      `fast  AdamW (weight decay 1e-2); ${fast.warmupEpochs} warmup epochs, then linear decay from 5e-3 to 1e-5, batch ${fast.batchSize},`,
    ),
    help,
  );
  assert.ok(
    help.includes(
      `token dropping: ${fast.keepTokens * 100}% of the patches at first, all from ${fast.keepTokensUntil * 100}% of the run, ${fast.epochs} epochs.`,
    ),
    help,
  );
  assert.ok(
    help.includes(
      'seed  AdamW (weight decay 1e-2); a constant learning rate of 1e-2, batch 256, RandomResizedCrop(0.8-1, 3/4-4/3) + flip, 100 epochs.',
    ),
    help,
  );
  assert.ok(!/cosine/.test(help.slice(help.indexOf('Recipes'))), 'no recipe decays by a cosine');
  for (const name of RECIPE_NAMES) assert.equal(help.split('\n').filter((l) => l.startsWith(`  ${name}  `)).length, 1);
});
