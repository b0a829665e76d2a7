// `vit bench`: training and inference images/s on random data, optionally per kernel.
import type { Command } from 'commander';
import { Option } from 'commander';
import { benchmark } from '../../bench/benchmark.js';
import { resolveConfig } from '../../model/config.js';
import type { Backend } from '../../runtime/engine.js';
import { backendOption, positiveInteger, readConfigFlag, threadsOption } from '../options.js';

interface BenchFlags {
  json?: boolean;
  config?: string;
  batchSize: number;
  threads?: number;
  backend?: Backend;
  steps: number;
  profile?: boolean;
  chunk?: number;
}

export function register(program: Command): void {
  program
    .command('bench')
    .description('training and inference throughput (images/s) on random data, seed config at batch 256 by default')
    .option('--json', 'print one JSON object (train_img_s, infer_img_s, threads, batch, config, ...)')
    .option('--config <file-or-json>', 'model config keys over the seed config: a JSON file or JSON text')
    .addOption(new Option('--batch-size <n>', 'images per step').default(256).argParser(positiveInteger('--batch-size')))
    .addOption(new Option('--steps <n>', 'timed steps of each kind').default(10).argParser(positiveInteger('--steps')))
    .addOption(threadsOption())
    .addOption(backendOption())
    .option('--profile', 'also show where a training step spends its time, kernel by kernel')
    .addOption(
      new Option(
        '--chunk <n>',
        'images per forward/backward pass within a batch (default: up to 256, within 1 GiB of activations)',
      ).argParser(positiveInteger('--chunk')),
    )
    .action(async (flags: BenchFlags) => {
      const config = flags.config === undefined ? {} : readConfigFlag(flags.config);
      resolveConfig(config as Record<string, unknown>, '--config');
      const result = await benchmark({
        config,
        batch: flags.batchSize,
        threads: flags.threads,
        backend: flags.backend,
        steps: flags.steps,
        profile: flags.profile,
        chunk: flags.chunk,
        onChoice: (line) => process.stderr.write(`${line}\n`),
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
        return;
      }
      const c = result.config;
      process.stdout.write(
        `vit-ts: hidden ${c.hidden_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads, ` +
          `intermediate ${c.intermediate_size}, patch ${c.patch_size}, image ${c.image_size} (${result.params} parameters)\n` +
          `batch ${result.batch} in passes of ${result.chunk}, ` +
          (result.threads === 0
            ? `WebGPU on ${result.engine}\n`
            : `${result.threads} thread${result.threads > 1 ? 's' : ''}, ${result.relaxed_simd ? 'relaxed SIMD (fused multiply-add)' : '128-bit SIMD'}\n`) +
          `train: ${result.train_img_s.toFixed(1)} images/s (${result.train_gflop_s.toFixed(1)} GFLOP/s)\n` +
          `infer: ${result.infer_img_s.toFixed(1)} images/s (${result.infer_gflop_s.toFixed(1)} GFLOP/s)\n`,
      );
      if (result.profile) {
        process.stdout.write('\nkernel                    ms/step  calls/step  share\n');
        for (const k of result.profile) {
          process.stdout.write(
            `${k.kernel.padEnd(24)} ${k.ms_per_step.toFixed(2).padStart(8)} ${String(k.calls_per_step).padStart(11)} ` +
              `${(k.share * 100).toFixed(1).padStart(5)}%\n`,
          );
        }
      }
    });
}
