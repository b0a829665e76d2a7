// Outputs that are not regular files (issue 18): a command given a device, a FIFO, a socket or a
// folder (or a link to one) as its output refuses it in one line naming it, before any work, and
// leaves it as it was; the atomic write used to rename a new file over whatever was there (run as
// root, `vit export --onnx /dev/full` replaced the system's /dev/full). The device here is a node
// made in the test's own folder, never a system file.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { writeFileAtomic, writeFileAtomicAsync } from '../src/io/atomic.js';
import { CLI, fixturesDir } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'vit-special-outputs-'));
let socketServer: Server | undefined;
/** Each special path's kind as the message names it, and how to tell it is still that. */
const special: { name: string; kind: string; still: (path: string) => boolean }[] = [];

before(async () => {
  execFileSync('mkfifo', [join(root, 'fifo.onnx'), join(root, 'fifo.safetensors'), join(root, 'fifo.png')]);
  for (const name of ['fifo.onnx', 'fifo.safetensors', 'fifo.png'])
    special.push({ name, kind: 'a named pipe (FIFO)', still: (p) => lstatSync(p).isFIFO() });
  mkdirSync(join(root, 'folder.png'));
  special.push({ name: 'folder.png', kind: 'a folder', still: (p) => lstatSync(p).isDirectory() });
  symlinkSync(join(root, 'fifo.png'), join(root, 'link.png'));
  special.push({ name: 'link.png', kind: 'a named pipe (FIFO)', still: (p) => lstatSync(p).isSymbolicLink() });
  socketServer = createServer();
  await new Promise<void>((done) => socketServer!.listen(join(root, 'socket.png'), done));
  special.push({ name: 'socket.png', kind: 'a socket', still: (p) => lstatSync(p).isSocket() });
  // A character device like /dev/null (1, 3), where this user may make one (root, say).
  try {
    execFileSync('mknod', [join(root, 'null.onnx'), 'c', '1', '3'], { stdio: 'ignore' });
    special.push({ name: 'null.onnx', kind: 'a device', still: (p) => lstatSync(p).isCharacterDevice() });
  } catch {
    console.log('mknod is not allowed here: the device case is covered by the FIFO, socket and folder cases only');
  }
});
after(async () => {
  await new Promise((done) => (socketServer ? socketServer.close(done) : done(undefined)));
  rmSync(root, { recursive: true, force: true });
});

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VIT_THREADS: '1' },
    cwd: root,
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The command for writing to `path`, and the flag naming it. */
function commandFor(path: string): { args: string[]; flag: string } {
  const model = join(fixturesDir, 'seed');
  if (path.endsWith('.onnx')) return { args: ['export', '--model', model, '--onnx', path], flag: '--onnx' };
  if (path.endsWith('.safetensors')) return { args: ['export', '--model', model, '--safetensors', path], flag: '--safetensors' };
  return { args: ['attention', '--model', model, '--sample', '--n', '1', '--out', path], flag: '--out' };
}

test('export --onnx/--safetensors and attention --out refuse a device, FIFO, socket, folder or a link to one, in one line, changing nothing', () => {
  assert.ok(special.length >= 6);
  for (const { name, kind, still } of special) {
    const path = join(root, name);
    const { args, flag } = commandFor(path);
    const result = vit(...args);
    assert.equal(result.status, 1, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', name);
    assert.equal(result.stderr, `vit: ${flag} ${path}: it is ${kind}, not a regular file; nothing was written (give a file path)\n`);
    assert.ok(still(path), `${name} is left as it was`);
  }
  assert.deepEqual(
    readdirSync(root).filter((n) => n.includes('.tmp-')),
    [],
    'no temporary files',
  );
});

test('plot --out refuses a FIFO and a folder', () => {
  const experiment = join(root, 'exp');
  mkdirSync(experiment);
  writeFileSync(
    join(experiment, 'metrics.json'),
    JSON.stringify({ train_losses: [2, 1.5], test_losses: [1.9, 1.6], accuracies: [0.3, 0.4] }),
  );
  for (const [name, kind] of [
    ['fifo.png', 'a named pipe (FIFO)'],
    ['folder.png', 'a folder'],
  ] as const) {
    const path = join(root, name);
    const result = vit('plot', experiment, '--out', path);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stderr, `vit: --out ${path}: it is ${kind}, not a regular file; nothing was written (give a file path)\n`);
  }
  assert.ok(lstatSync(join(root, 'fifo.png')).isFIFO());
  // The same experiment plots into a regular file.
  assert.equal(vit('plot', experiment, '--out', join(root, 'ok.png')).status, 0);
});

test("the library's atomic writes refuse them too", async () => {
  for (const { name, kind, still } of special) {
    const path = join(root, name);
    const message = `Cannot write ${path}: it is ${kind}, not a regular file; nothing was written (give a file path)`;
    assert.throws(
      () => writeFileAtomic(path, 'x'),
      (e: unknown) => e instanceof UserError && e.message === message,
      name,
    );
    await assert.rejects(writeFileAtomicAsync(path, 'x'), (e: unknown) => e instanceof UserError && e.message === message, name);
    assert.ok(still(path), name);
  }
});
