// Compiles the AssemblyScript kernels (assembly/) to WebAssembly: one module with 128-bit SIMD,
// and one that also uses relaxed SIMD's fused multiply-add where the runtime offers it, each twice:
// on a shared memory (for threads), and on a plain one for a runtime without SharedArrayBuffer
// (a page that is not cross-origin isolated, or WebKit, which has none), where one thread runs.
// Run by `npm install` (through the prepare script) and `npm run build`.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';

const common = [
  'assembly/index.ts',
  '-O3',
  '--enable',
  'simd',
  '--importMemory',
  // The JavaScript side creates the memory with the size it needs; the module accepts up to 4 GiB.
  '--initialMemory',
  '1',
  '--maximumMemory',
  '65536',
  '--runtime',
  'stub',
  '--noAssert',
];
const shared = ['--enable', 'threads', '--sharedMemory'];
const relaxed = ['--enable', 'relaxed-simd'];
const variants = [
  { out: 'dist/wasm/kernels.wasm', flags: shared },
  { out: 'dist/wasm/kernels-relaxed.wasm', flags: [...shared, ...relaxed] },
  { out: 'dist/wasm/kernels-unshared.wasm', flags: [] },
  { out: 'dist/wasm/kernels-relaxed-unshared.wasm', flags: relaxed },
];

mkdirSync('dist/wasm', { recursive: true });
for (const { out, flags } of variants) {
  const { error, stderr } = await asc.main([...common, ...flags, '-o', out]);
  if (error) {
    console.error(stderr.toString());
    console.error(`building ${out} failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`built ${out}`);
}
