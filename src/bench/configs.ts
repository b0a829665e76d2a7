// The model configs the benchmarks measure: the seed's, and a wide one where the matrix products
// dominate (hidden 192, 6 layers, 6 heads, intermediate 384), as `npm run bench`, `npm run
// bench:browser` and scripts/device/run.sh run them.
import type { ViTConfig } from '../model/config.js';

export const BENCH_CONFIGS = {
  seed: {},
  wide: { hidden_size: 192, num_hidden_layers: 6, num_attention_heads: 6, intermediate_size: 384 },
} as const satisfies Record<string, Partial<ViTConfig>>;

export type BenchConfigName = keyof typeof BENCH_CONFIGS;

export const BENCH_CONFIG_NAMES = Object.keys(BENCH_CONFIGS) as BenchConfigName[];

export const isBenchConfigName = (name: string): name is BenchConfigName => (BENCH_CONFIG_NAMES as string[]).includes(name);
