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

/** The report's lines, printed as they come. */
type Say = (line?: string) => void;

/** One configuration's measurements, each repeated: vit-ts, PyTorch by setting, ONNX Runtime by build (images/s). */
interface Measured {
  runs: BenchResult[];
  torchRuns: Map<string, { train: number[]; infer: number[] }>;
  ortRuns: Map<string, number[]>;
  onnxSource: string | undefined;
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
  const lines: string[] = [];
  const say: Say = (s = '') => {
    lines.push(s);
    process.stdout.write(s + '\n');
  };

  say(
    `# vit-ts benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`,
  );
  say(`batch ${flags.batchSize}, medians of ${flags.reps} runs; GFLOP/s counts the matrix products (training ≈ 3 × forward)`);
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
    const measured = await measure(name === 'seed', config, flags, python, name === 'seed' ? ortPeers : []);
    report(say, name, measured, peak, python !== null);
  }
  if (flags.memory) compareMemory(say, python, flags);
  const written = join(root, 'bench-report.md');
  writeFileSync(written, lines.join('\n') + '\n');
  process.stdout.write(`\n(written to ${written})\n`);
}

/** Each measurement of `config` `flags.reps` times, vit-ts and its peers interleaved so that drifts of the machine's speed hit them alike. */
async function measure(
  seed: boolean,
  config: Partial<ViTConfig>,
  flags: Flags,
  python: string | null,
  ortPeers: OrtPeer[],
): Promise<Measured> {
  const resolved = resolveConfig(config as Record<string, unknown>);
  const measured: Measured = { runs: [], torchRuns: new Map(), ortRuns: new Map(), onnxSource: undefined };
  const onnx = ortPeers.length > 0 ? await onnxForPeer(python, flags.peer, resolved) : null;
  measured.onnxSource = onnx?.source;
  try {
    for (let rep = 0; rep < flags.reps; rep++) {
      measured.runs.push(vitBench(config, flags.batchSize));
      if (onnx)
        for (const peer of ortPeers) {
          if ('missing' in peer) continue;
          const rate = await ortInference(peer.ort, onnx.path, flags.batchSize, resolved);
          measured.ortRuns.set(peer.label, [...(measured.ortRuns.get(peer.label) ?? []), rate]);
        }
      if (!python) continue;
      for (const threads of [1, 2])
        for (const fused of [false, true]) {
          const key = `${threads} thread${threads > 1 ? 's' : ''}${fused ? ', fused qkv' : ''}`;
          const r = torchBench(python, flags.peer, { threads, fused, batch: flags.batchSize, config, steps: seed ? 10 : 3 });
          const entry = measured.torchRuns.get(key) ?? { train: [], infer: [] };
          entry.train.push(r.train_img_s ?? 0);
          entry.infer.push(r.infer_img_s ?? 0);
          measured.torchRuns.set(key, entry);
        }
    }
  } finally {
    onnx?.cleanup();
  }
  return measured;
}

/** One configuration's table: vit-ts's medians against PyTorch's best setting and each ONNX Runtime build. */
function report(say: Say, name: string, { runs, torchRuns, ortRuns, onnxSource }: Measured, peak: number | null, withTorch: boolean): void {
  const train = median(runs.map((r) => r.train_img_s));
  const infer = median(runs.map((r) => r.infer_img_s));
  const first = runs[0]!;
  const trainG = (train * first.train_gflop_s) / first.train_img_s;
  const inferG = (infer * first.infer_gflop_s) / first.infer_img_s;
  const pct = (g: number): string => (peak ? `${((100 * g) / peak).toFixed(0)}%` : '—');
  const ours = (images: number, gflops: number): string => `${images.toFixed(0)} | ${gflops.toFixed(1)} | ${pct(gflops)}`;
  say();
  say(`## ${name} config, ${first.threads} threads${first.relaxed_simd ? ', relaxed SIMD' : ''}`);
  say('| what | vit-ts images/s | GFLOP/s | of peak | peer | peer images/s | vit-ts / peer |');
  say('| --- | ---: | ---: | ---: | --- | ---: | ---: |');
  if (withTorch) {
    // The best PyTorch setting for training, and the best one for inference, each on its own.
    let best = { key: '', train: 0, infer: 0 };
    for (const [key, r] of torchRuns) {
      const [t, i] = [median(r.train), median(r.infer)];
      if (t > best.train) best = { key, train: t, infer: best.infer };
      if (i > best.infer) best.infer = i;
    }
    say(
      `| training | ${ours(train, trainG)} | PyTorch (best: ${best.key}) | ${best.train.toFixed(0)} | ${(train / best.train).toFixed(2)}× |`,
    );
    say(`| inference | ${ours(infer, inferG)} | PyTorch, best | ${best.infer.toFixed(0)} | ${(infer / best.infer).toFixed(2)}× |`);
  } else {
    say(`| training | ${ours(train, trainG)} | — | — | — |`);
    say(`| inference | ${ours(infer, inferG)} | — | — | — |`);
  }
  for (const [label, rates] of ortRuns) {
    const o = median(rates);
    say(`| inference | ${ours(infer, inferG)} | ${label}, ${onnxSource} | ${o.toFixed(0)} | ${(infer / o).toFixed(2)}× |`);
  }
  if (withTorch) {
    say();
    say(
      'PyTorch runs (median images/s, train / infer): ' +
        [...torchRuns].map(([k, r]) => `${k}: ${median(r.train).toFixed(0)} / ${median(r.infer).toFixed(0)}`).join('; '),
    );
  }
}

/** The peak memory (RSS) of one training epoch on the full CIFAR-10, vit-ts against PyTorch. */
function compareMemory(say: Say, python: string | null, flags: Flags): void {
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
