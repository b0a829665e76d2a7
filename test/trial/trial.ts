/**
 * `npm run trial`: a hostile user's session with `vit`, as one table (case → exit code → first
 * line → verdict): bad flags, edited and truncated files, special files as inputs and outputs,
 * read-only and full disks (tmpfs mounts where this user may mount), kill -9 mid-run and resume.
 * A case fails on a stack trace, a hang, an exit status other than the one expected (a wrong exit
 * 0 above all), more than one line for an error, or any write outside the case's target. Not part
 * of `npm test` (it takes a few minutes); the exit status is 1 when any case fails.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../../data/cifar10-sample', import.meta.url));
const MODEL = join(FIXTURES, 'seed');
const TINY = JSON.stringify({ hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, patch_size: 8 });
/** A case still running after this long is a hang. */
const HANG_MS = 90_000;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

interface Row {
  name: string;
  status: string;
  first: string;
  verdict: string;
}

const root = mkdtempSync(join(tmpdir(), 'vit-trial-'));
const rows: Row[] = [];
const mounts: string[] = [];

/** Runs `vit args` in `cwd`; `killWhen` (polled) sends SIGKILL once true. */
function vit(args: string[], cwd: string, killWhen?: () => boolean): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, VIT_THREADS: '2', HOME: join(root, 'home') } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, HANG_MS);
    const poll = killWhen
      ? setInterval(() => {
          if (killWhen()) child.kill('SIGKILL');
        }, 20)
      : undefined;
    child.on('close', (status) => {
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      done({ status, stdout, stderr, hung });
    });
  });
}

/** Every path under `dir` with a fingerprint of what it is (type, size, content hash for files). */
function snapshot(dir: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (path: string): void => {
    const stats = lstatSync(path);
    const key = relative(dir, path) || '.';
    if (stats.isDirectory()) {
      seen.set(key, 'dir');
      for (const name of readdirSync(path)) walk(join(path, name));
    } else if (stats.isFile()) {
      seen.set(key, `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
    } else {
      seen.set(key, `special ${stats.mode}`);
    }
  };
  walk(dir);
  return seen;
}

/** Paths added, removed or changed between two snapshots, except those under `targets`. */
function writesOutside(before: Map<string, string>, after: Map<string, string>, targets: string[]): string[] {
  const inTarget = (path: string): boolean => targets.some((t) => path === t || path.startsWith(`${t}/`));
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p));
  return changed.filter((p) => !inTarget(p));
}

interface Case {
  name: string;
  args: string[];
  /** The exit status a correct `vit` gives. */
  expect: 0 | 1;
  /** Paths (relative to the case's folder) the command may write. */
  targets?: string[];
  /** Prepares the case's folder. */
  setup?: (dir: string) => void;
  /** Further checks after the run; a string is a failure. */
  check?: (dir: string, outcome: Outcome) => string | null;
}

async function runCase(c: Case): Promise<void> {
  const dir = join(root, `case-${rows.length + 1}`);
  mkdirSync(dir);
  let outcome: Outcome;
  let verdict: string;
  try {
    c.setup?.(dir);
    const before = snapshot(dir);
    outcome = await vit(c.args, dir);
    const outside = writesOutside(before, snapshot(dir), c.targets ?? []);
    const problems = [
      outcome.hung ? `hung (killed after ${HANG_MS / 1000} s)` : null,
      /internal error|\n\s+at |Error: .*\n.*node:/.test(outcome.stderr) ? 'stack trace' : null,
      !outcome.hung && outcome.status !== c.expect
        ? outcome.status === 0
          ? 'wrong exit 0'
          : `exit ${outcome.status}, expected ${c.expect}`
        : null,
      c.expect === 1 && outcome.status === 1 && outcome.stderr.trimEnd().split('\n').length !== 1 ? 'more than one line' : null,
      outside.length > 0 ? `wrote outside the target: ${outside.slice(0, 3).join(', ')}` : null,
      c.check?.(dir, outcome) ?? null,
    ].filter((p) => p !== null);
    verdict = problems.length === 0 ? 'ok' : `FAIL: ${problems.join('; ')}`;
  } catch (error) {
    outcome = { status: null, stdout: '', stderr: '', hung: false };
    verdict = `FAIL: the case could not run (${error instanceof Error ? error.message : String(error)})`;
  }
  const first = (outcome.status === 0 ? outcome.stdout : outcome.stderr || outcome.stdout).split('\n')[0] ?? '';
  const row = { name: c.name, status: outcome.hung ? 'hang' : String(outcome.status), first, verdict };
  rows.push(row);
  process.stderr.write(`${rows.length}. ${row.name}: ${row.status} ${row.verdict}\n`);
}

/** A tmpfs of `size` mounted at `path` (read-only with `ro`), or false where this user may not mount. */
function mountTmpfs(path: string, size: string, ro = false): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `${ro ? 'ro,' : ''}size=${size}`, 'tmpfs', path], { stdio: 'ignore' });
    mounts.push(path);
    return true;
  } catch {
    return false;
  }
}

function copySample(dir: string, name = 'data'): string {
  const data = join(dir, name);
  cpSync(SAMPLE, data, { recursive: true });
  return data;
}

function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

const TRAIN = ['train', '--exp-name', 'x', '--sample', '--epochs', '1', '--config', TINY, '--train-samples', '200', '--test-samples', '50'];

function cases(canMount: boolean): Case[] {
  const list: Case[] = [
    // Bad flags
    { name: 'unknown flag', args: ['train', '--bogus'], expect: 1 },
    { name: 'unknown command', args: ['data', 'cifar100'], expect: 1 },
    { name: '--epochs 0', args: ['train', '--exp-name', 'x', '--sample', '--epochs', '0'], expect: 1 },
    { name: '--epochs 1e99', args: ['train', '--exp-name', 'x', '--sample', '--epochs', '1e99'], expect: 1 },
    { name: '--lr NaN', args: ['train', '--exp-name', 'x', '--sample', '--lr', 'NaN'], expect: 1 },
    { name: '--lr 0x10', args: ['train', '--exp-name', 'x', '--sample', '--lr', '0x10'], expect: 1 },
    { name: '--batch-size 0', args: ['train', '--exp-name', 'x', '--sample', '--batch-size', '0'], expect: 1 },
    { name: '--keep-tokens -0.1', args: ['train', '--exp-name', 'x', '--sample', '--keep-tokens', '-0.1'], expect: 1 },
    { name: '--time-budget 0m', args: ['train', '--exp-name', 'x', '--sample', '--time-budget', '0m'], expect: 1 },
    {
      name: '--epochs with --time-budget',
      args: ['train', '--exp-name', 'x', '--sample', '--epochs', '3', '--time-budget', '1m'],
      expect: 1,
    },
    { name: '--exp-name with a slash', args: ['train', '--exp-name', '../escape', '--sample', '--epochs', '1'], expect: 1 },
    { name: "--config '[1,2]'", args: ['bench', '--config', '[1,2]'], expect: 1 },
    { name: '--config negative size', args: ['bench', '--config', '{"hidden_size":-1}'], expect: 1 },
    { name: '--config a million layers', args: ['bench', '--config', '{"num_hidden_layers":1000000}', '--steps', '1'], expect: 1 },
    { name: '--config missing file', args: ['bench', '--config', 'nope.json'], expect: 1 },
    { name: 'eval without --model', args: ['eval'], expect: 1 },
    { name: 'predict without images', args: ['predict', '--model', MODEL], expect: 1 },
    { name: 'export two targets', args: ['export', '--model', MODEL, '--onnx', 'a.onnx', '--hf', 'b'], expect: 1 },
    { name: 'plot a missing folder', args: ['plot', 'nowhere'], expect: 1 },
    { name: '--top-k 0', args: ['predict', '--model', MODEL, '--top-k', '0', 'x.png'], expect: 1 },
    // Edited and truncated files
    {
      name: 'truncated test_batch.bin',
      args: ['eval', '--model', MODEL, '--data', 'data'],
      expect: 1,
      setup: (d) => {
        truncateSync(join(copySample(d), 'test_batch.bin'), 5000);
      },
    },
    {
      name: 'batches.meta.txt with 2 names',
      args: ['eval', '--model', MODEL, '--data', 'data'],
      expect: 1,
      setup: (d) => {
        writeFileSync(join(copySample(d), 'batches.meta.txt'), 'cat\ndog\n');
      },
    },
    {
      name: 'empty batches.meta.txt',
      args: ['eval', '--model', MODEL, '--data', 'data'],
      expect: 1,
      setup: (d) => {
        writeFileSync(join(copySample(d), 'batches.meta.txt'), '');
      },
    },
    {
      name: 'truncated model file',
      args: ['eval', '--model', 'm.safetensors', '--sample'],
      expect: 1,
      setup: (d) => {
        writeFileSync(join(d, 'm.safetensors'), readFileSync(join(MODEL, 'weights.safetensors')).subarray(0, 3000));
      },
    },
    {
      name: 'model header claiming 1 TB',
      args: ['eval', '--model', 'm.safetensors', '--sample'],
      expect: 1,
      setup: (d) => {
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(2n ** 40n);
        writeFileSync(join(d, 'm.safetensors'), b);
      },
    },
    {
      name: 'model config.json of a million layers',
      args: ['eval', '--model', 'm', '--sample'],
      expect: 1,
      setup: (d) => {
        mkdirSync(join(d, 'm'));
        cpSync(join(MODEL, 'weights.safetensors'), join(d, 'm', 'model.safetensors'));
        writeFileSync(join(d, 'm', 'config.json'), '{"num_hidden_layers":1000000}');
      },
    },
    {
      name: 'model config.json not JSON',
      args: ['eval', '--model', 'm', '--sample'],
      expect: 1,
      setup: (d) => {
        mkdirSync(join(d, 'm'));
        cpSync(join(MODEL, 'weights.safetensors'), join(d, 'm', 'model.safetensors'));
        writeFileSync(join(d, 'm', 'config.json'), '{"hidden_size":');
      },
    },
    {
      name: 'metrics.json edited',
      args: ['plot', 'exp'],
      expect: 1,
      setup: (d) => {
        mkdirSync(join(d, 'exp'));
        writeFileSync(join(d, 'exp', 'metrics.json'), '{"train_losses":[1],"test_losses":[1],"accuracies":["x"]}');
      },
    },
    { name: 'plot a model file', args: ['plot', join(MODEL, 'weights.safetensors')], expect: 1 },
    {
      name: 'predict an image that is text',
      args: ['predict', '--model', MODEL, 'bad.png'],
      expect: 1,
      setup: (d) => {
        writeFileSync(join(d, 'bad.png'), 'not an image');
      },
    },
    {
      name: 'resume a corrupted checkpoint',
      args: ['train', '--resume', 'exp'],
      expect: 1,
      setup: (d) => {
        mkdirSync(join(d, 'exp'));
        writeFileSync(join(d, 'exp', 'checkpoint.safetensors'), 'garbage');
      },
    },
    // Special files
    {
      name: 'export --onnx FIFO',
      args: ['export', '--model', MODEL, '--onnx', 'out.onnx'],
      expect: 1,
      setup: (d) => mkfifo(join(d, 'out.onnx')),
      check: (d) => (lstatSync(join(d, 'out.onnx')).isFIFO() ? null : 'the FIFO was replaced'),
    },
    {
      name: 'export --safetensors FIFO',
      args: ['export', '--model', MODEL, '--safetensors', 'out.safetensors'],
      expect: 1,
      setup: (d) => mkfifo(join(d, 'out.safetensors')),
    },
    {
      name: 'plot --out FIFO',
      args: ['plot', 'exp', '--out', 'fig.png'],
      expect: 1,
      setup: (d) => {
        mkfifo(join(d, 'fig.png'));
        mkdirSync(join(d, 'exp'));
        writeFileSync(join(d, 'exp', 'metrics.json'), '{"train_losses":[1,0.5],"test_losses":[1,0.6],"accuracies":[0.2,0.3]}');
      },
    },
    {
      name: 'attention --out FIFO',
      args: ['attention', '--model', MODEL, '--sample', '--n', '1', '--out', 'att.png'],
      expect: 1,
      setup: (d) => mkfifo(join(d, 'att.png')),
    },
    {
      name: 'export --onnx a device node',
      args: ['export', '--model', MODEL, '--onnx', 'null.onnx'],
      expect: 1,
      setup: (d) => {
        try {
          execFileSync('mknod', [join(d, 'null.onnx'), 'c', '1', '3'], { stdio: 'ignore' });
        } catch {
          mkfifo(join(d, 'null.onnx'));
        }
      },
    },
    {
      name: 'export --onnx a folder',
      args: ['export', '--model', MODEL, '--onnx', 'dir.onnx'],
      expect: 1,
      setup: (d) => mkdirSync(join(d, 'dir.onnx')),
    },
    {
      name: 'test_batch.bin a FIFO',
      args: ['eval', '--model', MODEL, '--data', 'data'],
      expect: 1,
      setup: (d) => {
        const data = copySample(d);
        rmSync(join(data, 'test_batch.bin'));
        mkfifo(join(data, 'test_batch.bin'));
      },
    },
    { name: 'predict a FIFO', args: ['predict', '--model', MODEL, 'pipe.png'], expect: 1, setup: (d) => mkfifo(join(d, 'pipe.png')) },
    { name: '--model /dev/null', args: ['eval', '--model', '/dev/null', '--sample'], expect: 1 },
    { name: '--out a file', args: [...TRAIN, '--out', 'afile'], expect: 1, setup: (d) => writeFileSync(join(d, 'afile'), 'x') },
  ];
  if (canMount) {
    list.push(
      {
        name: 'train --out a read-only mount',
        args: [...TRAIN, '--out', 'ro'],
        expect: 1,
        setup: (d) => {
          if (!mountTmpfs(join(d, 'ro'), '1m', true)) throw new Error('mount failed');
        },
      },
      {
        name: 'export --onnx onto a full disk',
        args: ['export', '--model', MODEL, '--onnx', 'full/m.onnx'],
        expect: 1,
        targets: ['full'],
        setup: (d) => {
          if (!mountTmpfs(join(d, 'full'), '64k')) throw new Error('mount failed');
        },
        check: (d) => (readdirSync(join(d, 'full')).length === 0 ? null : `left ${readdirSync(join(d, 'full')).join(', ')}`),
      },
      {
        name: 'train onto a full disk',
        args: [...TRAIN, '--out', 'full'],
        expect: 1,
        targets: ['full'],
        setup: (d) => {
          if (!mountTmpfs(join(d, 'full'), '128k')) throw new Error('mount failed');
        },
        check: (d) => (readdirSync(join(d, 'full')).length === 0 ? null : `left ${readdirSync(join(d, 'full')).join(', ')}`),
      },
    );
  }
  return list;
}

/** kill -9 then resume: the resumed run's metrics equal an uninterrupted run's. */
async function killAndResume(): Promise<void> {
  const dir = join(root, 'kill-resume');
  mkdirSync(dir);
  const args = ['train', '--sample', '--epochs', '3', '--config', TINY, '--train-samples', '200', '--test-samples', '50', '--out', dir];
  const reference = await vit([...args, '--exp-name', 'whole'], dir);
  const killed = await vit([...args, '--exp-name', 'killed'], dir, () => existsSync(join(dir, 'killed', 'checkpoint.safetensors')));
  const resumed = await vit(['train', '--resume', join(dir, 'killed')], dir);
  const losses = (name: string): string => {
    try {
      return JSON.stringify((JSON.parse(readFileSync(join(dir, name, 'metrics.json'), 'utf8')) as { train_losses: number[] }).train_losses);
    } catch {
      return 'none';
    }
  };
  const same = reference.status === 0 && resumed.status === 0 && losses('whole') === losses('killed') && losses('whole') !== 'none';
  rows.push({
    name: 'kill -9 after a checkpoint, then --resume',
    status: `${killed.status ?? 'killed'} → ${resumed.status}`,
    first: resumed.stdout.split('\n')[0] ?? '',
    verdict: same ? 'ok (train losses equal to an uninterrupted run)' : `FAIL: losses ${losses('killed')} against ${losses('whole')}`,
  });
  // A budget already spent, on resume: refused, nothing changed.
  const spent = await vit(['train', '--resume', join(dir, 'killed'), '--time-budget', '0.01s'], dir);
  const ok = spent.status === 1 && spent.stderr.split('\n').length === 2 && /already spent/.test(spent.stderr);
  rows.push({
    name: 'resume with a budget already spent',
    status: String(spent.status),
    first: spent.stderr.split('\n')[0] ?? '',
    verdict: ok ? 'ok' : 'FAIL',
  });
}

function printTable(): void {
  const escape = (text: string): string => text.replace(/\|/g, '\\|').slice(0, 160);
  process.stdout.write('| case | exit | first line | verdict |\n| --- | ---: | --- | --- |\n');
  for (const r of rows) process.stdout.write(`| ${escape(r.name)} | ${r.status} | ${escape(r.first)} | ${escape(r.verdict)} |\n`);
}

async function main(): Promise<void> {
  mkdirSync(join(root, 'home'));
  const probe = join(root, 'mount-probe');
  const canMount = mountTmpfs(probe, '64k');
  try {
    for (const c of cases(canMount)) await runCase(c);
    await killAndResume();
  } finally {
    for (const path of mounts.reverse()) {
      try {
        execFileSync('umount', [path], { stdio: 'ignore' });
      } catch {
        process.stderr.write(`could not unmount ${path}\n`);
      }
    }
  }
  printTable();
  const failed = rows.filter((r) => r.verdict.startsWith('FAIL'));
  process.stdout.write(
    `\n${rows.length} cases, ${failed.length} failed; read-only and full disks ${canMount ? 'on tmpfs mounts' : 'not tried (this user may not mount)'}.\n`,
  );
  rmSync(root, { recursive: true, force: true });
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
