// `npm run bench`: vit-ts against its peers on this machine, in one run, repeated, as a table.
//
//   npm run bench -- [--reps 3] [--peer tools/pytorch/peer.py] [--memory --data DIR]
//
// Peers that are not installed are reported as missing, with how to install them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../data/location.js';
import { resolveConfig, type ViTConfig } from '../model/config.js';
import { exportOnnx } from '../export/onnx.js';
import { ViTForClassification } from '../model/vit.js';
import { WasmEngine } from '../runtime/wasm-engine.js';
import type { BenchResult } from './benchmark.js';
import { BENCH_CONFIGS } from './configs.js';
import { findTorchPython, nativeOrt, ortInference, type OrtPeer, peakRssMiB, sgemmPeak, torchBench, torchOnnx, wasmOrt } from './peers.js';

interface Flags {
  reps: number;
  peer: string;
  memory?: boolean;
  data: string;
  batchSize: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

function vitBench(config: Partial<ViTConfig>, batch: number): BenchResult {
  const r = spawnSync(process.execPath, [cli, 'bench', '--json', '--batch-size', String(batch), '--config', JSON.stringify(config)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`vit bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as BenchResult;
}

async function main(): Promise<void> {
  const root = packageRoot();
  const flags = new Command()
    .option('--reps <n>', 'repetitions of each measurement (the median is reported)', (v) => Number(v), 3)
    .option('--batch-size <n>', 'images per step', (v) => Number(v), 256)
    .option('--peer <path>', 'the PyTorch peer script', resolve(root, 'tools', 'pytorch', 'peer.py'))
    .option('--memory', 'also compare the peak memory of one training epoch on the full data set (slow)')
    .option('--data <dir>', 'CIFAR-10 binary folder for --memory', resolve(root, '..', 'shared', 'data', 'cifar-10-batches-bin'))
    .parse()
    .opts<Flags>();
  const batch = flags.batchSize;
  const lines: string[] = [];
  const say = (s = ''): void => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };

  say(
    `# vit-ts benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`,
  );
  say(`batch ${batch}, medians of ${flags.reps} runs; GFLOP/s counts the matrix products (training ≈ 3 × forward)`);
  const python = existsSync(flags.peer) ? findTorchPython() : null;
  if (!existsSync(flags.peer)) say(`PyTorch peer: missing (${flags.peer} not found; pass --peer PATH)`);
  else if (!python) say("PyTorch peer: missing (install Debian's PyTorch: apt-get install -y python3-torch libopenblas0-pthread)");
  const peak = python ? sgemmPeak(python) : null;
  if (peak) say(`machine SGEMM peak (PyTorch, 2048², all cores): ${peak.toFixed(0)} GFLOP/s`);
  const ortPeers: OrtPeer[] = [nativeOrt(root), await wasmOrt(root, availableParallelism())];
  for (const peer of ortPeers) if ('missing' in peer) say(`ONNX Runtime peer: missing (${peer.missing})`);

  for (const [name, config] of [
    ['seed', {}],
    ['wide (hidden 192, 6 layers, 6 heads, intermediate 384)', BENCH_CONFIGS.wide],
  ] as const) {
    const resolved = resolveConfig(config as Record<string, unknown>);
    const runs: BenchResult[] = [];
    const torchRuns = new Map<string, { train: number[]; infer: number[] }>();
    const onnx = name === 'seed' ? await onnxForPeer(python, flags.peer, resolved) : null;
    const ortRuns = new Map<string, number[]>();
    for (let rep = 0; rep < flags.reps; rep++) {
      // Interleave vit-ts and the peers so drifts of the machine's speed hit them alike.
      runs.push(vitBench(config, batch));
      if (onnx)
        for (const peer of ortPeers) {
          if ('missing' in peer) continue;
          const rate = await ortInference(peer.ort, onnx.path, batch, resolved);
          ortRuns.set(peer.label, [...(ortRuns.get(peer.label) ?? []), rate]);
        }
      if (python) {
        for (const threads of [1, 2])
          for (const fused of [false, true]) {
            const key = `${threads} thread${threads > 1 ? 's' : ''}${fused ? ', fused qkv' : ''}`;
            const r = torchBench(python, flags.peer, { threads, fused, batch, config, steps: name === 'seed' ? 10 : 3 });
            const entry = torchRuns.get(key) ?? { train: [], infer: [] };
            entry.train.push(r.train_img_s ?? 0);
            entry.infer.push(r.infer_img_s ?? 0);
            torchRuns.set(key, entry);
          }
      }
    }
    onnx?.cleanup();
    const train = median(runs.map((r) => r.train_img_s));
    const infer = median(runs.map((r) => r.infer_img_s));
    const gf = (imgs: number, r: BenchResult, kind: 'train' | 'infer'): number =>
      imgs * (kind === 'train' ? r.train_gflop_s / r.train_img_s : r.infer_gflop_s / r.infer_img_s);
    say();
    say(`## ${name} config, ${runs[0]!.threads} threads${runs[0]!.relaxed_simd ? ', relaxed SIMD' : ''}`);
    say('| what | vit-ts images/s | GFLOP/s | of peak | peer | peer images/s | vit-ts / peer |');
    say('| --- | ---: | ---: | ---: | --- | ---: | ---: |');
    const pct = (g: number): string => (peak ? `${((100 * g) / peak).toFixed(0)}%` : '—');
    let bestTorch = { key: '', train: 0, infer: 0 };
    for (const [key, r] of torchRuns) {
      const t = median(r.train),
        i = median(r.infer);
      if (t > bestTorch.train) bestTorch = { key, train: t, infer: bestTorch.infer };
      if (i > bestTorch.infer) bestTorch.infer = i;
    }
    const trainG = gf(train, runs[0]!, 'train'),
      inferG = gf(infer, runs[0]!, 'infer');
    if (python) {
      say(
        `| training | ${train.toFixed(0)} | ${trainG.toFixed(1)} | ${pct(trainG)} | PyTorch (best: ${bestTorch.key}) | ${bestTorch.train.toFixed(0)} | ${(train / bestTorch.train).toFixed(2)}× |`,
      );
      say(
        `| inference | ${infer.toFixed(0)} | ${inferG.toFixed(1)} | ${pct(inferG)} | PyTorch, best | ${bestTorch.infer.toFixed(0)} | ${(infer / bestTorch.infer).toFixed(2)}× |`,
      );
    } else {
      say(`| training | ${train.toFixed(0)} | ${trainG.toFixed(1)} | ${pct(trainG)} | — | — | — |`);
      say(`| inference | ${infer.toFixed(0)} | ${inferG.toFixed(1)} | ${pct(inferG)} | — | — | — |`);
    }
    if (name === 'seed') {
      for (const [label, rates] of ortRuns) {
        const o = median(rates);
        say(
          `| inference | ${infer.toFixed(0)} | ${inferG.toFixed(1)} | ${pct(inferG)} | ${label}, ${onnx?.source} | ${o.toFixed(0)} | ${(infer / o).toFixed(2)}× |`,
        );
      }
      if (python) {
        say();
        say(
          'PyTorch runs (median images/s, train / infer): ' +
            [...torchRuns].map(([k, r]) => `${k}: ${median(r.train).toFixed(0)} / ${median(r.infer).toFixed(0)}`).join('; '),
        );
      }
    }
  }

  if (flags.memory) {
    say();
    say('## peak memory (RSS) of one training epoch on the full CIFAR-10, seed config');
    const out = mkdtempSync(join(tmpdir(), 'vit-mem-'));
    const ours = peakRssMiB(process.execPath, [cli, 'train', '--exp-name', 'memory', '--out', out, '--epochs', '1', '--data', flags.data]);
    const theirs = python ? peakRssMiB(python, [flags.peer, 'train', '--data', flags.data, '--epochs', '1']) : null;
    rmSync(out, { recursive: true, force: true });
    if (ours) say(`vit-ts: ${ours.mib.toFixed(0)} MiB${ours.status ? ` (exit ${ours.status})` : ''}`);
    if (theirs) say(`PyTorch: ${theirs.mib.toFixed(0)} MiB${theirs.status ? ` (exit ${theirs.status})` : ''}`);
    if (ours && theirs) say(`vit-ts / PyTorch: ${(ours.mib / theirs.mib).toFixed(2)}`);
  }
  const report = join(root, 'bench-report.md');
  writeFileSync(report, lines.join('\n') + '\n');
  process.stdout.write(`\n(written to ${report})\n`);
}

/** The seed model as ONNX: PyTorch's own export when torch is here, else vit-ts's exporter. */
async function onnxForPeer(
  python: string | null,
  script: string,
  config: ViTConfig,
): Promise<{ path: string; source: string; cleanup(): void } | null> {
  if (python) {
    const t = torchOnnx(python, script, config);
    if (t) return { ...t, source: 'PyTorch export' };
  }
  const engine = await WasmEngine.create({ threads: 1 });
  try {
    const model = await ViTForClassification.create(config, { engine });
    const dir = mkdtempSync(join(tmpdir(), 'vit-onnx-'));
    const path = join(dir, 'model.onnx');
    writeFileSync(path, exportOnnx(await model.stateDict(), config));
    return { path, source: 'vit-ts export', cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } finally {
    engine.close();
  }
}

await main();
