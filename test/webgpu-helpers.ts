// What the WebGPU tests share: an engine on SwiftShader's Vulkan driver, which @sparticuz/chromium
// unpacks beside its browser (libvk_swiftshader.so and vk_swiftshader_icd.json), found by Dawn
// through VK_ICD_FILENAMES. Without an adapter the tests skip with a line saying why, unless
// VIT_WEBGPU_REQUIRED=1 (CI), where they fail.
import path from 'node:path';
import chromium from '@sparticuz/chromium';
import { WebGpuEngine } from '../src/runtime/webgpu/engine.js';

/**
 * Points Dawn at SwiftShader's Vulkan driver unless VK_ICD_FILENAMES already names one (set it to
 * run these tests on a GPU's own driver). Linux only, where @sparticuz/chromium has a browser to
 * unpack; elsewhere Dawn finds the platform's own adapter (Metal, D3D12).
 */
export async function useSwiftShaderVulkan(): Promise<void> {
  if (process.env.VK_ICD_FILENAMES || process.platform !== 'linux') return;
  let browser: string;
  try {
    browser = await chromium.executablePath();
  } catch {
    return; // no bundled browser for this machine: no SwiftShader either
  }
  process.env.VK_ICD_FILENAMES = path.join(path.dirname(browser), 'vk_swiftshader_icd.json');
}

/** An engine, or why there is none (the tests then skip, and say so). */
export type TestEngine = { engine: WebGpuEngine; skip: false } | { engine: null; skip: string };

/** Opens an engine for a test file; throws instead of skipping when VIT_WEBGPU_REQUIRED=1. */
export async function openTestEngine(): Promise<TestEngine> {
  await useSwiftShaderVulkan();
  try {
    return { engine: await WebGpuEngine.create(), skip: false };
  } catch (error) {
    const reason = `WebGPU unavailable (${error instanceof Error ? error.message : String(error)})`;
    if (process.env.VIT_WEBGPU_REQUIRED === '1') throw new Error(`VIT_WEBGPU_REQUIRED=1 but ${reason}`);
    const skip = `${reason}: WebGPU tests skipped`;
    console.log(skip);
    return { engine: null, skip };
  }
}
