// Runs `vit bench`'s own benchmark in a worker: the kernels' calling thread blocks in Atomics.wait,
// which a page's main thread may not do (and WebGPU is there in workers too).
import { benchmark } from '../../../src/bench/benchmark.js';
import { BENCH_CONFIGS } from '../../../src/bench/configs.js';
import { createEngine } from '../../../src/runtime/engine.js';
import { startEngine } from '../engine.js';
import type { BenchReply, BenchRequest } from './protocol.js';

addEventListener('message', async (event: MessageEvent<BenchRequest>) => {
  const { backend, threads, config, steps, warmup, batch, profile } = event.data;
  let reply: BenchReply;
  try {
    const engine = backend === 'webgpu' ? await createEngine({ backend: 'webgpu' }) : await startEngine(threads);
    try {
      reply = { result: await benchmark({ engine, config: BENCH_CONFIGS[config], steps, warmup, batch, profile }) };
    } finally {
      engine.close();
    }
  } catch (error) {
    reply = { error: error instanceof Error ? error.message : String(error) };
  }
  postMessage(reply);
});
