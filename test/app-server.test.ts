// `vit app`'s server (src/app/serve.ts) and the browser harness, first on a tiny folder made here
// (the headers, MIME types, what must not be served, what Chromium makes of it), then `vit app`
// itself on the built page: isolated in Chromium, and still working, with a notice, when not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ISOLATION_HEADERS, serveFolder, type RunningServer } from '../src/app/serve.js';
import { UserError } from '../src/errors.js';
import { benchmark, type BenchResult } from '../src/bench/benchmark.js';
import { APP_DIR, browserHarness, screenshotPath } from './browser-harness.js';
import { CLI } from './helpers.js';

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

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as written (fetch would normalize away the ../). */
function get(path: string, method = 'GET', port = server.port): Promise<RawResponse> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
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
  for (const path of [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/.env',
    '/assets/',
    '/assets',
  ]) {
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
  await assert.rejects(
    serveFolder({ root, port: server.port }),
    (error) =>
      error instanceof UserError && error.message === `port ${server.port} on 127.0.0.1 is already in use: choose another with --port`,
  );
  await assert.rejects(
    serveFolder({ root: join(root, 'assets') }),
    (error) => error instanceof UserError && /holds no built app \(no index\.html\)/.test(error.message),
  );
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
    await opened.page.evaluate(() => {
      setTimeout(() => {
        throw new Error('thrown in the page');
      });
    });
    await thrown;
    assert.equal(opened.consoleErrors.length, 1);
    assert.match(opened.consoleErrors[0]!, /a console error the harness must see/);
    assert.match(opened.pageErrors.join('\n'), /thrown in the page/);
  } finally {
    await opened.close();
  }
});

/** The child's first line on stdout; rejects with its stderr if it exits before writing one. */
function firstLine(child: ChildProcessByStdio<null, Readable, Readable>): Promise<string> {
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done, fail) => {
    createInterface({ input: child.stdout }).once('line', done);
    child.once('exit', (code) => fail(new Error(`vit app exited (${code}) before printing its URL: ${stderr}`)));
  });
}

test('`vit app` serves the built page from the package, isolated, and stops on Ctrl+C', async () => {
  // Run from elsewhere: the page is found beside the installed code, not in the working folder.
  const child = spawn(process.execPath, [CLI, 'app', '--port', '0'], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await firstLine(child);
    const url = /^vit app: serving the page at (http:\/\/127\.0\.0\.1:(\d+)\/) \(Ctrl\+C to stop\)$/.exec(line);
    assert.ok(url, `first line: ${line}`);
    const port = Number(url[2]);
    const page = await get('/', 'GET', port);
    assert.equal(page.status, 200);
    assert.equal(page.body, readFileSync(join(APP_DIR, 'index.html'), 'utf8'));
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) assert.equal(page.headers[name.toLowerCase()], value, name);
    const wasm = readdirSync(join(APP_DIR, 'assets')).find((name) => name.endsWith('.wasm'));
    assert.ok(wasm, 'the build emits the kernels');
    assert.equal((await get(`/assets/${wasm}`, 'GET', port)).headers['content-type'], 'application/wasm');
    // dist/app/../../package.json is the package's own manifest.
    for (const path of ['/../../package.json', '/%2e%2e/%2e%2e/package.json'])
      assert.equal((await get(path, 'GET', port)).status, 404, path);
  } finally {
    child.kill('SIGINT');
  }
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('`vit app` with a bad port says so in one line and exits 1', async () => {
  const child = spawn(process.execPath, [CLI, 'app', '--port', '70000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 1);
  assert.equal(stderr, 'vit: --port must be a whole number from 0 to 65535 (got "70000")\n');
});

test('`vit app --host 0.0.0.0` shows the loopback URL and says the page is not isolated over the network, as Chromium finds', async (t) => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  if (external === undefined) return t.skip('this machine has no address other than loopback');
  const child = spawn(process.execPath, [CLI, 'app', '--port', '0', '--host', '0.0.0.0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const url = /at (http:\/\/127\.0\.0\.1:(\d+)\/) /.exec((await lines.next()).value as string);
    assert.ok(url);
    assert.match(
      (await lines.next()).value as string,
      /plain http, which browsers do not cross-origin isolate: there it runs on one thread/,
    );
    const context = await harness.browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://${external.address}:${url[2]}/`);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    await page.getByTestId('isolation-warning').waitFor();
    await page.goto(url[1]!);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    await context.close();
  } finally {
    child.kill('SIGINT');
  }
});

test('the build has a _headers file for static hosts with the same headers as `vit app`', () => {
  const lines = readFileSync(join(APP_DIR, '_headers'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'));
  assert.deepEqual(lines, ['/*', ...Object.entries(ISOLATION_HEADERS).map(([name, value]) => `  ${name}: ${value}`)]);
});

test('the page served by `vit app` is cross-origin isolated in Chromium, with no console error and no notice', async () => {
  const opened = await harness.open();
  try {
    assert.equal(await opened.page.evaluate(() => crossOriginIsolated), true);
    await opened.page.getByRole('tab', { name: 'Train' }).waitFor();
    assert.equal(await opened.page.getByTestId('isolation-warning').isVisible(), false);
    assert.deepEqual(opened.consoleErrors, []);
    assert.deepEqual(opened.pageErrors, []);
  } finally {
    await opened.close();
  }
});

test('served without the headers the page still works and says why it runs on one thread', async () => {
  const opened = await harness.open('', { isolated: false });
  try {
    const { page } = opened;
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    const warning = page.getByTestId('isolation-warning');
    await warning.waitFor();
    assert.match(await warning.innerText(), /one thread/);
    assert.match(await warning.innerText(), /Cross-Origin-Opener-Policy: same-origin/);
    // Still a working page: the tabs answer.
    await page.getByRole('tab', { name: 'Classify' }).click();
    assert.equal(await page.getByRole('tab', { name: 'Classify' }).getAttribute('aria-selected'), 'true');
    await page.getByRole('tab', { name: 'Train' }).click();
    await page.screenshot({ path: screenshotPath('isolation-fallback'), fullPage: true });
    assert.deepEqual(opened.consoleErrors, []);
    assert.deepEqual(opened.pageErrors, []);
  } finally {
    await opened.close();
  }
});

test("the benchmark page runs `vit bench`'s benchmark in a worker on 2 threads, on the model Node builds, kernel for kernel", async () => {
  const opened = await harness.open('bench.html?threads=2&steps=1&batch=8&profile');
  try {
    const output = opened.page.getByTestId('bench-result');
    await output.waitFor({ timeout: 60_000 });
    const inPage = JSON.parse(await output.innerText()) as BenchResult;
    const inNode = await benchmark({ threads: 1, steps: 1, batch: 8, warmup: 0, profile: true });
    assert.equal(inPage.threads, 2);
    assert.equal(inPage.params, inNode.params);
    assert.deepEqual(inPage.config, inNode.config);
    // The same kernels, called as often: the page trains the way Node does.
    const calls = (r: BenchResult): Record<string, number> =>
      Object.fromEntries((r.profile ?? []).map((k) => [k.kernel, k.calls_per_step]));
    assert.ok(Object.keys(calls(inNode)).length > 5);
    assert.deepEqual(calls(inPage), calls(inNode));
    assert.ok(inPage.train_img_s > 0 && inPage.infer_img_s > 0);
    assert.deepEqual(opened.consoleErrors, []);
    assert.deepEqual(opened.pageErrors, []);
  } finally {
    await opened.close();
  }
});

test('the benchmark page names a bad query parameter in one visible line', async () => {
  const opened = await harness.open('bench.html?threads=2&steps=abc');
  try {
    const error = opened.page.getByTestId('error');
    await error.waitFor();
    assert.equal(await error.innerText(), '?steps= must be a positive whole number (got "abc")');
    assert.deepEqual(opened.pageErrors, []);
  } finally {
    await opened.close();
  }
});
