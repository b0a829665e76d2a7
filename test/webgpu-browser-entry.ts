// Loaded into a page by test/webgpu-kernels-browser.test.ts: the WGSL kernel cases (the same ones
// Node runs through Dawn) on the browser's own WebGPU adapter, against the WebAssembly kernels in
// the same page. Each case set of the WGSL kernels joins CASE_SETS.
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { WebGpuEngine } from '../src/runtime/webgpu/engine.js';
import { kernelCases, type KernelCase } from './webgpu-kernel-cases.js';
import { attentionKernelCases } from './webgpu-attention-cases.js';

const CASE_SETS: ReadonlyArray<() => KernelCase[]> = [kernelCases, attentionKernelCases];

let engines: Promise<{ gpu: WebGpuEngine; wasm: WasmEngine }> | undefined;

/** The adapter's name and whether it is a software one. */
export async function adapter(): Promise<{ description: string; software: boolean }> {
  engines ??= (async () => ({ gpu: await WebGpuEngine.create(), wasm: await WasmEngine.create({ threads: 1 }) }))();
  const { gpu } = await engines;
  return { description: gpu.description, software: gpu.software };
}

export function caseNames(): string[] {
  return CASE_SETS.flatMap((set) => set().map((c) => c.name));
}

/** Runs the case called `name`; its error message, or null when it passed. */
export async function runCase(name: string): Promise<string | null> {
  await adapter();
  const { gpu, wasm } = await engines!;
  const found = CASE_SETS.flatMap((set) => set()).find((c) => c.name === name);
  if (found === undefined) return `no case "${name}"`;
  try {
    await found.run(gpu, wasm);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
