// The headless Chromium that the browser tests and `npm run bench:browser` drive: the binary that
// ships inside @sparticuz/chromium, driven by playwright-core (both dev dependencies).
import chromium from '@sparticuz/chromium';
import { chromium as playwright, type Browser } from 'playwright-core';

/**
 * Launches Chromium with site isolation on, so that a page served with COOP/COEP is crossOriginIsolated,
 * and with WebGPU on (Linux keeps it behind --enable-unsafe-webgpu; without a GPU the adapter is SwiftShader).
 */
export async function launchChromium(): Promise<Browser> {
  // Not the package's own chromium.args: they turn site isolation off.
  return playwright.launch({
    executablePath: await chromium.executablePath(),
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu'],
    ignoreDefaultArgs: ['--headless'],
  });
}
