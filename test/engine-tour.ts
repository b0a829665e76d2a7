// The page's tour in one browser engine (Firefox, WebKitGTK), against Node's answers: loaded from
// `vit app`'s server cross-origin isolated with no console error, saying what it runs on; a run on
// the sample (2 threads where the engine gives SharedArrayBuffer, else 1) whose charts fill, reloaded
// after its first epoch and continued, ending with the metrics of an uninterrupted run of `vit
// train`'s loop in Node on the same kernels; Classify of two PNGs equal to `vit predict` on the
// model the page trained; a file that is no image one line naming it. Run when the engine is
// installed; with CI=true a missing engine fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { readCifar10 } from '../src/data/cifar10-files.js';
import { sampleDataDir } from '../src/data/location.js';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { serveFolder, type RunningServer } from '../src/app/serve.js';
import { train } from '../src/train/experiment-folder.js';
import { APP_DIR } from './browser-harness.js';
import { type EngineBrowser, type EngineName, type EnginePage, launchEngine, missingEngine, withErrorCapture } from './engine-drivers.js';
import { CLI } from './helpers.js';

/** Long enough for a machine several times slower than a laptop; they only guard against a hang. */
const LOAD_MS = 60_000;
const RUN_MS = 240_000;

interface MetricsFile {
  train_losses: number[];
  test_losses: (number | null)[];
  accuracies: (number | null)[];
  evaluated_on: string;
}

/** Registers the tour's tests for `engine` on the calling test file. */
export function engineTour(engine: EngineName): void {
  const missing = missingEngine(engine);
  if (missing !== null) {
    if (process.env.CI === 'true') {
      test(`${engine} is installed (CI tests every engine)`, () => assert.fail(`${engine} cannot run: ${missing}`));
    } else {
      test(`the page in ${engine}`, { skip: `${engine} not tested: ${missing}` }, () => undefined);
      console.log(`${engine} not tested: ${missing}`);
    }
    return;
  }

  let browser: EngineBrowser;
  let server: RunningServer;
  let served: { root: string; remove(): void };
  let work: string;
  let url: string;
  let ran = 0;
  /** What the engine offers, read in the page: the threads a run gets, and the kernels. */
  let facts: { threads: number; relaxedSimd: boolean };
  /** The model the page trained (test 2), for Classify (test 3). */
  let modelPath: string | undefined;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), `vit-app-${engine.toLowerCase()}-`));
    served = withErrorCapture(APP_DIR);
    server = await serveFolder({ root: served.root });
    url = server.url;
    browser = await launchEngine(engine);
  });
  after(async () => {
    console.log(
      `${engine} ${browser?.version ?? '(not started)'}: ${ran} test${ran === 1 ? '' : 's'} of the engine tour ran in the browser`,
    );
    await browser?.close();
    await server?.close();
    served?.remove();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  const tourTest = (name: string, timeout: number, body: (page: EnginePage) => Promise<void>): void => {
    test(`${engine}: ${name}`, { timeout }, async () => {
      await body(browser.page);
      assert.deepEqual(await browser.page.errors(), [], 'no console error or uncaught exception');
      ran++;
    });
  };

  tourTest(
    'the page loads cross-origin isolated, loads the sample and says what it runs on, falling back where the engine lacks something',
    LOAD_MS * 2,
    async (page) => {
      await page.goto(url);
      await waitFor(
        page,
        'the sample loaded',
        LOAD_MS,
        () => document.querySelector('[data-testid="data-status"]')?.textContent?.includes('2,000 training and 500 test images') === true,
      );
      const seen = await page.evaluate(() => ({
        isolated: crossOriginIsolated,
        sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
        // f32x4.relaxed_madd in the smallest module: whether the engine has relaxed SIMD.
        relaxedSimd: WebAssembly.validate(
          new Uint8Array([
            0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            253, 133, 2, 11,
          ]),
        ),
        cores: navigator.hardwareConcurrency,
        line: document.querySelector('[data-testid="engine"]')?.textContent,
        threadsField: (({ value, disabled }: HTMLInputElement) => ({ value, disabled }))(
          document.querySelector<HTMLInputElement>('[data-testid="setting-threads"]')!,
        ),
      }));
      console.log(
        `${engine} ${browser.version}: cross-origin isolated ${seen.isolated}, SharedArrayBuffer ${seen.sharedArrayBuffer}, relaxed SIMD ${seen.relaxedSimd}; "${seen.line}"`,
      );
      assert.equal(seen.isolated, true, 'served by `vit app` the page is cross-origin isolated');
      const lacks = [...(seen.relaxedSimd ? [] : ['relaxed SIMD']), ...(seen.sharedArrayBuffer ? [] : ['SharedArrayBuffer'])];
      const threads = seen.sharedArrayBuffer ? seen.cores : 1;
      const expected =
        `Runs on WebAssembly SIMD${seen.relaxedSimd ? ' with relaxed SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}` +
        `${lacks.length > 0 ? ` (this browser has no ${lacks.join(' and no ')})` : ''}.`;
      assert.equal(seen.line, expected);
      // Without shared memory one thread is all a run can have, and the form says so.
      assert.deepEqual(
        seen.threadsField,
        seen.sharedArrayBuffer ? { value: String(seen.cores), disabled: false } : { value: '1', disabled: true },
      );
      facts = { threads: seen.sharedArrayBuffer ? 2 : 1, relaxedSimd: seen.relaxedSimd };
    },
  );

  tourTest(
    'an epoch on the sample fills the charts; reloaded then and continued, the run ends with the metrics of an uninterrupted `vit train`',
    RUN_MS * 2,
    async (page) => {
      assert.ok(facts, 'the page was loaded (the first test)');
      const run = { epochs: 3, batchSize: 50, trainSamples: 300, testSamples: 100, seed: 3, threads: facts.threads };
      await fill(page, { recipe: 'seed', timeBudget: '', ...run });
      await page.click('start');
      await waitFor(
        page,
        'the first epoch',
        RUN_MS,
        () => Number(document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')) >= 1,
      );
      // Held between steps, so that no engine is fast enough to finish before the reload.
      await page.click('pause');
      const charts = await page.evaluate(() =>
        ['chart-running-loss', 'chart-loss', 'chart-accuracy'].map((id) =>
          Number(document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-points')),
        ),
      );
      assert.ok(
        charts.every((points) => points >= 1),
        `the running-loss, loss and accuracy charts have points (${charts.join(', ')})`,
      );

      await page.reload();
      await waitFor(page, 'Continue run offered after the reload', LOAD_MS, () => {
        const button = document.querySelector<HTMLElement>('[data-testid="continue-run"]');
        return (
          button !== null &&
          !button.hidden &&
          document.querySelector('[data-testid="data-status"]')?.textContent?.includes('2,000 training') === true
        );
      });
      assert.match(await text(page, 'train-status'), /stopped after epoch [12] of 3/);
      await page.click('continue-run');
      await waitFor(page, 'the continued run to finish', RUN_MS, () =>
        /^Finished/.test(document.querySelector('[data-testid="train-status"]')?.textContent ?? ''),
      );
      assert.equal(await page.evaluate(() => document.querySelector('[data-testid="chart-accuracy"]')?.getAttribute('data-points')), '3');
      const resumed = JSON.parse(Buffer.from(await downloaded(page, 'download-metrics'), 'base64').toString('utf8')) as MetricsFile;
      modelPath = join(work, 'model_final.safetensors');
      writeFileSync(modelPath, Buffer.from(await downloaded(page, 'download-model'), 'base64'));

      // `vit train`'s loop in Node, uninterrupted, on the kernels the engine ran (relaxed SIMD or not) and its thread count.
      const nodeEngine = await WasmEngine.create({ threads: facts.threads, relaxedSimd: facts.relaxedSimd });
      try {
        await train({ ...run, recipe: 'seed', expName: 'uninterrupted', outDir: work, dataDir: sampleDataDir(), engine: nodeEngine });
      } finally {
        nodeEngine.close();
      }
      const node = JSON.parse(readFileSync(join(work, 'uninterrupted', 'metrics.json'), 'utf8')) as MetricsFile;
      assert.deepEqual(
        { train: resumed.train_losses, test: resumed.test_losses, accuracy: resumed.accuracies, on: resumed.evaluated_on },
        { train: node.train_losses, test: node.test_losses, accuracy: node.accuracies, on: node.evaluated_on },
      );
    },
  );

  tourTest(
    'Classify of two PNGs gives what `vit predict` gives on the model the page trained; a file that is no image is one line naming it',
    LOAD_MS * 2,
    async (page) => {
      assert.ok(modelPath, 'the page trained a model (the test before)');
      const pngs = await samplePngs(work);
      const predicted = spawnSync(process.execPath, [CLI, 'predict', '--model', modelPath, '--json', ...pngs], { encoding: 'utf8' });
      assert.equal(predicted.status, 0, predicted.stderr);
      const node = JSON.parse(predicted.stdout) as { predictions: { label: string; score: number }[] }[];

      await page.click('tab-classify');
      for (const [i, path] of pngs.entries()) {
        await pick(page, 'classify-file-input', path);
        const name = basename(path);
        await waitFor(
          page,
          `${name} classified`,
          LOAD_MS,
          (file) => {
            const status = document.querySelector('[data-testid="classify-status"]')?.textContent ?? '';
            return status.includes(file) && !status.includes('Classifying');
          },
          name,
        );
        const inPage = await page.evaluate(() =>
          Array.from(document.querySelectorAll<HTMLElement>('[data-testid="prediction"]')).map((row) => ({
            label: row.dataset.label!,
            score: Number(row.dataset.score),
          })),
        );
        const expected = node[i]!.predictions;
        assert.deepEqual(
          inPage.map((p) => p.label),
          expected.map((p) => p.label),
          `${name}: the top 5`,
        );
        inPage.forEach((p, k) =>
          assert.ok(Math.abs(p.score - expected[k]!.score) <= 1e-5, `${name}: ${p.label} ${p.score} against Node's ${expected[k]!.score}`),
        );
      }

      const notes = join(work, 'notes.txt');
      writeFileSync(notes, 'not an image\n');
      await pick(page, 'classify-file-input', notes);
      // The error line is what waitFor fails on, so this one is waited for here.
      const deadline = Date.now() + LOAD_MS;
      let error = '';
      while (!error.startsWith('notes.txt: ')) {
        assert.ok(Date.now() < deadline, `no error line for notes.txt within ${LOAD_MS / 1000} s (it says "${error}")`);
        await new Promise((resolve) => setTimeout(resolve, 250));
        error = await page.evaluate(() => {
          const line = document.querySelector<HTMLElement>('[data-testid="error"]');
          return line && !line.hidden ? (line.textContent ?? '') : '';
        });
      }
      assert.match(error, /^notes\.txt: cannot decode the image/);
      assert.doesNotMatch(error, /\n|\bat .*\(/, 'one line, no stack trace');
    },
  );
}

/** Waits until `predicate` holds in the page; fails fast, naming it, when the page shows an error line instead. */
async function waitFor<A>(page: EnginePage, what: string, timeoutMs: number, predicate: (arg: A) => boolean, arg?: A): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = {
      holds: await page.evaluate(predicate, arg),
      error: await page.evaluate(() => {
        const line = document.querySelector<HTMLElement>('[data-testid="error"]');
        return line && !line.hidden ? line.textContent : null;
      }),
    };
    if (state.holds) return;
    if (state.error) assert.fail(`waiting for ${what}, the page showed an error: ${state.error}`);
    if (Date.now() > deadline) {
      const shown = await page.evaluate(() =>
        ['train-status', 'data-status', 'step', 'epoch', 'classify-status']
          .map((id) => `${id}: "${document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '(none)'}"`)
          .join(', '),
      );
      assert.fail(`${what} did not happen within ${timeoutMs / 1000} s (${shown})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Sets the Train form's fields as typing would (input and change events), the recipe chosen first. */
async function fill(page: EnginePage, settings: Record<string, string | number>): Promise<void> {
  await page.evaluate((entries) => {
    for (const [key, value] of entries) {
      const field = document.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-testid="setting-${key}"]`);
      if (!field) throw new Error(`no field setting-${key}`);
      field.value = String(value);
      field.dispatchEvent(new Event('input', { bubbles: true }));
      field.dispatchEvent(new Event('change', { bubbles: true }));
    }
  }, Object.entries(settings));
}

async function text(page: EnginePage, testid: string): Promise<string> {
  return page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? '', testid);
}

/** What a download link offers, read in the page (the same bytes a click saves), as base64. */
function downloaded(page: EnginePage, testid: string): Promise<string> {
  return page.evaluate(async (id) => {
    const link = document.querySelector<HTMLAnchorElement>(`[data-testid="${id}"]`);
    if (!link?.href) throw new Error(`${id} offers nothing`);
    const bytes = new Uint8Array(await (await fetch(link.href)).arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }, testid);
}

/** Gives a file input the file at `path` as a user's pick does: its files set, then its change event. */
async function pick(page: EnginePage, testid: string, path: string): Promise<void> {
  await page.evaluate(
    ({ id, name, base64 }) => {
      const input = document.querySelector<HTMLInputElement>(`[data-testid="${id}"]`);
      if (!input) throw new Error(`no file input ${id}`);
      const transfer = new DataTransfer();
      transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
      input.files = transfer.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    },
    { id: testid, name: basename(path), base64: readFileSync(path).toString('base64') },
  );
}

/** Test images 0 and 1 of the sample as PNGs, the second resized to 50×40 (the page resizes as Node does). */
async function samplePngs(dir: string): Promise<string[]> {
  const set = readCifar10(sampleDataDir(), 'test');
  const paths: string[] = [];
  for (const [i, size] of [
    [0, null],
    [1, [50, 40]],
  ] as const) {
    const rgb = Buffer.alloc(3072);
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = set.images[i * 3072 + c * 1024 + p]!;
    const image = sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } });
    const path = join(dir, `test${i}.png`);
    await (size ? image.resize(size[0], size[1]) : image).png().toFile(path);
    paths.push(path);
  }
  return paths;
}
