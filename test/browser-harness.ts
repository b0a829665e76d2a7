// What the browser tests (test/app-*.test.ts) share: one headless Chromium per test file, the
// built page served by `vit app`'s own server (cross-origin isolated or not), pages that collect
// their console errors and uncaught exceptions, and where screenshots go.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../src/app/chromium.js';
import { serveFolder, type RunningServer } from '../src/app/serve.js';
import { CLI } from './helpers.js';

/** The built page (`npm run build:app` writes it; tests run from dist/test). */
export const APP_DIR = fileURLToPath(new URL('../app', import.meta.url));

/** Kept by the test run, git-ignored. */
export const SCREENSHOTS_DIR = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url));

/** Where a test saves the screenshot called `name` (the folder is made if needed). */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  return join(SCREENSHOTS_DIR, `${name}.png`);
}

export interface ServeChoice {
  /** The folder to serve; default the built page, dist/app. */
  readonly root?: string;
  /** With the COOP/COEP/CORP headers (default) or as a host that cannot set headers. */
  readonly isolated?: boolean;
}

export interface OpenOptions extends ServeChoice {
  /** Default 1280×800, the size the page is designed for. */
  readonly viewport?: { width: number; height: number };
}

/** A page in its own browser context (its own storage), with what went wrong in it so far. */
export interface OpenPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** console.error messages, with where they came from. */
  readonly consoleErrors: string[];
  /** Exceptions nothing caught. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

export interface BrowserHarness {
  readonly browser: Browser;
  /** The base URL (ending in /) of a server for this choice, started on first use and closed after the file. */
  serve(choice?: ServeChoice): Promise<string>;
  /** Opens `path` (relative to the served folder, default the page itself) in a new context. */
  open(path?: string, options?: OpenOptions): Promise<OpenPage>;
}

/**
 * Registers before/after hooks on the calling test file: Chromium is launched once before its
 * tests, and the browser (with its contexts) and the servers are closed after them.
 */
export function browserHarness(): BrowserHarness {
  let browser: Browser | undefined;
  const servers = new Map<string, Promise<RunningServer>>();
  // How many of the file's tests drove a page, said in the test output: the browser tests ran, in which Chromium.
  let pageOpened = false;
  let pageTests = 0;
  before(async () => {
    browser = await launchChromium();
  });
  afterEach(() => {
    if (pageOpened) pageTests++;
    pageOpened = false;
  });
  after(async () => {
    console.log(
      `Chromium ${browser?.version() ?? '(not started)'}: ${pageTests} test${pageTests === 1 ? '' : 's'} of ${basename(process.argv[1] ?? '?')} ran in the browser`,
    );
    await browser?.close();
    // A server that failed to start has nothing to close (its test already failed).
    await Promise.all(
      [...servers.values()].map((server) =>
        server.then(
          (running) => running.close(),
          () => undefined,
        ),
      ),
    );
  });
  const launched = (): Browser => {
    if (browser === undefined) throw new Error('the browser harness is used before its tests run');
    return browser;
  };

  const serve = async (choice: ServeChoice = {}): Promise<string> => {
    const root = choice.root ?? APP_DIR;
    const isolated = choice.isolated ?? true;
    const key = `${isolated ? 'isolated' : 'plain'}:${root}`;
    let server = servers.get(key);
    if (server === undefined) {
      server = serveFolder({ root, isolated });
      servers.set(key, server);
    }
    return (await server).url;
  };

  const open = async (path = '', options: OpenOptions = {}): Promise<OpenPage> => {
    const base = await serve(options);
    pageOpened = true;
    const context = await launched().newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const pageErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const { url, lineNumber } = message.location();
      consoleErrors.push(url ? `${message.text()} (${url}:${lineNumber})` : message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
    await page.goto(new URL(path, base).href);
    return {
      page,
      context,
      consoleErrors,
      pageErrors,
      close: () => context.close(),
    };
  };

  return {
    get browser() {
      return launched();
    },
    serve,
    open,
  };
}

/** What a run's metrics.json holds, the page's or `vit train`'s. */
export interface MetricsFile {
  train_losses: number[];
  test_losses: (number | null)[];
  accuracies: (number | null)[];
  epoch_seconds: number[];
  elapsed_seconds: number[];
  evaluated_on: string;
}

/**
 * The run the page made, made again by `vit train --sample` in Node into `out`/`name`, the page's
 * settings given as flags (`{ epochs: 3 }` is `--epochs 3`): its metrics.json, to compare with the page's.
 */
export function trainInNode(out: string, name: string, flags: Record<string, string | number>): MetricsFile {
  const args = Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]);
  execFileSync(process.execPath, [CLI, 'train', '--sample', '--exp-name', name, '--out', out, ...args], { encoding: 'utf8' });
  return JSON.parse(readFileSync(join(out, name, 'metrics.json'), 'utf8')) as MetricsFile;
}
