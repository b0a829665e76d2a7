// Runs `vit bench`'s own benchmark in a worker: the kernels' calling thread blocks in Atomics.wait,
// which a page's main thread may not do.
import { benchmark } from '../../../src/bench/benchmark.js';
import { startEngine } from '../engine.js';
import type { BenchReply, BenchRequest } from './protocol.js';

addEventListener('message', async (event: MessageEvent<BenchRequest>) => {
  const { threads, steps, batch, profile } = event.data;
  let reply: BenchReply;
  try {
    const engine = await startEngine(threads);
    try {
      reply = { result: await benchmark({ engine, steps, batch, profile }) };
    } finally {
      engine.close();
    }
  } catch (error) {
    reply = { error: error instanceof Error ? error.message : String(error) };
  }
  postMessage(reply);
});
