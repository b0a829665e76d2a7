// The engine where the runtime has no SharedArrayBuffer (a page that is not cross-origin isolated;
// WebKit, isolated or not): `vit train` run with the global removed loads the kernels built for a
// plain memory, trains on one thread through the memory's growth (which detaches a plain memory's
// views) to the metrics of the same run on a shared memory, and refuses more threads in one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, TINY_CONFIG } from './helpers.js';

/** Node flags that remove SharedArrayBuffer before any module runs, as a browser without it has none. */
const WITHOUT_SHARED_MEMORY = ['--import', 'data:text/javascript,delete globalThis.SharedArrayBuffer'];

let out: string;
before(() => {
  out = mkdtempSync(join(tmpdir(), 'vit-unshared-'));
});
after(() => rmSync(out, { recursive: true, force: true }));

function vitTrain(nodeFlags: string[], name: string, extra: string[] = []): ReturnType<typeof spawnSync> {
  return spawnSync(
    process.execPath,
    [
      ...nodeFlags,
      CLI,
      'train',
      '--sample',
      '--exp-name',
      name,
      '--out',
      out,
      '--epochs',
      '2',
      '--train-samples',
      '200',
      '--test-samples',
      '100',
      '--batch-size',
      '50',
      '--seed',
      '4',
      '--config',
      JSON.stringify(TINY_CONFIG),
      ...extra,
    ],
    { encoding: 'utf8' },
  );
}

const metrics = (name: string): unknown => {
  const { train_losses, test_losses, accuracies } = JSON.parse(readFileSync(join(out, name, 'metrics.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return { train_losses, test_losses, accuracies };
};

test('without SharedArrayBuffer a run trains on one thread on a plain memory to the metrics of the same run on a shared one', () => {
  const shared = vitTrain([], 'shared', ['--threads', '1']);
  assert.equal(shared.status, 0, String(shared.stderr));
  // No --threads: the default is one thread where there is no shared memory.
  const plain = vitTrain(WITHOUT_SHARED_MEMORY, 'plain');
  assert.equal(plain.status, 0, String(plain.stderr));
  const config = JSON.parse(readFileSync(join(out, 'plain', 'config.json'), 'utf8')) as { training: { threads: number } };
  assert.equal(config.training.threads, 1);
  assert.deepEqual(metrics('plain'), metrics('shared'));
});

test('without SharedArrayBuffer more than one thread is refused in one line', () => {
  const run = vitTrain(WITHOUT_SHARED_MEMORY, 'two', ['--threads', '2']);
  assert.equal(run.status, 1);
  assert.equal(
    String(run.stderr).trim(),
    'vit: 2 threads need SharedArrayBuffer, which this runtime lacks (a page has it only when cross-origin isolated, and WebKit not at all): use 1 thread',
  );
});
