// Messages that sent the user looking in the wrong place (issue 18, a hostile-user trial): each
// names what is really at fault, on one line, and a value larger than the data says what was used.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { quoteValue } from '../src/arguments.js';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { resolveSettings } from '../src/train/settings.js';
import { CLI, TINY_CONFIG, fixturesDir } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vit-messages-'));
after(() => rmSync(root, { recursive: true, force: true }));

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIT_THREADS: '1' },
    cwd: root,
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Exit 1, nothing on stdout, exactly `line` on stderr. */
function failsWith(args: string[], line: string | RegExp): void {
  const { status, stdout, stderr } = vit(...args);
  assert.equal(status, 1, `vit ${args.join(' ')}: ${stderr}`);
  assert.equal(stdout, '');
  assert.equal(stderr.split('\n').length, 2, `one line: ${stderr}`);
  if (typeof line === 'string') assert.equal(stderr, `${line}\n`);
  else assert.match(stderr.trimEnd(), line);
}

const TRAIN = ['train', '--exp-name', 'x', '--sample', '--epochs', '1'];

test('usage errors are one line: the suggestion and where the usage is joined on', () => {
  failsWith(['train', '--bogus'], "vit: unknown option '--bogus' (add --help for usage)");
  failsWith(['data', 'cifar100'], "vit: unknown command 'cifar100'; did you mean cifar10? (add --help for usage)");
  failsWith(['eval'], "vit: required option '--model <path>' not specified (add --help for usage)");
});

test('--out naming a file names that file, at any depth', () => {
  writeFileSync(join(root, 'afile'), 'not a folder');
  failsWith(
    [...TRAIN, '--out', 'afile'],
    `vit: ${join(root, 'afile')} is a file, not a folder; ${join(root, 'afile', 'x')} cannot be made there`,
  );
  failsWith(
    [...TRAIN, '--out', 'afile/deeper'],
    `vit: ${join(root, 'afile')} is a file, not a folder; ${join(root, 'afile', 'deeper', 'x')} cannot be made there`,
  );
});

test('a read-only --out says so (a read-only mount where this user may mount one, else a folder without write permission)', (t) => {
  const readOnly = join(root, 'read-only');
  mkdirSync(readOnly);
  let expected: string;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly], { stdio: 'ignore' });
    t.after(() => execFileSync('umount', [readOnly]));
    expected = 'the file system is read-only';
  } catch {
    if (process.getuid?.() === 0) {
      t.skip('root without permission to mount: no folder is read-only to this user');
      return;
    }
    execFileSync('chmod', ['555', readOnly]);
    expected = 'permission denied';
  }
  failsWith([...TRAIN, '--out', readOnly], `vit: ${join(readOnly, 'x')}: ${expected}`);
  failsWith([...TRAIN, '--out', join(readOnly, 'sub')], `vit: ${join(readOnly, 'sub')}: ${expected}`);
});

test('a batches.meta.txt with too few names is named beside the data file', () => {
  const data = join(root, 'short-meta');
  cpSync(sampleDataDir(), data, { recursive: true });
  writeFileSync(join(data, 'batches.meta.txt'), 'airplane\nautomobile\n');
  failsWith(
    ['eval', '--model', join(fixturesDir, 'seed'), '--data', data],
    new RegExp(
      `^vit: ${join(data, 'batches.meta.txt')} lists 2 class names \\(labels 0–1\\), but record \\d+ of ${join(data, 'test_batch.bin')} has label [2-9]: the list is short, or the data file is damaged$`,
    ),
  );
});

test('vit plot given a model file says it is a binary file, without printing its bytes', () => {
  const model = join(fixturesDir, 'seed', 'weights.safetensors');
  failsWith(
    ['plot', model],
    `vit: ${model} is a binary file, not a metrics.json; vit plot takes a training experiment's folder, its metrics.json, or a PyTorch log (.jsonl)`,
  );
});

test('--config given JSON that is not an object says so (an array was looked for as a file)', () => {
  failsWith(['bench', '--config', '[1,2]'], 'vit: --config must be a JSON object of config keys (got an array)');
  failsWith(['bench', '--config', ' [1,2'], /^vit: --config is not valid JSON/);
});

test('an epoch count no run could finish is refused (1e99 trained on for ever)', () => {
  failsWith(
    ['train', '--exp-name', 'x', '--sample', '--epochs', '1e99'],
    'vit: --epochs must be a whole number from 1 to 100000 (got "1e99")',
  );
});

test('--keep-tokens states one range for every value it refuses', () => {
  for (const value of ['-0.1', '0', '1.5'])
    failsWith([...TRAIN, '--keep-tokens', value], `vit: --keep-tokens must be a number in (0, 1] (got "${value}")`);
});

test('the library quotes NaN and Infinity as themselves, not as null', () => {
  for (const [value, shown] of [
    [Number.NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ] as const) {
    assert.throws(
      () => resolveSettings({ expName: 'x', dataDir: sampleDataDir(), threads: 1, lr: value }, 'options'),
      (e: unknown) => e instanceof UserError && e.message.endsWith(`(got ${shown})`),
      String(value),
    );
  }
  assert.equal(quoteValue([1, Number.NaN, { a: Infinity }]), '[1,NaN,{"a":Infinity}]');
  assert.equal(quoteValue('NaN'), '"NaN"');
  assert.equal(quoteValue(undefined), 'undefined');
});

test('sizes larger than the data say what was used', () => {
  const { status, stdout, stderr } = vit(
    'train',
    '--exp-name',
    'clamped',
    '--sample',
    '--epochs',
    '1',
    '--train-samples',
    '300',
    '--test-samples',
    '999999',
    '--batch-size',
    '1e9',
    '--config',
    JSON.stringify(TINY_CONFIG),
  );
  assert.equal(status, 0, stderr);
  const lines = stdout.split('\n');
  assert.ok(lines.includes('--test-samples 999999 is more than the 500 test images: all 500 are used'), stdout);
  assert.ok(lines.includes('--batch-size 1000000000 is more than the 300 training images: each batch holds all 300'), stdout);
  assert.ok(
    lines.some((l) => l.startsWith('Training on 300 images (1 batch of 300), evaluating on 500 test images')),
    stdout,
  );
  const all = vit(
    'train',
    '--exp-name',
    'all-train',
    '--sample',
    '--epochs',
    '1',
    '--train-samples',
    '5000',
    '--test-samples',
    '20',
    '--config',
    JSON.stringify(TINY_CONFIG),
  );
  assert.equal(all.status, 0, all.stderr);
  assert.ok(all.stdout.split('\n').includes('--train-samples 5000 is more than the 2,000 training images: all 2,000 are used'), all.stdout);
});

test("vit plot DIR titles the figure with the experiment's name from its config.json and its epochs, not the folder's name", () => {
  const dir = join(root, 'plot');
  mkdirSync(dir);
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ train_losses: [2, 1.5], test_losses: [1.9, 1.6], accuracies: [0.3, 0.4] }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ hidden_size: 48, training: { exp_name: 'demo' } }));
  const out = join(root, 'plot.svg');
  const { status, stderr } = vit('plot', dir, '--out', out);
  assert.equal(status, 0, stderr);
  const svg = readFileSync(out, 'utf8');
  assert.ok(svg.includes('>demo: 2 epochs</text>'), 'the title');
  assert.ok(!svg.includes('>plot</text>'));
});
