// The peers that vit-ts is measured against, each optional: PyTorch through the reference script
// ../shared/peer/torch_vit.py (Debian's python3-torch), and ONNX Runtime for Node (a dev dependency).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type ViTConfig } from '../model/config.js';

export interface PeerRun {
  train_img_s?: number;
  infer_img_s?: number;
}

/** A Python that can import torch, or null. Debian's package installs into /usr/bin/python3. */
export function findTorchPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  return null;
}

/** One run of `torch_vit.py bench`: its JSON line. */
export function torchBench(python: string, script: string, options: { threads: number; fused: boolean; batch: number; config: Partial<ViTConfig>; steps?: number }): PeerRun {
  const args = [script, 'bench', '--threads', String(options.threads), '--batch', String(options.batch),
    '--config', JSON.stringify(options.config), '--steps', String(options.steps ?? 10)];
  if (options.fused) args.push('--fused');
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch_vit.py bench failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as PeerRun;
}

/** SGEMM GFLOP/s of a large square product in PyTorch on all cores: the machine's practical peak. */
export function sgemmPeak(python: string): number | null {
  const code = [
    'import torch, time',
    `torch.set_num_threads(${availableParallelism()})`,
    'a = torch.randn(2048, 2048); b = torch.randn(2048, 2048)',
    'for _ in range(3): a @ b',
    'best = 1e9',
    'for _ in range(10):',
    '    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)',
    'print(2 * 2048**3 / best / 1e9)',
  ].join('\n');
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

/** ONNX Runtime's inference images/s on an ONNX file, all cores, random input. */
export async function ortInference(onnxPath: string, batch: number, config: ViTConfig, steps = 10): Promise<number | null> {
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch {
    return null;
  }
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: availableParallelism(), graphOptimizationLevel: 'all' });
  const size = config.num_channels * config.image_size ** 2;
  const input = new ort.Tensor('float32', Float32Array.from({ length: batch * size }, () => Math.random() * 2 - 1),
    [batch, config.num_channels, config.image_size, config.image_size]);
  for (let i = 0; i < 3; i++) await session.run({ pixel_values: input });
  const start = performance.now();
  for (let i = 0; i < steps; i++) await session.run({ pixel_values: input });
  const seconds = (performance.now() - start) / 1000;
  await session.release();
  return (batch * steps) / seconds;
}

/** The seed model exported by PyTorch (torch_vit.py onnx), in a temporary folder; null without torch. */
export function torchOnnx(python: string, script: string, config: Partial<ViTConfig>): { path: string; cleanup(): void } | null {
  const dir = mkdtempSync(join(tmpdir(), 'vit-bench-'));
  const path = join(dir, 'model.onnx');
  const r = spawnSync(python, [script, 'onnx', '--out', path, '--config', JSON.stringify(config)], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(path)) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Peak resident memory (MiB) of a command, by GNU time; null when /usr/bin/time is missing. */
export function peakRssMiB(command: string, args: string[], cwd?: string): { mib: number; status: number | null } | null {
  if (!existsSync('/usr/bin/time')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'vit-rss-'));
  const out = join(dir, 'rss');
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, command, ...args], { cwd, stdio: 'ignore' });
  const kib = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  rmSync(dir, { recursive: true, force: true });
  return { mib: kib / 1024, status: r.status };
}
