// The benchmark page (bench.html): reads ?threads=&steps=&batch=[&profile], runs the benchmark in a worker
// and shows the result as JSON in data-testid="bench-result", where `npm run bench:browser` reads it.
import type { BenchReply, BenchRequest } from './protocol.js';

const status = document.querySelector<HTMLElement>('[data-testid="bench-status"]')!;
const errorLine = document.querySelector<HTMLElement>('[data-testid="error"]')!;
const output = document.querySelector<HTMLElement>('[data-testid="bench-result"]')!;

function fail(message: string): void {
  status.textContent = 'failed';
  errorLine.textContent = message;
  errorLine.hidden = false;
}

/** A whole number ≥ 1 from the query, or the default when absent. */
function positive(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1) throw new Error(`?${name}= must be a positive whole number (got "${text}")`);
  return n;
}

function request(): BenchRequest {
  const query = new URLSearchParams(location.search);
  // Without cross-origin isolation there is no shared memory: one thread.
  const cores = crossOriginIsolated ? navigator.hardwareConcurrency || 1 : 1;
  const threads = positive(query, 'threads', cores);
  if (threads > 1 && !crossOriginIsolated) throw new Error(`?threads=${threads} needs a cross-origin isolated page (serve it with \`vit app\`)`);
  return { threads, steps: positive(query, 'steps', 10), batch: positive(query, 'batch', 256), profile: query.has('profile') };
}

try {
  const asked = request();
  status.textContent = `running: ${asked.threads} thread(s), ${asked.steps} steps of batch ${asked.batch}…`;
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.addEventListener('message', (event: MessageEvent<BenchReply>) => {
    worker.terminate();
    if ('error' in event.data) return fail(event.data.error);
    const { result } = event.data;
    status.textContent = `train ${result.train_img_s.toFixed(1)} images/s, infer ${result.infer_img_s.toFixed(1)} images/s ` +
      `(${result.threads} thread(s), ${result.relaxed_simd ? 'relaxed SIMD' : '128-bit SIMD'})`;
    output.textContent = JSON.stringify(result);
    output.hidden = false;
  });
  worker.addEventListener('error', (event) => fail(`the benchmark worker failed: ${event.message}`));
  worker.postMessage(asked);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
