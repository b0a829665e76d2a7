// `npm run bench:browser`: training speed of the seed config in Chromium against Node, at the same
// thread count, in one run. The same benchmark() runs in both: here in Node, and in the page's
// worker (dist/app/bench.html) served by `vit app`'s server. Rounds alternate Node, page, Node,
// page… so that a busy moment on the machine hits both alike; the medians are compared.
//
//   npm run bench:browser -- [--rounds 5] [--threads 2] [--steps 10] [--batch-size 256] [--profile]
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../app/chromium.js';
import { serveFolder } from '../app/serve.js';
import { packageRoot } from '../data/location.js';
import { benchmark, type BenchResult } from './benchmark.js';

interface Flags {
  rounds: number;
  threads: number;
  steps: number;
  batchSize: number;
  profile?: boolean;
}

/** One benchmark in a fresh page (its own engine, compiled anew, as a user's tab would). */
async function inPage(browser: Browser, benchUrl: string): Promise<BenchResult> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(benchUrl);
    const done = page.locator('[data-testid="bench-result"]:not([hidden]), [data-testid="error"]:not([hidden])');
    await done.waitFor({ timeout: 600_000 });
    const error = page.getByTestId('error');
    if (await error.isVisible()) throw new Error(`the page failed: ${await error.innerText()}`);
    return JSON.parse(await page.getByTestId('bench-result').innerText()) as BenchResult;
  } finally {
    await context.close();
  }
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number is needed.');
  return n;
}

/** The median, and the median with the range as text: "373.6 (321.4–534.6)". */
function summary(xs: number[]): { median: number; text: string } {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, text: `${median.toFixed(1)} (${sorted[0]!.toFixed(1)}–${sorted.at(-1)!.toFixed(1)})` };
}

const simd = (r: BenchResult): string => (r.relaxed_simd ? 'relaxed SIMD' : '128-bit SIMD');

async function main(): Promise<void> {
  const flags = new Command('bench:browser')
    .option('--rounds <n>', 'Node/page pairs (medians are compared)', positive, 5)
    .option('--threads <n>', 'threads in both', positive, 2)
    .option('--steps <n>', 'timed steps of each kind per measurement', positive, 10)
    .option('--batch-size <n>', 'images per step', positive, 256)
    .option('--profile', 'also time each kernel of the training steps, on both sides (median ms per step over the rounds)')
    .parse()
    .opts<Flags>();
  const server = await serveFolder({ root: join(packageRoot(), 'dist', 'app') });
  const browser = await launchChromium();
  try {
    const query = `threads=${flags.threads}&steps=${flags.steps}&batch=${flags.batchSize}${flags.profile ? '&profile' : ''}`;
    const benchUrl = new URL(`bench.html?${query}`, server.url).href;
    process.stdout.write(`seed config, batch ${flags.batchSize}, ${flags.threads} threads, ${flags.steps} timed steps; ` +
      `Node ${process.version} against Chromium ${browser.version()}\n\n` +
      'round   Node train  page train  page/Node   Node infer  page infer  page/Node  (images/s)\n');
    const node: BenchResult[] = [];
    const page: BenchResult[] = [];
    for (let round = 1; round <= flags.rounds; round++) {
      node.push(await benchmark({ threads: flags.threads, steps: flags.steps, batch: flags.batchSize, profile: flags.profile }));
      page.push(await inPage(browser, benchUrl));
      const [n, p] = [node.at(-1)!, page.at(-1)!];
      process.stdout.write(`${String(round).padStart(5)} ${n.train_img_s.toFixed(1).padStart(12)} ${p.train_img_s.toFixed(1).padStart(11)} ` +
        `${(p.train_img_s / n.train_img_s).toFixed(3).padStart(10)} ${n.infer_img_s.toFixed(1).padStart(12)} ${p.infer_img_s.toFixed(1).padStart(11)} ` +
        `${(p.infer_img_s / n.infer_img_s).toFixed(3).padStart(10)}\n`);
    }
    const train = [summary(node.map((r) => r.train_img_s)), summary(page.map((r) => r.train_img_s))] as const;
    const infer = [summary(node.map((r) => r.infer_img_s)), summary(page.map((r) => r.infer_img_s))] as const;
    process.stdout.write(
      `\ntrain, median (range) images/s: Node ${train[0].text} with ${simd(node[0]!)}, page ${train[1].text} with ${simd(page[0]!)}\n` +
      `infer, median (range) images/s: Node ${infer[0].text}, page ${infer[1].text}\n` +
      `page/Node, ratio of the medians: training x${(train[1].median / train[0].median).toFixed(3)}, ` +
      `inference x${(infer[1].median / infer[0].median).toFixed(3)}\n` +
      // Each round's pair ran back to back, so its ratio is less touched by the machine's load drifting.
      `page/Node, median of the rounds' ratios: training x${summary(page.map((p, i) => p.train_img_s / node[i]!.train_img_s)).median.toFixed(3)}, ` +
      `inference x${summary(page.map((p, i) => p.infer_img_s / node[i]!.infer_img_s)).median.toFixed(3)}\n`);
    if (flags.profile) process.stdout.write(kernelTable(node, page));
  } finally {
    await browser.close();
    await server.close();
  }
}

/** Each kernel's median ms per training step on both sides, slowest in Node first. */
function kernelTable(node: BenchResult[], page: BenchResult[]): string {
  const msPerStep = (results: BenchResult[], kernel: string): number =>
    summary(results.map((r) => r.profile?.find((k) => k.kernel === kernel)?.ms_per_step ?? 0)).median;
  const kernels = (node[0]!.profile ?? []).map((k) => k.kernel);
  const rows = kernels.map((kernel) => [kernel, msPerStep(node, kernel), msPerStep(page, kernel)] as const)
    .sort((a, b) => b[1] - a[1])
    .map(([kernel, n, p]) => `${kernel.padEnd(24)} ${n.toFixed(2).padStart(8)} ${p.toFixed(2).padStart(8)} ${(p / n).toFixed(2).padStart(10)}\n`);
  return `\nkernel                   Node ms   page ms  page/Node  (median per training step)\n${rows.join('')}`;
}

await main();
