// `vit plot` over several runs: test accuracy against epochs or wall-clock minutes, vit-ts experiments
// (new metrics with epochs not evaluated, old ones without elapsed_seconds) beside a PyTorch log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { sampleDataDir } from '../src/data/location.js';
import { UserError } from '../src/errors.js';
import { parsePytorchLog } from '../src/io/pytorch-log.js';
import { train } from '../src/train/experiment-folder.js';
import { parseMetrics } from '../src/train/metrics.js';
import { accuracyRows, accuracyRunsSpec, runFromMetrics } from '../src/viz/accuracy-runs.js';
import { CLI, TINY_CONFIG, trainingSandbox } from './helpers.js';

const sandbox = trainingSandbox('vit-plot-runs-');

function vit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: sandbox.root,
    env: { ...process.env, VIT_THREADS: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Evaluated every other epoch, as --eval-every 2 writes it. */
const EVERY_OTHER = {
  train_losses: [2.1, 1.9, 1.8, 1.7],
  test_losses: [null, 1.85, null, 1.6],
  accuracies: [null, 0.31, null, 0.42],
  epoch_seconds: [50, 55, 50, 60],
  elapsed_seconds: [60, 120, 175, 240],
  evaluated_on: 'test',
};
/** From before elapsed_seconds: the time axis is the running sum of epoch_seconds. */
const OLD = {
  train_losses: [2.0, 1.8, 1.7],
  test_losses: [1.9, 1.7, 1.65],
  accuracies: [0.25, 0.38, 0.4],
  epoch_seconds: [30, 45, 90],
  evaluated_on: 'test',
};
/** tools/pytorch/peer.py train's lines (train_ddp.py adds "processes", which is ignored). */
const TORCH_LOG =
  [
    { epoch: 1, train_loss: 1.88, test_loss: 1.69, test_acc: 0.3875, elapsed_s: 90 },
    { epoch: 2, processes: 2, train_loss: 1.54, test_loss: 1.53, test_acc: 0.4522, elapsed_s: 183 },
  ]
    .map((line) => JSON.stringify(line))
    .join('\n') + '\n';

describe('vit plot over several runs', () => {
  it("draws each run's evaluated epochs only, at the wall time in minutes", () => {
    const runs = [
      runFromMetrics('every-other', parseMetrics(EVERY_OTHER, 'every-other/metrics.json'), 'every-other/metrics.json'),
      runFromMetrics('old', parseMetrics(OLD, 'old/metrics.json'), 'old/metrics.json'),
      { name: 'torch', points: parsePytorchLog(TORCH_LOG, 'torch.jsonl') },
    ];
    const expected = [
      { run: 'every-other', epoch: 2, minutes: 2, accuracy: 0.31 },
      { run: 'every-other', epoch: 4, minutes: 4, accuracy: 0.42 },
      { run: 'old', epoch: 1, minutes: 0.5, accuracy: 0.25 },
      { run: 'old', epoch: 2, minutes: 1.25, accuracy: 0.38 },
      { run: 'old', epoch: 3, minutes: 2.75, accuracy: 0.4 },
      { run: 'torch', epoch: 1, minutes: 1.5, accuracy: 0.3875 },
      { run: 'torch', epoch: 2, minutes: 3.05, accuracy: 0.4522 },
    ];
    const rows = accuracyRows(runs);
    assert.equal(rows.length, expected.length);
    rows.forEach((row, i) => {
      const want = expected[i]!;
      assert.deepEqual({ ...row, minutes: 0 }, { ...want, minutes: 0 }, `row ${i}`);
      assert.ok(Math.abs(row.minutes - want.minutes) < 1e-12, `row ${i}: ${row.minutes} minutes, expected ${want.minutes}`);
    });
    for (const x of ['time', 'epoch'] as const) {
      const spec = accuracyRunsSpec(runs, x) as unknown as { data: { values: unknown[] }; encoding: { x: { field: string } } };
      assert.deepEqual(spec.data.values, rows);
      assert.equal(spec.encoding.x.field, x === 'time' ? 'minutes' : 'epoch');
    }
  });

  it('--x time writes one figure of two trained runs and a PyTorch log, one line of points per run', async () => {
    for (const [expName, epochs] of [
      ['two', 2],
      ['three', 3],
    ] as const) {
      await train({
        expName,
        outDir: sandbox.root,
        dataDir: sampleDataDir(),
        config: TINY_CONFIG,
        engine: sandbox.engine,
        epochs,
        batchSize: 50,
        lr: 3e-3,
        trainSamples: 200,
        testSamples: 100,
      });
    }
    const three = parseMetrics(JSON.parse(readFileSync(join(sandbox.root, 'three', 'metrics.json'), 'utf8')), 'three');
    // Wall time since the start: never less than the epochs' own time, and growing.
    let sum = 0;
    three.elapsed_seconds.forEach((elapsed, i) => {
      sum += three.epoch_seconds[i]!;
      assert.ok(
        elapsed >= sum - 1e-9 && (i === 0 || elapsed > three.elapsed_seconds[i - 1]!),
        `elapsed_seconds ${three.elapsed_seconds.join(', ')}`,
      );
    });
    mkdirSync(join(sandbox.root, 'every-other'));
    writeFileSync(join(sandbox.root, 'every-other', 'metrics.json'), JSON.stringify(EVERY_OTHER));
    writeFileSync(join(sandbox.root, 'seed_torch.jsonl'), TORCH_LOG);

    const svgRun = vit('plot', 'two', 'three', 'every-other', 'seed_torch.jsonl', '--x', 'time', '--out', 'runs.svg');
    assert.equal(svgRun.status, 0, svgRun.stderr);
    assert.equal(svgRun.stdout, 'wrote runs.svg\n');
    const svg = readFileSync(join(sandbox.root, 'runs.svg'), 'utf8');
    for (const text of [
      'Test accuracy by wall-clock time',
      'Wall-clock minutes',
      'Test accuracy',
      'two',
      'three',
      'every-other',
      'seed_torch',
    ]) {
      assert.ok(svg.includes(`>${text}</text>`), `missing text "${text}"`);
    }
    // Each drawn point is a symbol whose label names its run: epochs not evaluated are not drawn.
    const points = (run: string): number =>
      svg.match(new RegExp(`aria-label="[^"]*; run: ${run}; [^"]*" role="graphics-symbol" aria-roledescription="point"`, 'g'))?.length ?? 0;
    assert.deepEqual([points('two'), points('three'), points('every-other'), points('seed_torch')], [2, 3, 2, 2]);

    // The default file, a PNG in the current folder.
    const pngRun = vit('plot', 'two', 'three', 'seed_torch.jsonl', '--x', 'time');
    assert.equal(pngRun.status, 0, pngRun.stderr);
    const meta = await sharp(join(sandbox.root, 'accuracy-by-time.png')).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 1000 && meta.height! > 600, `${meta.width}×${meta.height}`);
  });

  it('refuses bad input in one line naming the file, and writes nothing', () => {
    mkdirSync(join(sandbox.root, 'no-accuracies'));
    const { accuracies: _, ...withoutAccuracies } = OLD;
    writeFileSync(join(sandbox.root, 'no-accuracies', 'metrics.json'), JSON.stringify(withoutAccuracies));
    mkdirSync(join(sandbox.root, 'good'));
    writeFileSync(join(sandbox.root, 'good', 'metrics.json'), JSON.stringify(OLD));
    writeFileSync(join(sandbox.root, 'bad.jsonl'), TORCH_LOG + '{"epoch": 3, "test_acc": 0.47\n');
    writeFileSync(join(sandbox.root, 'percent.jsonl'), '{"epoch": 1, "test_acc": 38.75, "elapsed_s": 90}\n');
    const cases: [string[], RegExp][] = [
      [['good', 'missing-run'], /^vit: missing-run: no such folder or file; expected a training experiment's folder/],
      [['good', 'no-accuracies'], /^vit: no-accuracies[/\\]metrics\.json: metrics "accuracies" must be a list of numbers/],
      [['good', 'bad.jsonl'], /^vit: bad\.jsonl: line 3: not a JSON line$/m],
      [['percent.jsonl', 'good'], /^vit: percent\.jsonl: line 1: "test_acc" is 38\.75; expected a fraction in \[0, 1\]$/m],
      [['good', 'bad.jsonl', '--x', 'minutes'], /^vit: option '--x <axis>' argument 'minutes' is invalid/],
    ];
    for (const [args, message] of cases) {
      const result = vit('plot', ...args, '--x', 'time', '--out', 'bad.png');
      assert.equal(result.status, 1, args.join(' '));
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(existsSync(join(sandbox.root, 'bad.png')), false);
    }
    assert.throws(
      () => parsePytorchLog('\n\n', 'empty.jsonl'),
      (e: unknown) => e instanceof UserError && e.message.startsWith('empty.jsonl: no epochs'),
    );
  });
});
