// A page for the WebGPU browser tests: dist's src, test and wasm (plus any extra folders) served as
// they are (ES modules, no bundler), with test/webgpu-browser-entry.ts loaded and Chromium's adapter
// found; without one the tests skip with a line, unless VIT_WEBGPU_REQUIRED=1 (CI), where they fail.
import { before, after } from 'node:test';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browserHarness, type OpenPage } from './browser-harness.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
/** The page's module: served from the copy of dist/test. */
export const ENTRY = '/test/webgpu-browser-entry.js';
export type Entry = typeof import('./webgpu-browser-entry.js');

export interface WebGpuPage {
  /** The open page (after the file's `before`). */
  readonly open: OpenPage;
  /** Why the tests skip (no adapter), or null. */
  readonly skip: string | null;
}

/** Registers the hooks that serve and open the page around the calling suite's tests; `extra` maps served names to folders. */
export function webGpuPage(title: string, extra: Record<string, string> = {}): WebGpuPage {
  const harness = browserHarness();
  let root: string | undefined;
  let open: OpenPage | undefined;
  let skip: string | null = null;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'vit-webgpu-page-'));
    for (const folder of ['src', 'test', 'wasm']) cpSync(join(DIST, folder), join(root, folder), { recursive: true });
    for (const [name, folder] of Object.entries(extra)) cpSync(folder, join(root, name), { recursive: true });
    writeFileSync(join(root, 'index.html'), `<!doctype html><meta charset="utf-8"><title>${title}</title>`);
    open = await harness.open('', { root });
    const found = await open.page.evaluate(async (url) => {
      try {
        const entry = (await import(url)) as Entry;
        return await entry.adapter();
      } catch (error) {
        return { error: error instanceof Error ? error.message : String(error) };
      }
    }, ENTRY);
    if ('error' in found) {
      const reason = `no WebGPU adapter in Chromium, WebGPU browser tests skipped: ${found.error}`;
      if (process.env.VIT_WEBGPU_REQUIRED === '1') throw new Error(`VIT_WEBGPU_REQUIRED=1 but ${reason}`);
      console.log(reason);
      skip = reason;
    } else {
      console.log(`Chromium's WebGPU adapter: ${found.description}`);
    }
  });
  after(async () => {
    await open?.close();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });
  return {
    get open() {
      if (open === undefined) throw new Error('the WebGPU page is used before its tests run');
      return open;
    },
    get skip() {
      return skip;
    },
  };
}
