// Bad input on the command line (issue #12, items 2, 5 and 9): each ends in one line naming the
// flag, key or file, exit status 1, and at once (no minutes of allocation before an abort).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, fixturesDir } from './helpers.js';

function vit(...args: string[]): { status: number | null; stderr: string; ms: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIT_THREADS: '1' },
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr, ms: performance.now() - started };
}

/** Exit 1 with exactly one line on stderr matching `pattern`. */
function failsWith(args: string[], pattern: RegExp): void {
  const { status, stderr } = vit(...args);
  assert.equal(status, 1, `vit ${args.join(' ')}: ${stderr}`);
  assert.equal(stderr.trimEnd().split('\n').length, 1, `one line: ${stderr}`);
  assert.match(stderr.trimEnd(), pattern);
}

test('numbers in hexadecimal, binary or octal are refused (0x10 was read as 16)', () => {
  failsWith(['train', '--exp-name', 'x', '--sample', '--lr', '0x10'], /^vit: --lr must be a number .*\(got "0x10"\)$/);
  failsWith(['train', '--exp-name', 'x', '--sample', '--epochs', '0b11'], /^vit: --epochs must be a whole number .*\(got "0b11"\)$/);
  failsWith(['bench', '--batch-size', '0o20'], /^vit: --batch-size must be a positive whole number \(got "0o20"\)$/);
});

test("a seed of 2^32 or more is refused: it would repeat a smaller seed's run", () => {
  failsWith(
    ['train', '--exp-name', 'x', '--sample', '--seed', String(2 ** 32)],
    /^vit: --seed must be a whole number from 0 to 4294967295 \(got "4294967296"\)$/,
  );
});

test('a misspelt --config key says which key was meant', () => {
  failsWith(['bench', '--config', '{"hiden_size":64}'], /^vit: --config: unknown config key "hiden_size"; did you mean "hidden_size"\?$/);
});

test('an absurd config is refused at once, naming the key', () => {
  const { status, stderr, ms } = vit('bench', '--config', '{"num_hidden_layers":1000000}', '--steps', '1');
  assert.equal(status, 1);
  assert.match(stderr, /^vit: --config: "num_hidden_layers" 1000000 makes the model too big: .*4\.00 GiB a WebAssembly engine can hold\n$/);
  assert.ok(ms < 20_000, `${ms} ms`);
});

test('vit eval on data with more classes than the model names the data file and the model', () => {
  // A 7-class model on CIFAR-10's 10 classes: labels 7, 8 and 9 have no output.
  const model = join(fixturesDir, 'img16-h24-heads3');
  const { status, stderr } = vit('eval', '--model', model, '--sample');
  assert.equal(status, 1, stderr);
  assert.match(
    stderr,
    /^vit: \S*test_batch\.bin: image \d+ has label [789] \((horse|ship|truck)\), but the model \S*img16-h24-heads3\S* has 7 classes \(labels 0–6\)\n$/,
  );
});

test('a model folder whose config.json asks for a million layers is refused at once by vit eval, naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vit-huge-'));
  try {
    // The issue's case: 150 s of allocation, then V8's out-of-memory abort.
    copyFileSync(join(fixturesDir, 'seed', 'weights.safetensors'), join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ num_hidden_layers: 1_000_000 }));
    const { status, stderr, ms } = vit('eval', '--model', dir, '--sample');
    assert.equal(status, 1, stderr);
    assert.match(stderr, /^vit: \S*config\.json: "num_hidden_layers" 1000000 makes the model too big: /);
    assert.ok(ms < 20_000, `${ms} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
