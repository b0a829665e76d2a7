/// <reference types="@webgpu/types" />
// Finding a WebGPU adapter: navigator.gpu in a page, the optional `webgpu` package (Dawn's own
// Node binding) in Node. Software adapters (SwiftShader, llvmpipe/lavapipe, WARP) are recognized,
// so that `auto` never picks one and SwiftShader timings are never reported as GPU speed.
import { UserError } from '../../errors.js';

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

export interface FoundAdapter {
  readonly adapter: GPUAdapter;
  /** For messages: the adapter's description, else vendor and architecture. */
  readonly name: string;
  /** A CPU implementation (SwiftShader, llvmpipe, lavapipe, WARP): correct, never fast. */
  readonly software: boolean;
}

/** Names of the software rasterizers that stand in for a GPU. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** Whether an adapter is a CPU implementation (the adapter's own flag, or a known software name). */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = infoOf(adapter);
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info.isFallbackAdapter === true || legacy === true) return true;
  return SOFTWARE.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

/** A readable name for an adapter, from what its info holds. */
export function adapterName(adapter: GPUAdapter): string {
  const { vendor, architecture, device, description } = infoOf(adapter);
  if (description) return description;
  const parts = [vendor, architecture, device].filter((p) => p !== undefined && p !== '');
  return parts.length > 0 ? parts.join(' ') : 'unnamed WebGPU adapter';
}

type AdapterInfo = Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>> & { isFallbackAdapter?: boolean };

/** adapter.info, or nothing where the browser predates it (Chrome before 127 had requestAdapterInfo()). */
function infoOf(adapter: GPUAdapter): AdapterInfo {
  return (adapter as GPUAdapter & { info?: AdapterInfo }).info ?? {};
}

/** Dawn's Node binding; a name in a variable, so that bundlers of the page leave the Node-only package out. */
const NODE_BINDING = 'webgpu';

/** The GPU object of this runtime, kept for the program's life (Dawn's instance must outlive its devices). */
let nodeGpu: Promise<GPU> | undefined;

async function loadGpu(): Promise<GPU> {
  if (!isNode) {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (gpu === undefined)
      throw new UserError('WebGPU is not available in this browser (navigator.gpu is missing; Chrome and Edge 113+, or a flag elsewhere)');
    return gpu;
  }
  nodeGpu ??= (async () => {
    let binding: { create(options: string[]): GPU; globals: object };
    try {
      binding = (await import(/* @vite-ignore */ NODE_BINDING)) as typeof binding;
    } catch (error) {
      throw new UserError(
        `WebGPU is not available in Node: the optional package "webgpu" could not be loaded (${firstLine(error)}); reinstall with optional dependencies, or use --backend wasm`,
      );
    }
    // Dawn's binding defines GPUBufferUsage, GPUShaderStage… as globals of its own; code written for browsers uses them.
    Object.assign(globalThis, binding.globals);
    return binding.create([]);
  })();
  try {
    return await nodeGpu;
  } catch (error) {
    nodeGpu = undefined;
    throw error;
  }
}

/** The adapter WebGPU offers (a high-performance one where there is a choice); one clear UserError when there is none. */
export async function findAdapter(): Promise<FoundAdapter> {
  const gpu = await loadGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new UserError(
      isNode
        ? 'no WebGPU adapter found: Dawn found no Vulkan, Metal or D3D12 device (a GPU driver, or VK_ICD_FILENAMES naming a Vulkan driver, is needed); use --backend wasm'
        : 'no WebGPU adapter found: this browser offers WebGPU but no adapter (a blocked GPU, or a software one not enabled); use the WebAssembly backend',
    );
  }
  return { adapter, name: adapterName(adapter), software: isSoftwareAdapter(adapter) };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!;
}
