// The peers that vit-ts is measured against, each optional: PyTorch through the reference script
// tools/pytorch/peer.py (Debian's python3-torch), and ONNX Runtime: native for Node (installed on first
// use) and its WebAssembly build (the dev dependency onnxruntime-web).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
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

/** One run of `peer.py bench`: its JSON line. */
export function torchBench(
  python: string,
  script: string,
  options: { threads: number; fused: boolean; batch: number; config: Partial<ViTConfig>; steps?: number },
): PeerRun {
  const args = [
    script,
    'bench',
    '--threads',
    String(options.threads),
    '--batch',
    String(options.batch),
    '--config',
    JSON.stringify(options.config),
    '--steps',
    String(options.steps ?? 10),
  ];
  if (options.fused) args.push('--fused');
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`peer.py bench failed: ${r.stderr}`);
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

/** The part of ONNX Runtime's JavaScript API the bench uses; onnxruntime-node and onnxruntime-web both export it. */
export type OrtApi = Pick<typeof import('onnxruntime-web'), 'InferenceSession' | 'Tensor'>;

/** An ONNX Runtime build to measure, or why it is missing. */
export type OrtPeer = { ort: OrtApi; label: string } | { missing: string };

/** The ONNX Runtime release of the dev dependency onnxruntime-web (the tests' runtime), e.g. "1.30.0". */
function ortWebVersion(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'node_modules', 'onnxruntime-web', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Native ONNX Runtime for Node, the peer a Node user would otherwise pick. At 288 MB it is no dev dependency:
 * the bench installs the onnxruntime-web release's twin on first use into node_modules/.cache (from the npm
 * registry), skipping its install script (that only fetches CUDA binaries; the CPU build is in the package).
 */
export function nativeOrt(root: string): OrtPeer {
  const version = ortWebVersion(root);
  const prefix = join(root, 'node_modules', '.cache', 'vit-bench', `onnxruntime-node-${version}`);
  if (!existsSync(join(prefix, 'node_modules', 'onnxruntime-node', 'package.json'))) {
    process.stderr.write(`installing onnxruntime-node@${version} into ${prefix} for the bench…\n`);
    const r = spawnSync(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `onnxruntime-node@${version}`],
      { encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } },
    );
    if (r.status !== 0)
      return { missing: `npm install onnxruntime-node@${version} failed: ${(r.stderr || String(r.error)).trim().split('\n').pop()}` };
  }
  // onnxruntime-node is CommonJS, and exports the onnxruntime-common API that OrtApi names.
  const ort = createRequire(join(prefix, 'package.json'))('onnxruntime-node') as OrtApi;
  return { ort, label: `ONNX Runtime ${version}, native (onnxruntime-node)` };
}

/** ONNX Runtime's WebAssembly build (onnxruntime-web, a dev dependency) running in Node: the same platform as vit-ts. */
export async function wasmOrt(root: string, threads: number): Promise<OrtPeer> {
  try {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads; // read once, when the first session starts the runtime
    return { ort, label: `ONNX Runtime ${ortWebVersion(root)}, WebAssembly (onnxruntime-web in Node)` };
  } catch (error) {
    return { missing: `onnxruntime-web: ${String(error)} (npm install)` };
  }
}

/** ONNX Runtime's inference images/s on an ONNX file, all cores, random input. */
export async function ortInference(ort: OrtApi, onnxPath: string, batch: number, config: ViTConfig, steps = 10): Promise<number> {
  const session = await ort.InferenceSession.create(readFileSync(onnxPath), {
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'all',
  });
  const size = config.num_channels * config.image_size ** 2;
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: batch * size }, () => Math.random() * 2 - 1),
    [batch, config.num_channels, config.image_size, config.image_size],
  );
  for (let i = 0; i < 3; i++) await session.run({ pixel_values: input });
  const start = performance.now();
  for (let i = 0; i < steps; i++) await session.run({ pixel_values: input });
  const seconds = (performance.now() - start) / 1000;
  await session.release();
  return (batch * steps) / seconds;
}

/** The seed model exported by PyTorch (peer.py onnx), in a temporary folder; null without torch. */
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
