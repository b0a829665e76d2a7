// `npm run bench:browser`: the model's training and inference speed in Chromium, in one run.
// The same benchmark() runs in Node and in the page's worker (dist/app/bench.html, served by `vit app`'s server).
//   --backend wasm (the default): the page's WebAssembly engine against Node's, at the same thread count.
//   --backend webgpu: the page's WebGPU engine against the page's WebAssembly engine, each in a fresh page.
// Rounds alternate the two sides, so that a busy moment on the machine hits both alike; the medians are compared.
//
//   npm run bench:browser -- [--backend wasm|webgpu] [--configs seed,wide] [--batch-size 128,256] [--rounds 5]
//                            [--threads 2] [--steps 10] [--warmup 3] [--profile]
// Chromium here has only SwiftShader's software adapter: its WebGPU figures prove that the engine runs, not its speed.
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../app/chromium.js';
import { serveFolder } from '../app/serve.js';
import { packageRoot } from '../data/location.js';
import { benchmark, type BenchResult } from './benchmark.js';
import { BENCH_CONFIGS, BENCH_CONFIG_NAMES, type BenchConfigName, isBenchConfigName } from './configs.js';

interface Flags {
  backend: 'wasm' | 'webgpu';
  configs?: BenchConfigName[];
  batchSize?: number[];
  rounds: number;
  threads: number;
  steps: number;
  warmup: number;
  profile?: boolean;
}

/** One page's request: bench.html's query. */
interface PageRun {
  backend: 'wasm' | 'webgpu';
  config: BenchConfigName;
  batch: number;
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

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number ≥ 0 is needed.');
  return n;
}

/** "128,256": positive whole numbers. */
function batchList(value: string): number[] {
  return value.split(',').map((part) => positive(part.trim()));
}

/** "seed,wide": names of BENCH_CONFIGS. */
function configList(value: string): BenchConfigName[] {
  return value.split(',').map((part) => {
    const name = part.trim();
    if (!isBenchConfigName(name)) throw new InvalidArgumentError(`each must be one of ${BENCH_CONFIG_NAMES.join(', ')} (got "${name}").`);
    return name;
  });
}

const describe = (name: BenchConfigName): string => {
  const config = BENCH_CONFIGS[name];
  return 'hidden_size' in config
    ? `${name} (hidden ${config.hidden_size}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads)`
    : name;
};
/** SwiftShader, lavapipe/llvmpipe or a browser's fallback adapter: a CPU pretending to be a GPU. */
const softwareAdapter = (description: string): boolean => /swiftshader|llvmpipe|lavapipe|fallback|software/i.test(description);

/** The median, and the median with the range as text: "373.6 (321.4–534.6)". */
function summary(xs: number[]): { median: number; text: string } {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, text: `${median.toFixed(1)} (${sorted[0]!.toFixed(1)}–${sorted.at(-1)!.toFixed(1)})` };
}

async function main(): Promise<void> {
  const flags = new Command('bench:browser')
    .addOption(
      new Option('--backend <name>', "the page's engine: wasm (against Node) or webgpu (against the page's WebAssembly)")
        .choices(['wasm', 'webgpu'])
        .default('wasm'),
    )
    .option(
      '--configs <names>',
      `model configs, comma-separated: ${BENCH_CONFIG_NAMES.join(', ')} (default: seed; with --backend webgpu, all)`,
      configList,
    )
    .option('--batch-size <n,...>', 'images per step, comma-separated (default: 256; with --backend webgpu, 128,256)', batchList)
    .option('--rounds <n>', 'pairs of runs (medians are compared)', positive, 5)
    .option('--threads <n>', 'threads of the WebAssembly engines', positive, 2)
    .option('--steps <n>', 'timed steps of each kind per measurement', positive, 10)
    .option('--warmup <n>', 'untimed steps of each kind before the timed ones', nonNegative, 3)
    .option('--profile', 'also time each kernel of the training steps, on both sides (median ms per step over the rounds)')
    .parse()
    .opts<Flags>();
  const gpu = flags.backend === 'webgpu';
  const configs = flags.configs ?? (gpu ? BENCH_CONFIG_NAMES : ['seed']);
  const batches = flags.batchSize ?? (gpu ? [128, 256] : [256]);
  const server = await serveFolder({ root: join(packageRoot(), 'dist', 'app') });
  const browser = await launchChromium();
  const [left, right] = gpu ? ['wasm', 'WebGPU'] : ['Node', 'page'];
  const pageUrl = (run: PageRun): string =>
    new URL(
      `bench.html?backend=${run.backend}&config=${run.config}&batch=${run.batch}` +
        `&threads=${flags.threads}&steps=${flags.steps}&warmup=${flags.warmup}${flags.profile ? '&profile' : ''}`,
      server.url,
    ).href;
  let adapter: string | null = null;
  try {
    process.stdout.write(
      `${flags.steps} timed steps after ${flags.warmup} untimed; ${flags.threads} WebAssembly threads; ` +
        `${gpu ? "the page's WebAssembly and WebGPU engines" : 'Node ' + process.version + ' against the page'} in Chromium ${browser.version()}\n`,
    );
    for (const config of configs)
      for (const batch of batches) {
        const run = { config, batch };
        process.stdout.write(
          `\n## ${describe(config)} config, batch ${batch}\n` +
            `round ${`${left} train`.padStart(12)} ${`${right} train`.padStart(11)} ${`${right}/${left}`.padStart(10)} ` +
            `${`${left} infer`.padStart(12)} ${`${right} infer`.padStart(11)} ${`${right}/${left}`.padStart(10)}  (images/s)\n`,
        );
        const a: BenchResult[] = [];
        const b: BenchResult[] = [];
        for (let round = 1; round <= flags.rounds; round++) {
          a.push(
            gpu
              ? await inPage(browser, pageUrl({ ...run, backend: 'wasm' }))
              : await benchmark({
                  threads: flags.threads,
                  config: BENCH_CONFIGS[config],
                  steps: flags.steps,
                  warmup: flags.warmup,
                  batch,
                  profile: flags.profile,
                }),
          );
          b.push(await inPage(browser, pageUrl({ ...run, backend: gpu ? 'webgpu' : 'wasm' })));
          const [x, y] = [a.at(-1)!, b.at(-1)!];
          process.stdout.write(
            `${String(round).padStart(5)} ${x.train_img_s.toFixed(1).padStart(12)} ${y.train_img_s.toFixed(1).padStart(11)} ` +
              `${(y.train_img_s / x.train_img_s).toFixed(3).padStart(10)} ${x.infer_img_s.toFixed(1).padStart(12)} ${y.infer_img_s.toFixed(1).padStart(11)} ` +
              `${(y.infer_img_s / x.infer_img_s).toFixed(3).padStart(10)}\n`,
          );
        }
        if (gpu) adapter ??= b[0]!.engine;
        process.stdout.write(comparison(left, a, right, b));
        if (flags.profile) process.stdout.write(kernelTable(left, a, right, b));
      }
    if (adapter !== null && softwareAdapter(adapter)) {
      process.stdout.write(
        `\nWebGPU ran on ${adapter}, a software adapter: these WebGPU figures show that the engine runs in the page, not how fast it is on a GPU.\n`,
      );
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The medians (with ranges) of both sides and their ratios. */
function comparison(left: string, a: BenchResult[], right: string, b: BenchResult[]): string {
  const train = [summary(a.map((r) => r.train_img_s)), summary(b.map((r) => r.train_img_s))] as const;
  const infer = [summary(a.map((r) => r.infer_img_s)), summary(b.map((r) => r.infer_img_s))] as const;
  return (
    `train, median (range) images/s: ${left} ${train[0].text} on ${a[0]!.engine}, ${right} ${train[1].text} on ${b[0]!.engine}\n` +
    `infer, median (range) images/s: ${left} ${infer[0].text}, ${right} ${infer[1].text}\n` +
    `${right}/${left}, ratio of the medians: training x${(train[1].median / train[0].median).toFixed(3)}, ` +
    `inference x${(infer[1].median / infer[0].median).toFixed(3)}\n` +
    // Each round's pair ran back to back, so its ratio is less touched by the machine's load drifting.
    `${right}/${left}, median of the rounds' ratios: training x${summary(b.map((p, i) => p.train_img_s / a[i]!.train_img_s)).median.toFixed(3)}, ` +
    `inference x${summary(b.map((p, i) => p.infer_img_s / a[i]!.infer_img_s)).median.toFixed(3)}\n`
  );
}

/** Each kernel's median ms per training step on both sides, slowest on the left side first. */
function kernelTable(left: string, a: BenchResult[], right: string, b: BenchResult[]): string {
  const msPerStep = (results: BenchResult[], kernel: string): number =>
    summary(results.map((r) => r.profile?.find((k) => k.kernel === kernel)?.ms_per_step ?? 0)).median;
  const kernels = [...new Set([...a, ...b].flatMap((r) => (r.profile ?? []).map((k) => k.kernel)))];
  const rows = kernels
    .map((kernel) => [kernel, msPerStep(a, kernel), msPerStep(b, kernel)] as const)
    .sort((x, y) => y[1] - x[1])
    .map(
      ([kernel, x, y]) =>
        `${kernel.padEnd(24)} ${x.toFixed(2).padStart(8)} ${y.toFixed(2).padStart(8)} ${(x > 0 ? (y / x).toFixed(2) : '—').padStart(10)}\n`,
    );
  return `\nkernel                   ${`${left} ms`.padStart(9)} ${`${right} ms`.padStart(8)} ${`${right}/${left}`.padStart(10)}  (median per training step)\n${rows.join('')}`;
}

await main();
