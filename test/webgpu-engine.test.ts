// The WebGPU engine's own behaviour: writes, kernels and reads in the order they were recorded,
// memory that grows by a copy and keeps its contents, arguments in their own uniform slots, more
// dispatches than one submit holds, and clear errors.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { KERNEL_NAMES } from '../src/runtime/kernels.js';
import { GPU_KERNELS } from '../src/runtime/webgpu/kernels/index.js';
import { adapterName, isSoftwareAdapter } from '../src/runtime/webgpu/adapter.js';
import { WebGpuEngine } from '../src/runtime/webgpu/engine.js';
import { openTestEngine } from './webgpu-helpers.js';

const gpu = await openTestEngine();

test("every kernel of the set has a WGSL version taking the WebAssembly kernel's arguments", async () => {
  assert.deepEqual(Object.keys(GPU_KERNELS).sort(), [...KERNEL_NAMES].sort());
  // the arity of each compiled WebAssembly kernel, (tid, nt) first
  const bytes = await readFile(fileURLToPath(new URL('../wasm/kernels.wasm', import.meta.url)));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16384, shared: true });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  for (const name of KERNEL_NAMES) {
    const wasmKernel = instance.exports[name] as (...args: number[]) => unknown;
    assert.equal(
      GPU_KERNELS[name]!.args.length,
      wasmKernel.length - 2,
      `${name}: WGSL arguments ${GPU_KERNELS[name]!.args.map(([n]) => n).join(', ')}`,
    );
  }
});

test('adapters are told apart: software ones by their flag or name, names from what the info holds', () => {
  const adapter = (info: object | undefined, extra: object = {}): GPUAdapter => ({ info, ...extra }) as unknown as GPUAdapter;
  const hardware = adapter({ vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' });
  assert.equal(isSoftwareAdapter(hardware), false);
  assert.equal(adapterName(hardware), 'NVIDIA H200');
  const swiftshader = adapter({ vendor: 'google', architecture: 'swiftshader', device: '', description: '' });
  assert.equal(isSoftwareAdapter(swiftshader), true);
  assert.equal(adapterName(swiftshader), 'google swiftshader');
  assert.equal(
    isSoftwareAdapter(adapter({ vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.7, 256 bits)', description: '' })),
    true,
  );
  assert.equal(
    isSoftwareAdapter(adapter({ vendor: 'intel', architecture: 'gen-12lp', device: '', description: '', isFallbackAdapter: true })),
    true,
  );
  assert.equal(isSoftwareAdapter(adapter({ vendor: 'intel', architecture: 'gen-12lp', device: '', description: '' })), false);
  // a browser before adapter.info, with the older flag on the adapter
  assert.equal(isSoftwareAdapter(adapter(undefined, { isFallbackAdapter: true })), true);
  assert.equal(adapterName(adapter(undefined)), 'unnamed WebGPU adapter');
});

describe('WebGPU engine', { skip: gpu.skip }, () => {
  const engine = gpu.engine!;
  after(() => engine.close());

  test('names its adapter and says whether it is a software one', () => {
    assert.ok(engine.description.length > 0);
    // The tests run on SwiftShader unless a GPU is named by VK_ICD_FILENAMES.
    if (/swiftshader/i.test(engine.description)) assert.equal(engine.software, true);
    assert.equal(engine.sizes.gemmScratch(48), 0);
  });

  test('write, kernels and read keep their recorded order within one submit', async () => {
    const n = 1000;
    const x = engine.allocate(n),
      y = engine.allocate(n);
    const data = Float32Array.from({ length: n }, (_, i) => i - 300.5);
    engine.write(x, data);
    engine.run('scale', x, n, 2); // x = 2·data
    engine.run('copy', y, x, n); // y = 2·data
    engine.write(
      x,
      Float32Array.from({ length: n }, () => 1),
    ); // after the copy: y keeps 2·data
    engine.run('add', y, y, x, n); // y = 2·data + 1
    engine.run('fill', x, 10, -7); // x[0..10) = −7, the rest 1
    const [ys, xs] = [await engine.read(y, n), await engine.read(x, n)];
    ys.forEach((v, i) => assert.equal(v, 2 * data[i]! + 1, `y[${i}]`));
    xs.forEach((v, i) => assert.equal(v, i < 10 ? -7 : 1, `x[${i}]`));
    engine.release(x);
    engine.release(y);
  });

  test("writes past the staging buffer's size, and one too large for it, keep their order and contents", async () => {
    const sizes = [3 << 18, 3 << 18, 1, 5 << 18, 9 << 20]; // 3 MiB twice, one float, 5 MiB, 36 MiB (floats)
    const ptrs = sizes.map((n) => engine.allocate(n));
    const data = sizes.map((n, k) => Float32Array.from({ length: n }, (_, i) => (i % 1000) + k));
    sizes.forEach((n, k) => {
      engine.write(ptrs[k]!, data[k]!);
      engine.run('scale', ptrs[k]!, n, 2); // between the writes: each must land before its kernel
    });
    engine.write(ptrs[2]!, Float32Array.of(-1)); // after its scale: stays −1
    for (let k = 0; k < sizes.length; k++) {
      const got = await engine.read(ptrs[k]!, sizes[k]!);
      const want = k === 2 ? Float32Array.of(-1) : data[k]!.map((v) => 2 * v);
      assert.ok(
        got.every((v, i) => v === want[i]),
        `write ${k} (${sizes[k]} floats)`,
      );
    }
    for (const p of ptrs) engine.release(p);
  });

  test('integers are written and read bit for bit', async () => {
    const p = engine.allocate(5);
    const values = Int32Array.from([0, -1, 2 ** 31 - 1, -(2 ** 31), 7]);
    engine.write(p, values);
    assert.deepEqual(await engine.readInt32(p, 5), values);
    engine.release(p);
  });

  test('each dispatch keeps its own arguments, beyond one uniform buffer of slots', async () => {
    const n = 5000;
    const p = engine.allocate(n);
    engine.write(p, new Float32Array(n));
    // one fill per element, each with its own value: 5000 dispatches, more than a submit's 4096 slots
    for (let i = 0; i < n; i++) engine.run('fill', p + 4 * i, 1, i);
    const got = await engine.read(p, n);
    got.forEach((v, i) => assert.equal(v, i, `element ${i}`));
    engine.release(p);
  });

  test('growing the memory keeps what it holds and what is recorded', async () => {
    const n = 1 << 16;
    const first = engine.allocate(n);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    engine.write(first, data);
    engine.run('scale', first, n, 3); // recorded on the memory before it grows
    const big = engine.allocate(16 * 2 ** 20); // 64 MiB: more than the engine started with
    engine.run('fill', big, 16 * 2 ** 20, 1);
    engine.run('add', first, first, big, n);
    const got = await engine.read(first, n);
    got.forEach((v, i) => assert.equal(v, Math.fround(Math.fround(3 * data[i]!) + 1), `element ${i}`));
    engine.release(big);
    engine.release(first);
  });

  test("profile() counts each kernel's calls and, with timestamp queries, its GPU time, complete after a read", async () => {
    const n = 1 << 20;
    const p = engine.allocate(n);
    const timings = engine.profile();
    engine.run('fill', p, n, 1);
    engine.run('scale', p, n, 2);
    engine.run('scale', p, n, 2);
    assert.equal((await engine.read(p, 1))[0], 4);
    engine.stopProfile();
    engine.run('scale', p, n, 2); // not profiled
    await engine.read(p, 1);
    assert.equal(timings.get('fill')?.calls, 1);
    assert.equal(timings.get('scale')?.calls, 2);
    if (engine.timestamps) {
      for (const name of ['fill', 'scale']) assert.ok(timings.get(name)!.ms > 0, `${name}: ${timings.get(name)!.ms} ms`);
    }
    engine.release(p);
  });

  test("a kernel whose WGSL does not compile fails the next read with the compiler's message, and only that read", async () => {
    const broken = await WebGpuEngine.create({
      kernels: {
        broken: {
          args: [['x', 'ptr']],
          wgsl: '@compute @workgroup_size(1) fn main() { st(args.x, undefined_name); }',
          dispatches: () => [{ entry: 'main', workgroups: [1] }],
        },
      },
    });
    try {
      const p = broken.allocate(1);
      broken.run('broken', p);
      await assert.rejects(broken.read(p, 1), /WebGPU: .*undefined_name/);
      broken.run('fill', p, 1, 5);
      assert.equal((await broken.read(p, 1))[0], 5);
    } finally {
      broken.close();
    }
  });

  test('unknown kernels, wrong argument counts and pointers outside the memory are refused', () => {
    const p = engine.allocate(4);
    assert.throws(() => engine.run('no_such_kernel', 1), /no kernel "no_such_kernel"/);
    assert.throws(() => engine.run('fill', p, 4), /2 arguments, expected 3/);
    assert.throws(() => engine.run('fill', p + 2, 4, 0), /not a float's offset/);
    assert.throws(() => engine.write(2 ** 40, new Float32Array(1)), /not inside the engine's memory/);
    engine.release(p);
  });
});
