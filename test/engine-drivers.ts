// The browser engines beyond Chromium that the engine tours (test/app-firefox.test.ts,
// test/app-webkit.test.ts) drive, each through its own WebDriver: Firefox ESR over WebDriver BiDi
// (puppeteer-core), WebKitGTK (Safari's engine) through WebKitWebDriver and its MiniBrowser
// (selenium-webdriver) on an Xvfb display. Each is found where Debian's packages put it
// (`apt-get install firefox-esr webkit2gtk-driver xvfb`, as .ci/run does).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder, By, type WebDriver } from 'selenium-webdriver';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export type EngineName = 'Firefox' | 'WebKitGTK';

/** A tab of one engine, driven the same way in each. */
export interface EnginePage {
  /** Runs `fn` in the page with `arg` (JSON-serializable) and gives back what it returns, promises awaited. */
  evaluate<A, R>(fn: (arg: A) => R, arg?: A): Promise<Awaited<R>>;
  /** Clicks the element with this data-testid as a user would (through the driver, not element.click()). */
  click(testid: string): Promise<void>;
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
  /** console.error messages and uncaught exceptions of the page so far. */
  errors(): Promise<string[]>;
}

export interface EngineBrowser {
  readonly name: EngineName;
  /** The engine's version, as its driver reports it. */
  readonly version: string;
  /** The one tab, on about:blank. */
  readonly page: EnginePage;
  close(): Promise<void>;
}

/** Why `engine` cannot run here (its programs are not installed), or null when it can. */
export function missingEngine(engine: EngineName): string | null {
  if (engine === 'Firefox') return existsSync(FIREFOX) ? null : `${FIREFOX} is not installed (apt-get install firefox-esr)`;
  const missing = ['WebKitWebDriver', 'Xvfb'].filter((program) => !onPath(program));
  if (miniBrowser() === null) missing.push('MiniBrowser');
  return missing.length === 0 ? null : `${missing.join(', ')} not installed (apt-get install webkit2gtk-driver xvfb)`;
}

export function launchEngine(engine: EngineName): Promise<EngineBrowser> {
  return engine === 'Firefox' ? launchFirefox() : launchWebKit();
}

const FIREFOX = process.env.FIREFOX_BIN ?? '/usr/bin/firefox-esr';

function onPath(program: string): boolean {
  return spawnSync('which', [program], { stdio: 'ignore' }).status === 0;
}

/** WebKitGTK's MiniBrowser, which Debian installs beside the library (/usr/lib/ARCH/webkit2gtk-4.x/). */
function miniBrowser(): string | null {
  for (const arch of existsSync('/usr/lib') ? readdirSync('/usr/lib') : []) {
    for (const api of ['webkit2gtk-4.1', 'webkit2gtk-4.0', 'webkitgtk-6.0']) {
      const path = join('/usr/lib', arch, api, 'MiniBrowser');
      if (existsSync(path)) return path;
    }
  }
  return null;
}

async function launchFirefox(): Promise<EngineBrowser> {
  const browser: Browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  const page: Page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error)));
  return {
    name: 'Firefox',
    // puppeteer says "firefox/153.8.0".
    version: (await browser.version()).replace(/^firefox\//, ''),
    page: {
      // puppeteer's types would unwrap element handles in the argument; ours is plain JSON.
      evaluate: <A, R>(fn: (arg: A) => R, arg?: A) => page.evaluate(fn as (arg: unknown) => R, arg) as Promise<Awaited<R>>,
      click: (testid) => page.click(`[data-testid="${testid}"]`),
      goto: async (url) => void (await page.goto(url)),
      reload: async () => void (await page.reload()),
      errors: () => Promise.resolve([...errors]),
    },
    close: () => browser.close(),
  };
}

/**
 * WebKitGTK draws into an X display even when nobody looks: an Xvfb of our own (the number it
 * picked read from -displayfd), WebKitWebDriver on a free port, and the MiniBrowser it starts in
 * automation mode. WebKitWebDriver speaks no BiDi, so console errors are caught in the page
 * (see withErrorCapture) rather than by the driver.
 */
async function launchWebKit(): Promise<EngineBrowser> {
  const binary = miniBrowser();
  if (binary === null) throw new Error('MiniBrowser is not installed');
  const children: ChildProcess[] = [];
  const stop = (): void => {
    for (const child of children.reverse()) child.kill();
  };
  try {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    children.push(xvfb);
    const display = await firstLine(xvfb, 3, 'Xvfb');
    const port = await freePort();
    const driver = spawn('WebKitWebDriver', [`--port=${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: `:${display}` },
    });
    children.push(driver);
    await waitForPort(driver, port);
    const session: WebDriver = await new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities({
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary, args: ['--automation'] },
      })
      .build();
    const version = String((await session.getCapabilities()).get('browserVersion'));
    return {
      name: 'WebKitGTK',
      version,
      page: {
        evaluate: <A, R>(fn: (arg: A) => R, arg?: A) => session.executeScript<Awaited<R>>(`return (${fn.toString()})(arguments[0]);`, arg),
        click: async (testid) => session.findElement(By.css(`[data-testid="${testid}"]`)).click(),
        goto: (url) => session.get(url),
        reload: () => session.navigate().refresh(),
        errors: () => session.executeScript<string[]>('return [...(window.__pageErrors ?? [])];'),
      },
      close: async () => {
        try {
          await session.quit();
        } finally {
          stop();
        }
      },
    };
  } catch (error) {
    stop();
    throw error;
  }
}

/** The first line a child writes on file descriptor `fd`, or an error naming it if it exits first. */
function firstLine(child: ChildProcess, fd: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const stream = child.stdio[fd];
    if (!stream) return reject(new Error(`${name}: no pipe on fd ${fd}`));
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(text.trim());
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Waits until WebKitWebDriver answers on `port` (it says nothing when ready). */
async function waitForPort(driver: ChildProcess, port: number): Promise<void> {
  let exited = false;
  driver.once('exit', () => (exited = true));
  for (let attempt = 0; attempt < 600; attempt++) {
    if (exited) throw new Error('WebKitWebDriver exited before it was ready');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`WebKitWebDriver did not answer on port ${port} within a minute`);
}

/**
 * A copy of the built page whose index.html first installs a catcher of console.error, uncaught
 * exceptions and unhandled rejections (into window.__pageErrors), for a driver that cannot report
 * them itself. Returns the folder and a function that removes it.
 */
export function withErrorCapture(appDir: string): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'vit-app-engine-'));
  cpSync(appDir, root, { recursive: true });
  const index = join(root, 'index.html');
  const catcher = `<script>
    window.__pageErrors = [];
    const consoleError = console.error.bind(console);
    console.error = (...args) => { window.__pageErrors.push(args.map(String).join(' ')); consoleError(...args); };
    addEventListener('error', (e) => window.__pageErrors.push('uncaught ' + e.message + ' (' + e.filename + ':' + e.lineno + ')'));
    addEventListener('unhandledrejection', (e) => window.__pageErrors.push('unhandled rejection ' + String(e.reason)));
  </script>`;
  writeFileSync(index, readFileSync(index, 'utf8').replace('<head>', `<head>\n    ${catcher}`));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
