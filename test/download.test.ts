import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { create } from 'tar';
import { UserError } from '../src/errors.js';
import { RECORD_BYTES } from '../src/data/cifar10.js';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { MAX_MEMBER_BYTES, downloadCifar10, extractMembers, holdsCifar10 } from '../src/data/download.js';

// Only a local server on 127.0.0.1 is ever contacted.
const root = mkdtempSync(join(tmpdir(), 'vit-download-'));
const archives = new Map<string, Buffer>();
let requests = 0;
let server: Server;
let base = '';

const DATA_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];

/** A few records per file, label i % 10, pixels derived from the file and record number. */
function records(fileNumber: number, count: number): Buffer {
  const bytes = Buffer.alloc(count * RECORD_BYTES);
  for (let r = 0; r < count; r++) {
    bytes[r * RECORD_BYTES] = (r + fileNumber) % 10;
    for (let i = 1; i < RECORD_BYTES; i++) bytes[r * RECORD_BYTES + i] = (fileNumber * 31 + r * 7 + i) & 255;
  }
  return bytes;
}

/** Packs the folder `source/top` (or the given entries) into a .tar.gz and serves it at /name. */
async function serveArchive(
  name: string,
  cwd: string,
  entries: string[],
  preservePaths = false,
): Promise<{ url: string; bytes: number; sha256: string }> {
  const file = join(root, `${name}.tar.gz`);
  await create({ gzip: true, file, cwd, portable: true, preservePaths }, entries);
  const data = readFileSync(file);
  archives.set(`/${name}`, data);
  return { url: `${base}/${name}`, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

function makeSourceTree(name: string): string {
  const source = join(root, `src-${name}`);
  const folder = join(source, 'cifar-10-batches-bin');
  mkdirSync(folder, { recursive: true });
  DATA_FILES.forEach((file, i) => writeFileSync(join(folder, file), records(i + 1, 3)));
  writeFileSync(join(folder, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  writeFileSync(join(folder, 'readme.html'), '<p>test</p>');
  writeFileSync(join(folder, 'extra.txt'), 'not a member; skipped');
  return source;
}

before(async () => {
  server = createServer((request, response) => {
    requests++;
    const path = request.url ?? '';
    if (path.startsWith('/redirect/')) {
      response.writeHead(302, { location: path.slice('/redirect'.length) });
      response.end();
      return;
    }
    if (path === '/stall') {
      response.writeHead(200, { 'content-length': '1000' });
      response.write(Buffer.alloc(10));
      return; // never finishes
    }
    const data = archives.get(path);
    if (!data) {
      response.writeHead(404);
      response.end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/gzip', 'content-length': String(data.length) });
    response.end(data);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  rmSync(root, { recursive: true, force: true });
});

test('downloads, verifies and extracts an archive, and skips a second download', async () => {
  const source = makeSourceTree('good');
  const archive = await serveArchive('good', source, ['cifar-10-batches-bin']);
  const target = join(root, 'cache-good', 'cifar-10-batches-bin');
  const progress: Array<[number, number]> = [];
  const dir = await downloadCifar10({
    dir: target,
    url: `${base}/redirect/good`,
    expected: { bytes: archive.bytes, sha256: archive.sha256 },
    onProgress: (received, total) => progress.push([received, total]),
  });
  assert.equal(dir, target);
  assert.ok(holdsCifar10(dir));
  assert.deepEqual(readdirSync(dir).sort(), [...DATA_FILES, 'batches.meta.txt', 'readme.html'].sort());
  assert.ok(progress.length > 0);
  assert.deepEqual(progress.at(-1), [archive.bytes, archive.bytes]);
  // no temporaries left beside the folder
  assert.deepEqual(readdirSync(join(root, 'cache-good')), ['cifar-10-batches-bin']);

  const train = readCifar10(dir, 'train');
  assert.equal(train.count, 15);
  assert.equal(train.classNames.length, 10);
  assert.equal(train.labels[3], 2); // file 2, record 0
  const test = readCifar10(dir, 'test');
  assert.equal(test.count, 3);

  const before = requests;
  assert.equal(await downloadCifar10({ dir: target, url: `${base}/good`, expected: archive }), target);
  assert.equal(requests, before, 'a complete folder is not downloaded again');
});

test('a damaged earlier copy is replaced', async () => {
  const source = makeSourceTree('replace');
  const archive = await serveArchive('replace', source, ['cifar-10-batches-bin']);
  const target = join(root, 'cache-replace', 'cifar-10-batches-bin');
  mkdirSync(target, { recursive: true });
  writeFileSync(join(target, 'data_batch_1.bin'), 'truncated');
  await downloadCifar10({ dir: target, url: archive.url, expected: archive });
  assert.ok(holdsCifar10(target));
  assert.deepEqual(readdirSync(join(root, 'cache-replace')), ['cifar-10-batches-bin']);

  // a folder with other things in it is left alone
  const foreign = join(root, 'cache-foreign', 'cifar-10-batches-bin');
  mkdirSync(foreign, { recursive: true });
  writeFileSync(join(foreign, 'thesis.tex'), 'mine');
  await assert.rejects(
    downloadCifar10({ dir: foreign, url: archive.url, expected: archive }),
    (error: unknown) => error instanceof UserError && error.message.includes(foreign) && error.message.includes('thesis.tex'),
  );
  assert.equal(readFileSync(join(foreign, 'thesis.tex'), 'utf8'), 'mine');
});

test('a checksum or size mismatch is refused and leaves nothing behind', async () => {
  const source = makeSourceTree('bad');
  const archive = await serveArchive('bad', source, ['cifar-10-batches-bin']);
  const parent = join(root, 'cache-bad');
  const target = join(parent, 'cifar-10-batches-bin');
  const wrong = 'ab'.repeat(32);
  await assert.rejects(
    downloadCifar10({ dir: target, url: archive.url, expected: { bytes: archive.bytes, sha256: wrong } }),
    (error: unknown) =>
      error instanceof UserError &&
      error.message.includes(archive.url) &&
      error.message.includes(archive.sha256) &&
      error.message.includes(wrong),
  );
  assert.equal(existsSync(parent), false, 'the folder the download created is removed');
  await assert.rejects(
    downloadCifar10({ dir: target, url: archive.url, expected: { bytes: archive.bytes + 5, sha256: archive.sha256 } }),
    (error: unknown) => error instanceof UserError && error.message.includes(`expected ${archive.bytes + 5}`),
  );
  await assert.rejects(
    downloadCifar10({ dir: target, url: archive.url, expected: { bytes: archive.bytes - 5, sha256: archive.sha256 } }),
    (error: unknown) => error instanceof UserError && error.message.includes('more than the expected'),
  );
  assert.equal(existsSync(parent), false, 'the folder the download created is removed');
  await assert.rejects(downloadCifar10({ dir: target, url: `${base}/missing`, expected: archive }), /HTTP 404/);
});

test('hostile archives are refused and write nothing outside the target', async () => {
  // an entry climbing out with ../
  const source = makeSourceTree('dotdot');
  const inner = join(source, 'cifar-10-batches-bin');
  writeFileSync(join(source, 'evil.txt'), 'escaped');
  const climbing = await serveArchive('dotdot', inner, ['data_batch_1.bin', '../evil.txt'], true);
  const parent = join(root, 'cache-hostile', 'deep');
  const target = join(parent, 'cifar-10-batches-bin');
  await assert.rejects(
    downloadCifar10({ dir: target, url: climbing.url, expected: climbing }),
    (error: unknown) => error instanceof UserError && error.message.includes('../evil.txt') && error.message.includes('outside'),
  );
  assert.ok(!existsSync(join(root, 'cache-hostile', 'evil.txt')));
  assert.ok(!existsSync(join(parent, 'evil.txt')));
  assert.ok(!existsSync(target));
  assert.equal(existsSync(parent), false, 'the folder the download created is removed');

  // an absolute path
  const victim = join(root, 'absolute-victim.txt');
  writeFileSync(victim, 'escaped');
  const absolute = await serveArchive('absolute', source, ['cifar-10-batches-bin', victim], true);
  rmSync(victim);
  await assert.rejects(
    downloadCifar10({ dir: target, url: absolute.url, expected: absolute }),
    (error: unknown) => error instanceof UserError && error.message.includes('outside'),
  );
  assert.ok(!existsSync(victim));
  assert.equal(existsSync(parent), false, 'the folder the download created is removed');

  // a member that is a symbolic link pointing outside
  const linked = makeSourceTree('link');
  const outside = join(root, 'link-target.bin');
  rmSync(join(linked, 'cifar-10-batches-bin', 'test_batch.bin'));
  symlinkSync(outside, join(linked, 'cifar-10-batches-bin', 'test_batch.bin'));
  const link = await serveArchive('link', linked, ['cifar-10-batches-bin']);
  await assert.rejects(
    downloadCifar10({ dir: target, url: link.url, expected: link }),
    (error: unknown) => error instanceof UserError && error.message.includes('test_batch.bin (a link)'),
  );
  assert.ok(!existsSync(outside));
  assert.ok(!existsSync(target));
});

test('connection refused and a stalled server give the no-network message', async () => {
  const closed = createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((done) => closed.close(() => done()));
  const target = join(root, 'cache-offline', 'cifar-10-batches-bin');
  const noNetwork =
    (code: string) =>
    (error: unknown): boolean =>
      error instanceof UserError &&
      error.message.includes(code) &&
      error.message.includes('no network access') &&
      error.message.includes('--data') &&
      error.message.includes('--sample');
  await assert.rejects(
    downloadCifar10({ dir: target, url: `http://127.0.0.1:${port}/archive.tar.gz`, timeoutMs: 5000 }),
    noNetwork('ECONNREFUSED'),
  );
  await assert.rejects(downloadCifar10({ dir: target, url: `${base}/stall`, timeoutMs: 300 }), noNetwork('no data for 0.3 s'));
  // Nothing is left behind, not even the cache folder the download created.
  assert.equal(existsSync(join(root, 'cache-offline')), false);
});

test('a member bigger than a CIFAR-10 batch is refused before it is written', async () => {
  const { createTar } = await import('nanotar');
  const { gzipSync } = await import('node:zlib');
  const dir = mkdtempSync(join(root, 'big-'));
  const archive = join(dir, 'big.tar.gz');
  // A random byte every 64 keeps the ratio under node-tar's own decompression-ratio limit (1000).
  const member = (bytes: number): Uint8Array => {
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 64) data[i] = Math.floor(Math.random() * 256);
    return data;
  };
  writeFileSync(
    archive,
    gzipSync(createTar([{ name: 'cifar-10-batches-bin/test_batch.bin', data: member(MAX_MEMBER_BYTES + RECORD_BYTES) }])),
  );
  const staging = join(dir, 'staging');
  await assert.rejects(
    extractMembers(archive, staging, 'big.tar.gz'),
    (e: unknown) =>
      e instanceof UserError &&
      e.message ===
        `The archive from big.tar.gz holds unsafe entries, so nothing from it was kept: cifar-10-batches-bin/test_batch.bin ` +
          `(${MAX_MEMBER_BYTES + RECORD_BYTES} bytes, more than a CIFAR-10 batch's ${MAX_MEMBER_BYTES})`,
  );
  assert.deepEqual(readdirSync(staging), []);
  // A member of exactly one batch is fine.
  writeFileSync(archive, gzipSync(createTar([{ name: 'cifar-10-batches-bin/test_batch.bin', data: member(MAX_MEMBER_BYTES) }])));
  const ok = join(dir, 'ok');
  await extractMembers(archive, ok, 'ok.tar.gz');
  assert.deepEqual(readdirSync(join(ok, 'cifar-10-batches-bin')), ['test_batch.bin']);
});
