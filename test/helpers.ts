// Shared test helpers.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** test/fixtures in the source tree (tests run from dist/test). */
export const fixturesDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'fixtures');

/**
 * Asserts that actual ≈ expected to float32 accuracy: the largest absolute error is at most
 * rtol × the expected tensor's largest magnitude (its scale), plus a tiny absolute floor.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rtol = 1e-4, atol = 1e-7): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0, at = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!);
    if (!(e <= worst)) { worst = e; at = i; }
  }
  const limit = rtol * scale + atol;
  assert.ok(worst <= limit, `${what}: max abs error ${worst.toExponential(3)} at ${at} (got ${actual[at]}, expected ${expected[at]}) > ${limit.toExponential(3)} (scale ${scale.toExponential(3)})`);
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
