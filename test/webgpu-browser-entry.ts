// Loaded into a page by test/webgpu-kernels-browser.test.ts and test/webgpu-model-browser.test.ts: the
// WGSL kernel cases (the same ones Node runs through Dawn) on the browser's own WebGPU adapter, against
// the WebAssembly kernels in the same page, and the model's checks of test/webgpu-model-cases.ts (PyTorch
// fixtures, training runs). Each case set of the WGSL kernels joins CASE_SETS.
import { CIFAR10_CLASSES, parseCifar10 } from '../src/data/cifar10.js';
import { WasmEngine } from '../src/runtime/wasm-engine.js';
import { WebGpuEngine } from '../src/runtime/webgpu/engine.js';
import { kernelCases, type KernelCase } from './webgpu-kernel-cases.js';
import { attentionKernelCases } from './webgpu-attention-cases.js';
import { type TrainingRun, checkFixture, startTraining } from './webgpu-model-cases.js';

const CASE_SETS: ReadonlyArray<() => KernelCase[]> = [kernelCases, attentionKernelCases];

let engines: Promise<{ gpu: WebGpuEngine; wasm: WasmEngine }> | undefined;

/** The page's two engines, made on first use. */
function openEngines(): Promise<{ gpu: WebGpuEngine; wasm: WasmEngine }> {
  engines ??= (async () => ({ gpu: await WebGpuEngine.create(), wasm: await WasmEngine.create({ threads: 1 }) }))();
  return engines;
}

/** The adapter's name and whether it is a software one. */
export async function adapter(): Promise<{ description: string; software: boolean }> {
  const { gpu } = await openEngines();
  return { description: gpu.description, software: gpu.software };
}

export function caseNames(): string[] {
  return CASE_SETS.flatMap((set) => set().map((c) => c.name));
}

/** Runs the case called `name`; its error message, or null when it passed. */
export async function runCase(name: string): Promise<string | null> {
  const { gpu, wasm } = await openEngines();
  const found = CASE_SETS.flatMap((set) => set()).find((c) => c.name === name);
  if (found === undefined) return `no case "${name}"`;
  return failureOf(() => found.run(gpu, wasm));
}

/** The error of `run`, or null when it passed (a page's call returns it to the test). */
async function failureOf(run: () => Promise<void>): Promise<string | null> {
  try {
    await run();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The PyTorch fixture served at `folder` on WebGPU (test/webgpu-model-cases.ts checkFixture); its error, or null. */
export async function runFixture(folder: string, name: string): Promise<string | null> {
  return failureOf(async () => {
    const { gpu } = await openEngines();
    const [config, weights, reference] = await Promise.all(
      ['config.json', 'weights.safetensors', 'reference.safetensors'].map((file) => fetchBytes(`${folder}/${file}`)),
    );
    await checkFixture(gpu, { name, config: config!, weights: weights!, reference: reference! });
  });
}

let training: TrainingRun | undefined;

/** Starts a training run (test/webgpu-model-cases.ts startTraining) on one of the page's engines, on the CIFAR-10 file at `dataUrl`. */
export async function startTrainingRun(engine: 'wasm' | 'webgpu', dataUrl: string, batch: number): Promise<string | null> {
  return failureOf(async () => {
    training?.release();
    training = undefined;
    const engines = await openEngines();
    const train = parseCifar10([{ name: dataUrl, bytes: await fetchBytes(dataUrl) }], [...CIFAR10_CLASSES]);
    training = await startTraining(engine === 'wasm' ? engines.wasm : engines.gpu, train, batch);
  });
}

/** The running training run's next step's mean loss. */
export async function trainingRunStep(): Promise<number> {
  if (training === undefined) throw new Error('no training run started');
  return training.step();
}

export function stopTrainingRun(): void {
  training?.release();
  training = undefined;
}
