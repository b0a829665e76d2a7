// Compiles the AssemblyScript kernels (assembly/) to WebAssembly: one module with 128-bit SIMD,
// and one that also uses relaxed SIMD's fused multiply-add where the runtime offers it.
// Run by `npm install` (through the prepare script) and `npm run build`.
import asc from 'assemblyscript/asc';
import { mkdirSync } from 'node:fs';

const common = [
  'assembly/index.ts', '-O3', '--enable', 'simd', '--enable', 'threads', '--sharedMemory', '--importMemory',
  // The JavaScript side creates the memory with the size it needs; the module accepts up to 4 GiB.
  '--initialMemory', '1', '--maximumMemory', '65536', '--runtime', 'stub', '--noAssert',
];
const variants = [
  { out: 'dist/wasm/kernels.wasm', flags: [] },
  { out: 'dist/wasm/kernels-relaxed.wasm', flags: ['--enable', 'relaxed-simd'] },
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
