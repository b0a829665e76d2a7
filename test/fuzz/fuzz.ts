/**
 * `npm run fuzz -- --minutes 10 [--seed N] [--target NAME]`: property-based fuzzing of the
 * parsers of untrusted input (targets.ts), each target in turn for its share of the time, in a
 * worker thread with a bounded heap. A crash other than a UserError, a case running longer than
 * HANG_MS, or the heap limit reached is a finding: printed with fast-check's shrunk counterexample
 * and the seed that replays it; the exit status is then 1.
 */
import { Worker } from 'node:worker_threads';
import { FUZZ_TARGETS } from './targets.js';

/** A case still running after this long counts as a hang. */
const HANG_MS = 20_000;
/** Heap of each target's worker: a parser whose memory follows the header's claims runs out. */
const HEAP_MB = 512;

export interface TargetReport {
  target: string;
  cases: number;
  ms: number;
  /** Set when a case failed: the error and the shrunk counterexample. */
  finding?: string;
}

function parseArgs(argv: string[]): { minutes: number; seed: number; targets: string[] } {
  let minutes = 1;
  let seed = Date.now() % 2 ** 31;
  const targets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--minutes' && value !== undefined && Number(value) > 0) minutes = Number(value);
    else if (flag === '--seed' && value !== undefined && /^\d+$/.test(value)) seed = Number(value);
    else if (flag === '--target' && value !== undefined && Object.hasOwn(FUZZ_TARGETS, value)) targets.push(value);
    else throw new Error(`usage: npm run fuzz -- [--minutes M] [--seed N] [--target ${Object.keys(FUZZ_TARGETS).join('|')}]`);
    i++;
  }
  return { minutes, seed, targets: targets.length > 0 ? targets : Object.keys(FUZZ_TARGETS) };
}

/** Runs one target in a worker for `ms`; a hang or the heap limit ends the worker and is reported. */
function fuzzTarget(target: string, seed: number, ms: number): Promise<TargetReport> {
  return new Promise((resolve) => {
    const started = Date.now();
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), {
      workerData: { target, seed, ms },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    });
    let cases = 0;
    let lastProgress = Date.now();
    let done = false;
    const finish = (report: Omit<TargetReport, 'target' | 'ms'>): void => {
      if (done) return;
      done = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve({ target, ms: Date.now() - started, ...report });
    };
    const watchdog = setInterval(() => {
      if (Date.now() - lastProgress > HANG_MS) finish({ cases, finding: `hang: no case finished for ${HANG_MS / 1000} s (seed ${seed})` });
    }, 1000);
    worker.on('message', (message: { cases: number; finished?: boolean; finding?: string }) => {
      cases = message.cases;
      lastProgress = Date.now();
      if (message.finished) finish(message.finding === undefined ? { cases } : { cases, finding: message.finding });
    });
    worker.on('error', (error) => finish({ cases, finding: `the worker died: ${error.message} (seed ${seed})` }));
    worker.on('exit', () => finish({ cases, finding: `the worker exited early (seed ${seed})` }));
  });
}

async function main(): Promise<void> {
  const { minutes, seed, targets } = parseArgs(process.argv.slice(2));
  const share = (minutes * 60_000) / targets.length;
  console.log(`fuzzing ${targets.join(', ')} for ${minutes} min (seed ${seed}, ${Math.round(share / 1000)} s each)`);
  let findings = 0;
  let total = 0;
  for (const target of targets) {
    const report = await fuzzTarget(target, seed, share);
    total += report.cases;
    console.log(
      `${target}: ${report.cases} cases in ${(report.ms / 1000).toFixed(0)} s${report.finding ? '\n  FINDING ' + report.finding : ', no finding'}`,
    );
    if (report.finding) findings++;
  }
  console.log(`${total} cases, ${findings} finding${findings === 1 ? '' : 's'}`);
  process.exitCode = findings > 0 ? 1 : 0;
}

await main();
