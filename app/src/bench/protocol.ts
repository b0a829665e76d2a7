// The messages between the benchmark page and its worker.
import type { BenchResult } from '../../../src/bench/benchmark.js';
import type { BenchConfigName } from '../../../src/bench/configs.js';

export interface BenchRequest {
  /** Where the kernels run: WebAssembly on `threads` threads, or the page's WebGPU adapter. */
  backend: 'wasm' | 'webgpu';
  threads: number;
  config: BenchConfigName;
  steps: number;
  warmup: number;
  batch: number;
  /** Also time each kernel (BenchResult.profile). */
  profile: boolean;
}

export type BenchReply = { result: BenchResult } | { error: string };
