// The published package: `npm pack` ships what users run and nothing else, and the tarball installs offline
// into an empty project where the CLI (as `vit` and `vit-ts`), the library and its type declarations work.
// The install is `npm ci --offline` against a lockfile made from this repository's: every dependency then
// comes from npm's cache by its integrity, which `npm ci` here filled, so no network is needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { CLI, fixturesDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  bin: Record<string, string>;
  engines: Record<string, string>;
};

interface Packed {
  filename: string;
  integrity: string;
  files: { path: string }[];
}
interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

let dir: string;
let project: string;
let packed: Packed;

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, VIT_THREADS: '1' }, maxBuffer: 1 << 26 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}${r.error ? String(r.error) : ''}`);
  return r.stdout;
}

/** An empty project depending on the tarball, with a lockfile holding this repository's runtime dependencies. */
function writeProject(tarball: string): void {
  const spec = `file:../${tarball}`;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [manifest.name]: spec } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: spec,
      integrity: packed.integrity,
      dependencies: manifest.dependencies,
      optionalDependencies: manifest.optionalDependencies,
      bin: manifest.bin,
      engines: manifest.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [manifest.name]: spec } }),
  );
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }));
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'vit-package-'));
  project = join(dir, 'project');
  mkdirSync(project);
  // dist/ is already built by `npm test`; --ignore-scripts keeps `prepare` from building it again.
  const out = ok(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT), 'npm pack');
  packed = (JSON.parse(out) as Packed[])[0]!;
  writeProject(packed.filename);
  ok(
    run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project),
    "npm ci --offline of the tarball (its dependencies come from npm's cache, which `npm ci` in this repository fills)",
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('npm pack ships the built code, kernels, page and sample, and no tests, sources or source maps', () => {
  const files = packed.files.map((f) => f.path);
  for (const needed of [
    'package.json',
    'README.md',
    'dist/src/cli/main.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/browser.js',
    'dist/src/browser.d.ts',
    'dist/wasm/kernels.wasm',
    'dist/wasm/kernels-relaxed.wasm',
    'dist/wasm/kernels-unshared.wasm',
    'dist/wasm/kernels-relaxed-unshared.wasm',
    'dist/app/index.html',
    'data/cifar10-sample/data_batch_1.bin',
    'data/cifar10-sample/test_batch.bin',
    'data/cifar10-sample/batches.meta.txt',
  ]) {
    assert.ok(files.includes(needed), `${needed} is missing from the tarball`);
  }
  const unwanted = files.filter((f) => /^(dist\/test|test|src|assembly|app|scripts|docs|\.ci)\//.test(f) || f.endsWith('.map'));
  assert.deepEqual(unwanted, []);
});

test('every module the shipped code imports is shipped, a Node built-in or a runtime dependency', () => {
  const files = new Set(packed.files.map((f) => f.path));
  // An optional dependency (webgpu) is imported only where the code says in one line that it could not load.
  const allowed = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.optionalDependencies ?? {}), ...builtinModules]);
  const problems: string[] = [];
  for (const file of files) {
    if (!file.startsWith('dist/src/') || !file.endsWith('.js')) continue;
    const code = readFileSync(join(ROOT, file), 'utf8');
    // `from '…'`, `import '…'` and `import('…')`, not a word ending in -from such as '--init-from'.
    for (const [, specifier] of code.matchAll(/(?:^|[\s};])(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/gm)) {
      if (specifier!.startsWith('.')) {
        const target = posix.join(posix.dirname(file), specifier!);
        if (!files.has(target)) problems.push(`${file} imports ${specifier}, which is not shipped`);
      } else {
        const bare = specifier!.replace(/^node:/, '');
        const name = bare.startsWith('@') ? bare.split('/').slice(0, 2).join('/') : bare.split('/')[0]!;
        // The package's own name appears in doc comments' examples.
        if (!allowed.has(name) && !allowed.has(bare) && name !== manifest.name)
          problems.push(`${file} imports ${specifier}, which is not a dependency`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the installed package runs as `vit` and as `vit-ts`', () => {
  const bin = join(project, 'node_modules', '.bin');
  const help = ok(run(join(bin, 'vit'), ['--help'], project), 'vit --help');
  assert.match(help, /^Usage: vit /);
  assert.match(help, /\btrain\b[\s\S]*\beval\b[\s\S]*\bpredict\b/);
  assert.equal(ok(run(join(bin, 'vit-ts'), ['--help'], project), 'vit-ts --help'), help);
});

test('vit-ts eval --sample and predict from the installed package print what the source tree prints', async () => {
  const bin = join(project, 'node_modules', '.bin', 'vit-ts');
  const model = join(fixturesDir, 'seed');
  const evalArgs = ['eval', '--model', model, '--sample', '--json', '--threads', '1'];
  const installed = JSON.parse(ok(run(bin, evalArgs, project), 'vit-ts eval --sample')) as { images: number };
  assert.equal(installed.images, 500);
  assert.deepEqual(installed, JSON.parse(ok(run(process.execPath, [CLI, ...evalArgs], ROOT), 'vit eval --sample (source tree)')));

  // A PNG through sharp, a native dependency the install had to bring for this platform.
  const image = join(dir, 'gradient.png');
  const pixels = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 7) % 256));
  await sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } })
    .png()
    .toFile(image);
  const predictArgs = ['predict', '--model', model, '--json', '--threads', '1', image];
  assert.equal(
    ok(run(bin, predictArgs, project), 'vit-ts predict'),
    ok(run(process.execPath, [CLI, ...predictArgs], ROOT), 'vit predict (source tree)'),
  );
});

test("the library exports the installed sample's folder (sampleDataDir), readable by readCifar10", () => {
  const script =
    "import { sampleDataDir, readCifar10 } from 'vit-ts'; const d = sampleDataDir(); " +
    "console.log(JSON.stringify({ dir: d, train: readCifar10(d, 'train').count, test: readCifar10(d, 'test').count }));";
  const got = JSON.parse(ok(run(process.execPath, ['--input-type=module', '-e', script], project), 'import vit-ts')) as {
    dir: string;
    train: number;
    test: number;
  };
  const sample = join(project, 'node_modules', 'vit-ts', 'data', 'cifar10-sample');
  assert.equal(realpathSync(got.dir), realpathSync(sample));
  // A CIFAR-10 record is a label byte and 3 × 32 × 32 pixel bytes.
  assert.equal(got.train, statSync(join(sample, 'data_batch_1.bin')).size / 3073);
  assert.equal(got.test, statSync(join(sample, 'test_batch.bin')).size / 3073);
});

test('the type declarations check in a Node project with lib ES2022 alone and no skipLibCheck', () => {
  const consumer = join(project, 'src');
  mkdirSync(consumer, { recursive: true });
  writeFileSync(
    join(consumer, 'main.ts'),
    [
      "import { loadModel, classify, train, sampleDataDir, readCifar10, type Engine, createEngine, WasmEngine, UserError } from 'vit-ts';",
      "import { ViTForClassification, parseSafetensors } from 'vit-ts/browser';",
      'const wasm: WasmEngine = await WasmEngine.create({ threads: 1 });',
      'const bytes: number = wasm.memory.buffer.byteLength;',
      "const engine: Engine = await createEngine({ backend: 'auto', threads: 1 });",
      "const model = await loadModel('model.safetensors', { engine });",
      "const top: { label: string; score: number }[] = await classify(model, 'cat.png');",
      "const result = await train({ expName: 'sample', dataDir: sampleDataDir(), epochs: 1 });",
      "console.log(bytes, top, result, readCifar10(sampleDataDir(), 'test').count, ViTForClassification, parseSafetensors, UserError);",
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022'],
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      include: ['src'],
    }),
  );
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = run(process.execPath, [tsc, '-p', project], project);
  assert.equal(r.status, 0, `tsc on a consumer of the installed package:\n${r.stdout}${r.stderr}`);
});
