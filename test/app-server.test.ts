// `vit app`'s server (src/app/serve.ts) and the browser harness, on a tiny folder made here:
// the headers, MIME types, what must not be served, and what Chromium makes of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveFolder, type RunningServer } from '../src/app/serve.js';
import { UserError } from '../src/errors.js';
import { browserHarness } from './browser-harness.js';

// The smallest valid wasm module: magic number and version.
const EMPTY_WASM = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>tiny</title></head><body>
<script>
  // What the real page decides from: isolation, shared memory, wasm served with its MIME type.
  window.report = WebAssembly.compileStreaming(fetch('empty.wasm')).then(() => ({
    isolated: crossOriginIsolated, sharedMemory: typeof SharedArrayBuffer === 'function',
  }));
  if (location.hash === '#fail') console.error('a console error the harness must see');
</script></body></html>`;

let parent: string;
let root: string;
let server: RunningServer;
before(async () => {
  parent = mkdtempSync(join(tmpdir(), 'vit-serve-'));
  root = join(parent, 'app');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), PAGE);
  writeFileSync(join(root, 'empty.wasm'), EMPTY_WASM);
  writeFileSync(join(root, 'assets', 'main.js'), 'export {};\n');
  writeFileSync(join(root, '.env'), 'SECRET=dotfile\n');
  writeFileSync(join(parent, 'secret.txt'), 'outside the root\n');
  server = await serveFolder({ root });
});
after(async () => {
  await server?.close();
  if (parent !== undefined) rmSync(parent, { recursive: true, force: true });
});

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A request with the path sent exactly as written (fetch would normalize away the ../). */
function get(path: string, method = 'GET'): Promise<RawResponse> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('every response carries the cross-origin isolation headers', async () => {
  for (const path of ['/', '/index.html', '/empty.wasm', '/assets/main.js', '/missing.js']) {
    const { headers } = await get(path);
    assert.equal(headers['cross-origin-opener-policy'], 'same-origin', path);
    assert.equal(headers['cross-origin-embedder-policy'], 'require-corp', path);
    assert.equal(headers['cross-origin-resource-policy'], 'same-origin', path);
  }
});

test('files are served with their MIME types, wasm as application/wasm', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.equal(page.body, PAGE);
  assert.equal((await get('/empty.wasm')).headers['content-type'], 'application/wasm');
  assert.match(String((await get('/assets/main.js')).headers['content-type']), /^(text|application)\/javascript/);
});

test('nothing outside the root, no dotfile and no folder listing is served', async () => {
  for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/.env', '/assets/', '/assets']) {
    const response = await get(path);
    assert.equal(response.status, 404, `${path} answered ${response.status}: ${response.body}`);
    assert.doesNotMatch(response.body, /outside the root|SECRET|main\.js/, path);
  }
  assert.equal((await get('/', 'POST')).status, 405);
});

test('without isolation the headers are absent and the files the same', async () => {
  const plain = await serveFolder({ root, isolated: false });
  try {
    const response = await fetch(new URL('empty.wasm', plain.url));
    assert.equal(response.headers.get('cross-origin-opener-policy'), null);
    assert.equal(response.headers.get('cross-origin-embedder-policy'), null);
    assert.equal(response.headers.get('content-type'), 'application/wasm');
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), EMPTY_WASM);
  } finally {
    await plain.close();
  }
});

test('a port in use and a folder without a built app are one-line user errors', async () => {
  await assert.rejects(serveFolder({ root, port: server.port }),
    (error) => error instanceof UserError && error.message === `port ${server.port} on 127.0.0.1 is already in use: choose another with --port`);
  await assert.rejects(serveFolder({ root: join(root, 'assets') }),
    (error) => error instanceof UserError && /holds no built app \(no index\.html\)/.test(error.message));
});

const harness = browserHarness();

test('in Chromium the served page is cross-origin isolated, and not when served plain', async () => {
  for (const isolated of [true, false]) {
    const opened = await harness.open('', { root, isolated });
    try {
      const report = await opened.page.evaluate(() => (window as unknown as { report: Promise<unknown> }).report);
      assert.deepEqual(report, { isolated, sharedMemory: isolated });
      assert.deepEqual(opened.consoleErrors, []);
      assert.deepEqual(opened.pageErrors, []);
    } finally {
      await opened.close();
    }
  }
});

test('the harness collects console errors and uncaught exceptions', async () => {
  const opened = await harness.open('#fail', { root });
  try {
    const thrown = opened.page.waitForEvent('pageerror');
    await opened.page.evaluate(() => { setTimeout(() => { throw new Error('thrown in the page'); }); });
    await thrown;
    assert.equal(opened.consoleErrors.length, 1);
    assert.match(opened.consoleErrors[0]!, /a console error the harness must see/);
    assert.match(opened.pageErrors.join('\n'), /thrown in the page/);
  } finally {
    await opened.close();
  }
});
