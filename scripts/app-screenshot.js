// Draws docs/app.png, the README's picture of the page: the Train view at 1280×800 after a short
// run on the bundled sample, in the Chromium the tests use. Run after `npm run build`:
//   node scripts/app-screenshot.js [--epochs 10] [--out docs/app.png]
import { parseArgs } from 'node:util';
import { launchChromium } from '../dist/src/app/chromium.js';
import { serveFolder } from '../dist/src/app/serve.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '10' }, out: { type: 'string', default: 'docs/app.png' } } });
const server = await serveFolder({ root: 'dist/app' });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(server.url);
  await page.getByTestId('data-status').filter({ hasText: '2,000 training and 500 test images' }).waitFor();
  for (const [key, value] of Object.entries({ epochs: values.epochs, batchSize: '64', threads: '2' })) {
    await page.getByTestId(`setting-${key}`).fill(value);
  }
  await page.getByTestId('start').click();
  await page
    .getByTestId('train-status')
    .filter({ hasText: /^Finished/ })
    .waitFor({ timeout: 30 * 60_000 });
  // Filling the form scrolled the page: show it from the top, as a visitor first sees it.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByTestId('start').blur();
  await page.screenshot({ path: values.out });
  console.log(`wrote ${values.out}: ${await page.getByTestId('train-status').textContent()}`);
} finally {
  await browser.close();
  await server.close();
}
