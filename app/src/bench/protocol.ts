// The messages between the benchmark page and its worker.
import type { BenchResult } from '../../../src/bench/benchmark.js';

export interface BenchRequest {
  threads: number;
  steps: number;
  batch: number;
}

export type BenchReply = { result: BenchResult } | { error: string };
