// The benchmark page (bench.html): reads ?backend=&threads=&config=&steps=&warmup=&batch=[&profile], runs the
// benchmark in a worker and shows the result as JSON in data-testid="bench-result", where `npm run bench:browser` reads it.
import { BENCH_CONFIG_NAMES, isBenchConfigName } from '../../../src/bench/configs.js';
import type { BenchReply, BenchRequest } from './protocol.js';

const status = document.querySelector<HTMLElement>('[data-testid="bench-status"]')!;
const errorLine = document.querySelector<HTMLElement>('[data-testid="error"]')!;
const output = document.querySelector<HTMLElement>('[data-testid="bench-result"]')!;

function fail(message: string): void {
  status.textContent = 'failed';
  errorLine.textContent = message;
  errorLine.hidden = false;
}

/** A whole number ≥ `least` (1: positive) from the query, or the default when absent. */
function whole(query: URLSearchParams, name: string, fallback: number, least = 1): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < least) {
    throw new Error(`?${name}= must be a ${least === 1 ? 'positive' : 'non-negative'} whole number (got "${text}")`);
  }
  return n;
}

/** One of `choices` from the query, or the first when absent. */
function oneOf<T extends string>(query: URLSearchParams, name: string, choices: readonly T[], is: (text: string) => text is T): T {
  const text = query.get(name);
  if (text === null) return choices[0]!;
  if (!is(text)) throw new Error(`?${name}= must be one of ${choices.join(', ')} (got "${text}")`);
  return text;
}

const BACKENDS = ['wasm', 'webgpu'] as const;
const isBackend = (text: string): text is BenchRequest['backend'] => (BACKENDS as readonly string[]).includes(text);

function request(): BenchRequest {
  const query = new URLSearchParams(location.search);
  // Without cross-origin isolation there is no shared memory: one thread.
  const cores = crossOriginIsolated ? navigator.hardwareConcurrency || 1 : 1;
  const threads = whole(query, 'threads', cores);
  if (threads > 1 && !crossOriginIsolated)
    throw new Error(`?threads=${threads} needs a cross-origin isolated page (serve it with \`vit app\`)`);
  const backend = oneOf(query, 'backend', BACKENDS, isBackend);
  if (backend === 'webgpu' && !('gpu' in navigator)) throw new Error('?backend=webgpu: this browser has no WebGPU (navigator.gpu)');
  return {
    backend,
    threads,
    config: oneOf(query, 'config', BENCH_CONFIG_NAMES, isBenchConfigName),
    steps: whole(query, 'steps', 10),
    warmup: whole(query, 'warmup', 3, 0),
    batch: whole(query, 'batch', 256),
    profile: query.has('profile'),
  };
}

try {
  const asked = request();
  status.textContent =
    `running: ${asked.config} config on ${asked.backend === 'webgpu' ? 'WebGPU' : `${asked.threads} thread(s)`}, ` +
    `${asked.steps} steps of batch ${asked.batch}…`;
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('message', (event: MessageEvent<BenchReply>) => {
    worker.terminate();
    if ('error' in event.data) return fail(event.data.error);
    const { result } = event.data;
    status.textContent = `train ${result.train_img_s.toFixed(1)} images/s, infer ${result.infer_img_s.toFixed(1)} images/s (${result.engine})`;
    output.textContent = JSON.stringify(result);
    output.hidden = false;
  });
  worker.addEventListener('error', (event) => fail(`the benchmark worker failed: ${event.message}`));
  worker.postMessage(asked);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
