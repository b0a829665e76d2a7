// Shared test helpers.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type Engine, getEngine } from '../src/runtime/engine.js';

/** The compiled command line, for tests that run `vit` as a user does. */
export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export { TINY_CONFIG } from './tiny-config.js';

/** What the training tests share: an engine on two threads and a temporary folder for experiments. */
export interface TrainingSandbox {
  readonly engine: Engine;
  /** Made before the file's tests, removed after them. */
  readonly root: string;
}

/** Registers the hooks that set up and remove a TrainingSandbox around the calling file's tests. */
export function trainingSandbox(prefix: string): TrainingSandbox {
  let engine: Engine | undefined;
  let root: string | undefined;
  before(async () => {
    engine = await getEngine({ threads: 2 });
    root = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the training sandbox is used before its tests run');
    return value;
  };
  return {
    get engine() {
      return ready(engine);
    },
    get root() {
      return ready(root);
    },
  };
}

/** test/fixtures in the source tree (tests run from dist/test). */
export const fixturesDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures');

/**
 * Asserts that actual ≈ expected to float32 accuracy: the largest absolute error is at most
 * rtol × the expected tensor's largest magnitude (its scale). There is no absolute floor unless
 * the caller gives one (`atol`), so a tensor of tiny values is held to the same relative accuracy
 * as one of large values.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-5, atol = 0): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  const { worst, at, scale } = closeness(actual, expected);
  const limit = rtol * scale + atol;
  assert.ok(
    worst <= limit,
    `${what}: max abs error ${worst.toExponential(3)} at ${at} (got ${actual[at]}, expected ${expected[at]}) > ${limit.toExponential(3)} (scale ${scale.toExponential(3)}, ${(worst / scale).toExponential(2)} of it)`,
  );
}

/** The largest absolute error (NaN counts as the worst), where it is, and the expected tensor's largest magnitude. */
function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>): { worst: number; at: number; scale: number } {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0,
    at = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!);
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  return { worst, at, scale };
}

/** Follows the static imports (not import()) from a compiled module; returns the packages reached. */
export function staticPackages(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm)) {
      const specifier = (m[1] ?? m[2])!;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return packages;
}

/** A thread that keeps one core busy until terminated: a machine made busy, for the tests of time budgets. */
export function spinningWorker(): Worker {
  return new Worker('for (;;) {}', { eval: true });
}
