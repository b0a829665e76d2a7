// The parsers of untrusted input under fast-check (test/fuzz/targets.ts): a short run with a fixed
// seed (the long one is `npm run fuzz -- --minutes 10`), and what the long runs found, replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UserError } from '../src/errors.js';
import { parseSafetensors } from '../src/io/safetensors-format.js';
import { SEED_CONFIG } from '../src/model/config.js';
import { parsePreprocessor } from '../src/weights/model-config.js';
import { FUZZ_TARGETS } from './fuzz/targets.js';

for (const [name, target] of Object.entries(FUZZ_TARGETS)) {
  test(`fuzz ${name}: ${target.quickRuns} cases end in a one-line UserError naming the source or a result that satisfies the format, checked by the harness`, async () => {
    await fc.assert(
      target.property(() => undefined),
      { seed: 20261130, numRuns: target.quickRuns },
    );
  });
}

test('finding: a preprocessor "size" of 0, negative or fractional is refused (it was kept as the resize side)', () => {
  for (const size of [0, -3, 2.5, { shortest_edge: 0 }, { height: -1, width: -1 }]) {
    assert.throws(
      () => parsePreprocessor({ size }, SEED_CONFIG, 'preprocessor_config.json'),
      (e: unknown) => e instanceof UserError && /^preprocessor_config\.json: "size" must be a side in whole pixels ≥ 1/.test(e.message),
    );
  }
  assert.equal(parsePreprocessor({ size: { shortest_edge: 224 } }, SEED_CONFIG, 'p').size, 224);
});

test('finding: a UserError quoting a file is one line: newlines and terminal escapes in names and JSON excerpts are escaped', () => {
  const file = (headerText: string): Uint8Array => {
    const json = new TextEncoder().encode(headerText);
    const bytes = new Uint8Array(8 + json.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    return bytes;
  };
  const oneLine =
    (pattern: RegExp) =>
    (e: unknown): boolean =>
      e instanceof UserError && !/[\n\u001b]/.test(e.message) && pattern.test(e.message);
  // The fuzz run's case: Node 20's V8 quotes the text around the fault, raw line break included (Node 24's
  // gives the line and column instead).
  assert.throws(
    () =>
      parseSafetensors(
        file('{"__metadata__":{"format":"pt"},"t0":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"t1":{"dtype":"U8","shape"\n[3,5,2]}}'),
        'x.safetensors',
      ),
    oneLine(/not valid JSON.*(\\n\[3,5,2\]|line 2 column 1)/),
  );
  // A tensor name with a line break and a terminal escape sequence.
  assert.throws(
    () => parseSafetensors(file(JSON.stringify({ 'a\nb\u001b[2J': { dtype: 'F64', shape: [], data_offsets: [0, 8] } })), 'x.safetensors'),
    oneLine(/tensor "a\\nb\\u001b\[2J": unsupported dtype/),
  );
});
