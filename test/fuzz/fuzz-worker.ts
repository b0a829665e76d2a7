// One fuzz target run by fast-check in a worker thread for a given time (see fuzz.ts).
import { parentPort, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { FUZZ_TARGETS } from './targets.js';

/** Longest an async case may take before it fails as a hang (sync ones are caught by the parent). */
const CASE_TIMEOUT_MS = 20_000;

const { target, seed, ms } = workerData as { target: string; seed: number; ms: number };
let cases = 0;
let lastPost = 0;
// Posted at most twice a second: the parent's proof that cases keep finishing.
const onCase = (): void => {
  cases++;
  const now = Date.now();
  if (now - lastPost > 500) {
    lastPost = now;
    parentPort!.postMessage({ cases });
  }
};
const details = await fc.check(FUZZ_TARGETS[target]!.property(onCase), {
  seed,
  numRuns: Number.MAX_SAFE_INTEGER,
  interruptAfterTimeLimit: ms,
  markInterruptAsFailure: false,
  timeout: CASE_TIMEOUT_MS,
});
const finding = details.failed
  ? `${String(details.errorInstance)}\n  counterexample: ${fc.stringify(details.counterexample).slice(0, 2000)}\n  replay: seed ${details.seed}, path "${details.counterexamplePath}"`
  : undefined;
parentPort!.postMessage({ cases: details.numRuns, finished: true, ...(finding === undefined ? {} : { finding }) });
