// The `vit` program: help, version, error reporting, and `vit plot`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { CLI } from './helpers.js';

const PACKAGE = fileURLToPath(new URL('../../package.json', import.meta.url));
const COMMANDS = ['data', 'train', 'eval', 'predict', 'attention', 'plot', 'export', 'bench'];

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vit-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the entry point is a node script', () => {
  assert.ok(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n'));
});

test('vit --help lists every command with a one-line description', () => {
  const { status, stdout } = vit('--help');
  assert.equal(status, 0);
  const section = stdout.slice(stdout.indexOf('Commands:'));
  for (const command of COMMANDS) {
    assert.match(section, new RegExp(`^  ${command}\\b[^\\n]*?\\s{2,}\\S`, 'm'), `${command} with a description`);
  }
});

/** A command's help with its line wrapping undone. */
const help = (...command: string[]): string => vit(...command, '--help').stdout.replace(/\s+/g, ' ');

test("each command's --help shows its options and their defaults", () => {
  const predict = help('predict');
  assert.match(predict, /--model <path> the model/);
  assert.match(predict, /--top-k <k> how many of the most likely classes to show \(default: 5\)/);
  assert.match(predict, /--json print one JSON array/);
  const attention = help('attention');
  for (const expected of [
    /--n <count> .*?\(default: 30\)/,
    /--layer <layer> .*?\(default: "all"\)/,
    /--sample /,
    /--data <dir> /,
    /--out <file> /,
  ]) {
    assert.match(attention, expected);
  }
  assert.match(help('export'), /--layout <layout> .*?\(choices: "seed", "fused", default: "seed"\)/);
  assert.match(help('plot'), /--x <axis> .*?\(choices: "epoch", "time", default: "epoch"\)/);
  assert.match(
    help('plot'),
    /--out <file> .*?\(default: EXPERIMENT\/metrics\.png for one experiment by epoch, else accuracy-by-epoch\.png or accuracy-by-time\.png here\)/,
  );
  assert.equal(vit('help', 'predict').stdout.replace(/\s+/g, ' '), predict);
});

test('vit --version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version: string };
  const { status, stdout } = vit('--version');
  assert.equal(status, 0);
  assert.equal(stdout.trim(), version);
});

test('a file that does not exist: `vit: …` naming it, no stack trace, exit 1', () => {
  const missing = join(dir, 'no-such-model.safetensors');
  const { status, stdout, stderr } = vit('predict', '--model', missing, join(dir, 'cat.png'));
  assert.equal(status, 1);
  assert.equal(stdout, '');
  assert.ok(stderr.startsWith(`vit: ${missing}: `), stderr);
  assert.doesNotMatch(stderr, /\n\s+at /);
  assert.equal(stderr.trim().split('\n').length, 1);
});

test('usage errors also read `vit: …` and exit 1', () => {
  const unknown = vit('frobnicate');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^vit: unknown command 'frobnicate'/);
  const option = vit('plot', dir, '--colour', 'red');
  assert.equal(option.status, 1);
  assert.match(option.stderr, /^vit: unknown option '--colour'/);
  const missing = vit('predict', 'x.png');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^vit: required option '--model <path>' not specified/);
});

test('vit plot draws metrics.json as EXPERIMENT/metrics.png, or as --out (.png or .svg)', async () => {
  const experiment = join(dir, 'seed-run');
  mkdirSync(experiment);
  writeFileSync(
    join(experiment, 'metrics.json'),
    JSON.stringify({
      train_losses: [2.1, 1.7, 1.5, 1.4],
      test_losses: [2.0, 1.8, 1.6, 1.6],
      accuracies: [0.25, 0.36, 0.44, 0.47],
    }),
  );
  const plain = vit('plot', experiment);
  assert.equal(plain.status, 0, plain.stderr);
  const meta = await sharp(join(experiment, 'metrics.png')).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > 1000 && meta.height! > 300, `${meta.width}×${meta.height}`);

  const svgPath = join(dir, 'curves.svg');
  assert.equal(vit('plot', experiment, '--out', svgPath).status, 0);
  const svg = readFileSync(svgPath, 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /seed-run/, 'titled with the experiment name');
});

test('vit plot refuses a folder without metrics.json and broken metrics, naming the file', () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const none = vit('plot', empty);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^vit: .*empty[/\\]metrics\.json: no such file/);

  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'metrics.json'), JSON.stringify({ train_losses: [1, null], test_losses: [1, 1], accuracies: [0.1, 0.2] }));
  const bad = vit('plot', broken);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^vit: .*metrics\.json: "train_losses"\[1\] is null/);
  const type = vit('plot', broken, '--out', join(dir, 'x.jpg'));
  assert.equal(type.status, 1);
});
