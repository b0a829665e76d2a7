// `vit train` and the commands around it under faults a user can cause or meet: a moved experiment,
// two runs on one folder, divergence, a full or read-only disk, pipes and folders where files belong,
// Ctrl-C before the first epoch. Each ends in one line naming the culprit, exit 1 (130 for Ctrl-C),
// and leaves no debris; files already there survive.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { train } from '../src/train/experiment-folder.js';
import type { TrainOptions } from '../src/train/experiment-folder.js';
import { CLI, TINY_CONFIG } from './helpers.js';

const FAULTS = fileURLToPath(new URL('./fault-injection.js', import.meta.url));
const SMALL = [
  '--sample',
  '--config',
  JSON.stringify(TINY_CONFIG),
  '--train-samples',
  '100',
  '--test-samples',
  '50',
  '--batch-size',
  '50',
  '--threads',
  '1',
];

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'vit-faults-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function vit(args: string[], fault?: string): SpawnSyncReturns<string> {
  const env = { ...process.env, ...(fault ? { VIT_FAULT: fault } : {}) };
  return spawnSync(process.execPath, [...(fault ? ['--import', FAULTS] : []), CLI, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

/** One line on stderr, starting `vit: `, matching `pattern`; exit 1. */
function assertUserError(result: SpawnSyncReturns<string>, pattern: RegExp): void {
  assert.equal(result.status, 1, `exit ${result.status}; stderr: ${result.stderr}`);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^vit: /);
  assert.match(lines[0]!, pattern);
}

const metricsOf = (dir: string): { train_losses: number[] } =>
  JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { train_losses: number[] };

describe('resuming', () => {
  it('writes into the folder it resumes, not where the checkpoint says the run was', () => {
    const out = join(root, 'runs1');
    assert.equal(vit(['train', '--exp-name', 'a', '--out', out, '--epochs', '1', ...SMALL]).status, 0);
    const moved = join(root, 'moved');
    renameSync(join(out, 'a'), moved);
    rmSync(out, { recursive: true });
    const resumed = vit(['train', '--exp-name', 'a', '--resume', moved, '--epochs', '2']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(existsSync(out), false, "the checkpoint's out_dir was not recreated");
    assert.equal(metricsOf(moved).train_losses.length, 2);
    const training = (JSON.parse(readFileSync(join(moved, 'config.json'), 'utf8')) as { training: Record<string, unknown> }).training;
    assert.deepEqual([training['out_dir'], training['exp_name']], [root, 'moved']);
  });

  it('refuses a file that is not a checkpoint', () => {
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'hello');
    assertUserError(vit(['train', '--resume', file]), /--resume .*notes\.txt: expected an experiment folder/);
  });
});

describe('one run per experiment folder', () => {
  it('fails at once, naming the running process, while another run holds the folder', () => {
    const dir = join(root, 'locked');
    mkdirSync(dir);
    // This test's own process stands for the running `vit train`.
    writeFileSync(join(dir, 'train.lock'), `${process.pid}\n`);
    assertUserError(
      vit(['train', '--exp-name', 'locked', '--out', root, '--epochs', '1', ...SMALL]),
      new RegExp(`locked is in use by another vit train \\(process ${process.pid}\\)`),
    );
    assert.deepEqual(readdirSync(dir), ['train.lock']);
  });

  it('takes over a lock whose process has ended, and releases it when done', () => {
    const dir = join(root, 'stale');
    mkdirSync(dir);
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'train.lock'), `${ended.stdout}\n`);
    const result = vit(['train', '--exp-name', 'stale', '--out', root, '--epochs', '1', ...SMALL]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(existsSync(join(dir, 'train.lock')), false);
    assert.ok(existsSync(join(dir, 'model_final.safetensors')));
  });
});

describe('divergence', () => {
  it('stops with an error and a non-zero exit instead of saving a NaN model', () => {
    const result = vit(['train', '--exp-name', 'nan', '--out', root, '--epochs', '2', '--lr', '1e10', ...SMALL]);
    assertUserError(result, /training diverged/);
    assert.equal(existsSync(join(root, 'nan')), false, 'a run with nothing saved leaves no folder');
  });
});

describe('a model that cannot take the data', () => {
  it('fewer classes than the data set: refused before the experiment folder is made', () => {
    assertUserError(
      vit([
        'train',
        '--exp-name',
        'five',
        '--out',
        root,
        '--epochs',
        '1',
        ...SMALL,
        '--config',
        JSON.stringify({ ...TINY_CONFIG, num_classes: 5 }),
      ]),
      /the model \(--config\) has 5 classes but the data in .* has 10: set num_classes to 10/,
    );
    assert.equal(existsSync(join(root, 'five')), false);
  });
});

describe("bad options of the library's train()", () => {
  it('rejects an unknown option, suggesting the one meant', async () => {
    const options = { expName: 'x', outDir: root, dataDir: sampleDataDir(), epochz: 1 } as TrainOptions;
    await assert.rejects(
      train(options),
      (e: unknown) => e instanceof UserError && /unknown option "epochz"; did you mean "epochs"/.test(e.message),
    );
  });
});

describe('file-system faults', () => {
  it('a full disk while writing the checkpoint: one line, the earlier checkpoint intact, no temp files', () => {
    const dir = join(root, 'full');
    assert.equal(vit(['train', '--exp-name', 'full', '--out', root, '--epochs', '1', ...SMALL]).status, 0);
    const before = readFileSync(join(dir, 'checkpoint.safetensors'));
    const result = vit(['train', '--resume', dir, '--epochs', '2'], 'ENOSPC:checkpoint.safetensors');
    assertUserError(result, /checkpoint\.safetensors: no space left on the device/);
    assert.deepEqual(readFileSync(join(dir, 'checkpoint.safetensors')), before);
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.includes('.tmp-') || n === 'train.lock'),
      [],
    );
  });

  it("a full disk in a new run's first epoch leaves no experiment folder", () => {
    assertUserError(vit(['train', '--exp-name', 'full-new', '--out', root, '--epochs', '1', ...SMALL], 'ENOSPC:full-new'), /no space left/);
    assert.equal(existsSync(join(root, 'full-new')), false);
  });

  it('permission denied: one line naming the path', () => {
    assertUserError(
      vit(['train', '--exp-name', 'denied', '--out', join(root, 'ro'), '--epochs', '1', ...SMALL], 'EACCES:ro'),
      /ro.*permission denied/,
    );
    assert.equal(existsSync(join(root, 'ro')), false);
  });

  it('an export to a full disk leaves no --hf folder', () => {
    const model = join(root, 'hf-able');
    const config = JSON.stringify({ ...TINY_CONFIG, final_layernorm: true });
    assert.equal(vit(['train', '--exp-name', 'hf-able', '--out', root, '--epochs', '1', ...SMALL, '--config', config]).status, 0);
    const out = join(root, 'export-hf');
    assertUserError(vit(['export', '--model', model, '--hf', out], 'ENOSPC:export-hf'), /no space left/);
    assert.equal(existsSync(out), false);
  });

  it('a FIFO given as a file is refused before it is opened (it would block for ever)', () => {
    const fifo = join(root, 'pipe.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assertUserError(vit(['train', '--exp-name', 'fifo', '--out', root, '--config', fifo, '--sample']), /pipe\.json is not a regular file/);
    // The FIFO is the file each command reads: test_batch.bin for eval, data_batch_1.bin for train.
    const data = join(root, 'fifo-data');
    mkdirSync(data);
    assert.equal(spawnSync('mkfifo', [join(data, 'test_batch.bin')]).status, 0);
    assertUserError(vit(['eval', '--model', join(root, 'stale'), '--data', data]), /fifo-data\/test_batch\.bin is not a regular file/);
    assert.equal(spawnSync('mkfifo', [join(data, 'data_batch_1.bin')]).status, 0);
    assertUserError(
      vit(['train', '--exp-name', 'fifo', '--out', root, '--data', data, '--epochs', '1', '--threads', '1']),
      /fifo-data\/data_batch_1\.bin is not a regular file/,
    );
    assert.equal(existsSync(join(root, 'fifo')), false);
  });

  it('a folder where a file is expected', () => {
    const data = join(root, 'folder-data');
    mkdirSync(join(data, 'test_batch.bin'), { recursive: true });
    assertUserError(vit(['eval', '--model', join(root, 'stale'), '--data', data]), /test_batch\.bin is a folder; expected a file/);
    const model = join(root, 'folder-model');
    mkdirSync(join(model, 'model.safetensors'), { recursive: true });
    writeFileSync(join(model, 'config.json'), JSON.stringify(TINY_CONFIG));
    assertUserError(vit(['predict', '--model', model, join(root, 'x.png')]), /model\.safetensors is a folder; expected a file/);
  });

  it('an experiment name too long for the file system', () => {
    assertUserError(vit(['train', '--exp-name', 'x'.repeat(300), '--out', root, '--epochs', '1', ...SMALL]), /name is too long/);
  });
});

describe('Ctrl-C', () => {
  it('before the first epoch ends: says nothing was saved, and leaves no folder', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'train',
        '--exp-name',
        'interrupted',
        '--out',
        root,
        '--sample',
        '--config',
        JSON.stringify(TINY_CONFIG),
        '--batch-size',
        '10',
        '--epochs',
        '1',
        '--threads',
        '1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const deadline = Date.now() + 30_000;
    while (!output.includes('Experiment folder:')) {
      assert.ok(Date.now() < deadline, `training did not start:\n${output}`);
      await new Promise((done) => setTimeout(done, 20));
    }
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.match(output, /nothing was saved; run the same command again/);
    assert.doesNotMatch(output, /--resume/);
    assert.equal(existsSync(join(root, 'interrupted')), false);
  });
});
