// The messages between the benchmark page and its worker.
import type { BenchResult } from '../../../src/bench/benchmark.js';

export interface BenchRequest {
  threads: number;
  steps: number;
  batch: number;
  /** Also time each kernel (BenchResult.profile). */
  profile: boolean;
}

export type BenchReply = { result: BenchResult } | { error: string };
