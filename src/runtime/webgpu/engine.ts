/// <reference types="@webgpu/types" />
// The WebGPU engine: the same kernels by name on byte offsets as the WebAssembly engine, over one
// GPUBuffer that is the whole memory. Kernels are recorded into one command encoder and submitted
// by flush(); each dispatch's arguments take a 256-byte slot of one uniform buffer (a dynamic
// offset), written once per submit. Writes and reads are copies recorded in the same encoder, so
// they keep their place among the kernels without extra submits; only read() waits for the GPU.
import { Allocator } from '../allocator.js';
import { UserError } from '../../errors.js';
import { findAdapter } from './adapter.js';
import { ARG_SLOT_BYTES, GPU_PARTIALS, kernelSource, type GpuKernel, type GpuKernelTable } from './prelude.js';
import { GPU_KERNELS } from './kernels/index.js';

/** Dispatches recorded between submits at most (the uniform buffer's slots); more submit on their own. */
const ARG_SLOTS = 4096;
/** The memory's first bytes are never handed out, so that a pointer of 0 always means "absent". */
const MEMORY_BASE = 256;
const INITIAL_BYTES = 16 * 2 ** 20;
const GROWTH_STEP = 2 ** 20;
/** write()'s staging buffer starts at this size; writes above MAX_STAGED_BYTES get a buffer of their own. */
const INITIAL_STAGE_BYTES = 4 * 2 ** 20;
const MAX_STAGED_BYTES = 32 * 2 ** 20;

export interface WebGpuEngineOptions {
  /** Kernels beyond (or in place of) the engine's own, by name: for tests of a kernel being written. */
  kernels?: GpuKernelTable;
}

/** Time per kernel while profiling: GPU time from timestamp queries where the adapter has them. */
export type KernelTimings = Map<string, { ms: number; calls: number }>;

export class WebGpuEngine {
  readonly kind = 'webgpu' as const;
  /** Working memory the WebAssembly kernels need beyond their tensors: none here (see GPU_PARTIALS). */
  readonly sizes = {
    gemmScratch: (_K: number): number => 0,
    gemmPacked: (_K: number, _M: number): number => 0,
    attentionScratch: (_T: number, _headSize: number): number => 0,
    partials: GPU_PARTIALS,
  };

  private readonly allocator = new Allocator(MEMORY_BASE);
  private memory: GPUBuffer;
  private readonly uniform: GPUBuffer;
  private readonly layout: GPUBindGroupLayout;
  private readonly pipelineLayout: GPUPipelineLayout;
  private bindGroup: GPUBindGroup;
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  /** This submit's dispatch arguments, one ARG_SLOT_BYTES slot each. */
  private readonly argBytes = new ArrayBuffer(ARG_SLOTS * ARG_SLOT_BYTES);
  private readonly argView = new DataView(this.argBytes);
  private slots = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline last set in the open pass. */
  private passPipeline: GPUComputePipeline | null = null;
  /** The staging buffer of write(), its bytes of this submit on the host, and how many are used. */
  private stageBuffer: GPUBuffer;
  private stageHost = new Uint8Array(INITIAL_STAGE_BYTES);
  private staged = 0;
  /** Buffers the recorded commands still use: destroyed once they are submitted. */
  private retired: GPUBuffer[] = [];
  /** The engine-owned working memory of kernels that split their sums (GpuKernel.tmp). */
  private tmp = { ptr: 0, floats: 0 };
  /** The first error the device reported since the last read (validation, out of memory): thrown by the next read. */
  private failure: string | null = null;
  /** Why the device was lost, if it was: every later read throws it. */
  private lost: string | null = null;
  private timings: KernelTimings | null = null;
  private closed = false;

  private constructor(
    private readonly device: GPUDevice,
    /** The adapter's name, for messages. */
    readonly description: string,
    /** Whether the adapter is a CPU implementation (SwiftShader, lavapipe): correct, never fast. */
    readonly software: boolean,
    private readonly kernels: GpuKernelTable,
  ) {
    this.layout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
        {
          binding: 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: ARG_SLOT_BYTES },
        },
      ],
    });
    this.pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
    this.uniform = device.createBuffer({ size: ARG_SLOTS * ARG_SLOT_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.memory = this.createMemory(Math.min(INITIAL_BYTES, this.maxBytes));
    this.stageBuffer = this.createStageBuffer(INITIAL_STAGE_BYTES);
    this.bindGroup = this.createBindGroup();
    // The handler property, not addEventListener: Dawn's Node binding prints errors it finds no handler for.
    device.onuncapturederror = (event) => {
      this.failure ??= event.error.message;
    };
    void device.lost.then((info) => {
      if (!this.closed) this.lost = `the GPU device was lost: ${info.message || info.reason}`;
    });
  }

  /** An engine on the adapter WebGPU offers; one clear UserError when there is none. */
  static async create(options: WebGpuEngineOptions = {}): Promise<WebGpuEngine> {
    const { adapter, name, software } = await findAdapter();
    const wanted: (keyof GPUSupportedLimits)[] = [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupSizeX',
      'maxComputeWorkgroupSizeY',
      'maxComputeWorkgroupsPerDimension',
    ];
    const requiredLimits: Record<string, number> = {};
    for (const key of wanted) requiredLimits[key] = adapter.limits[key] as number;
    const requiredFeatures = (['timestamp-query'] as const).filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    return new WebGpuEngine(device, software ? `${name} (software)` : name, software, { ...GPU_KERNELS, ...options.kernels });
  }

  /** The most memory one binding can hold: the engine's limit. */
  private get maxBytes(): number {
    const { maxStorageBufferBindingSize, maxBufferSize } = this.device.limits;
    return Math.floor(Math.min(maxStorageBufferBindingSize, maxBufferSize) / 4) * 4;
  }

  private createMemory(bytes: number): GPUBuffer {
    return this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  }

  private createBindGroup(): GPUBindGroup {
    return this.device.createBindGroup({
      layout: this.layout,
      entries: [
        { binding: 0, resource: { buffer: this.memory } },
        { binding: 1, resource: { buffer: this.uniform, size: ARG_SLOT_BYTES } },
      ],
    });
  }

  // ── memory ──────────────────────────────────────────────────────────────────────────────

  /** Reserves `floats` 4-byte values; returns the byte offset. The memory grows (by a recorded copy) when needed. */
  allocate(floats: number): number {
    this.checkOpen();
    const bytes = floats * 4;
    const needed = this.allocator.requiredEnd(bytes);
    if (needed > this.memory.size) this.grow(needed);
    return this.allocator.allocate(bytes);
  }

  release(ptr: number): void {
    this.allocator.release(ptr);
  }

  private grow(needed: number): void {
    const max = this.maxBytes;
    if (needed > max) {
      throw new UserError(
        `out of GPU memory: ${Math.round(needed / 2 ** 20)} MiB needed, more than the ${Math.round(max / 2 ** 20)} MiB ` +
          `one buffer of this adapter can hold; a smaller batch or model needs less`,
      );
    }
    const size = Math.min(max, Math.ceil(Math.max(needed, this.memory.size * 2) / GROWTH_STEP) * GROWTH_STEP);
    const old = this.memory;
    this.memory = this.createMemory(size);
    // Kernels recorded before this point use the old buffer; the copy runs after them, in order.
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(old, 0, this.memory, 0, old.size);
    this.retired.push(old);
    this.bindGroup = this.createBindGroup();
  }

  /** Host → memory at byte offset `ptr`, after the kernels recorded before it and before those after it. */
  write(ptr: number, values: Float32Array | Int32Array): void {
    this.checkOpen();
    this.checkRange(ptr, values.length, 'write');
    const bytes = values.byteLength;
    if (bytes === 0) return;
    const data = new Uint8Array(values.buffer, values.byteOffset, bytes);
    if (bytes > MAX_STAGED_BYTES) {
      // A large write (a model's weights) gets a buffer of its own rather than growing the staging one for good.
      const staging = this.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
      new Uint8Array(staging.getMappedRange()).set(data);
      staging.unmap();
      this.endPass();
      this.currentEncoder().copyBufferToBuffer(staging, 0, this.memory, ptr, bytes);
      this.retired.push(staging);
      return;
    }
    // Writes of one submit are gathered in one staging buffer, uploaded by queue.writeBuffer just
    // before the submit; copies recorded in the encoder put each in place in order.
    if (this.staged + bytes > this.stageBuffer.size) {
      this.flush();
      if (bytes > this.stageBuffer.size) {
        this.retired.push(this.stageBuffer);
        this.stageBuffer = this.createStageBuffer(2 ** Math.ceil(Math.log2(bytes)));
      }
    }
    if (this.staged + bytes > this.stageHost.length) {
      const host = new Uint8Array(this.stageBuffer.size);
      host.set(this.stageHost.subarray(0, this.staged));
      this.stageHost = host;
    }
    this.stageHost.set(data, this.staged);
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(this.stageBuffer, this.staged, this.memory, ptr, bytes);
    this.staged += bytes;
  }

  private createStageBuffer(bytes: number): GPUBuffer {
    return this.device.createBuffer({
      size: Math.max(bytes, INITIAL_STAGE_BYTES),
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  }

  /** `floats` floats from byte offset `ptr` (a copy), after every kernel recorded before; submits what is recorded. */
  async read(ptr: number, floats: number): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(ptr, floats));
  }

  async readInt32(ptr: number, count: number): Promise<Int32Array> {
    return new Int32Array(await this.readBytes(ptr, count));
  }

  private async readBytes(ptr: number, words: number): Promise<ArrayBuffer> {
    this.checkOpen();
    this.checkRange(ptr, words, 'read');
    const bytes = words * 4;
    const readback =
      bytes === 0 ? null : this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    if (readback !== null) {
      this.endPass();
      this.currentEncoder().copyBufferToBuffer(this.memory, ptr, readback, 0, bytes);
    }
    this.flush();
    if (readback === null) {
      this.throwFailure();
      return new ArrayBuffer(0);
    }
    try {
      await readback.mapAsync(GPUMapMode.READ);
      const pending = this.pendingTimings;
      this.pendingTimings = [];
      await Promise.all(pending);
      this.throwFailure();
      return readback.getMappedRange().slice(0);
    } catch (error) {
      this.throwFailure();
      throw error;
    } finally {
      readback.destroy();
    }
  }

  private checkRange(ptr: number, words: number, what: string): void {
    if (
      !Number.isInteger(ptr) ||
      ptr % 4 !== 0 ||
      ptr < MEMORY_BASE ||
      !Number.isInteger(words) ||
      words < 0 ||
      ptr + words * 4 > this.memory.size
    ) {
      throw new Error(`WebGpuEngine.${what}: ${words} words at byte ${ptr} are not inside the engine's memory`);
    }
  }

  // ── kernels ─────────────────────────────────────────────────────────────────────────────

  /** Records kernel `name` with the WebAssembly kernel's arguments (pointers as byte offsets; scratch ones ignored). */
  run(name: string, ...args: number[]): void {
    this.checkOpen();
    const kernel = this.kernels[name];
    if (kernel === undefined) throw new Error(`the WebGPU engine has no kernel "${name}"`);
    if (args.length !== kernel.args.length) throw new Error(`${name}: ${args.length} arguments, expected ${kernel.args.length}`);
    // Recording is on every step's path: one arguments object per kernel, reused, and no other garbage.
    let named = this.named.get(name);
    if (named === undefined) this.named.set(name, (named = {}));
    for (let i = 0; i < args.length; i++) named[kernel.args[i]![0]] = args[i]!;
    const dispatches = kernel.dispatches(named);
    let work = false;
    for (const { workgroups } of dispatches) work ||= workgroups[0] > 0 && (workgroups[1] ?? 1) > 0 && (workgroups[2] ?? 1) > 0;
    if (!work) return;
    const tmpFloats = kernel.tmp?.(named) ?? 0;
    if (tmpFloats > this.tmp.floats) {
      if (this.tmp.ptr !== 0) this.release(this.tmp.ptr);
      this.tmp = { ptr: this.allocate(tmpFloats), floats: tmpFloats };
    }
    if (this.slots === ARG_SLOTS) this.flush();
    const offset = this.slots++ * ARG_SLOT_BYTES;
    this.writeArgs(offset, kernel, name, args);
    const pipelines = this.pipelinesOf(name, kernel);
    const pass = this.timings === null ? this.currentPass() : this.timedPass(name);
    this.dynamicOffset[0] = offset;
    pass.setBindGroup(0, this.bindGroup, this.dynamicOffset, 0, 1);
    for (const { entry, workgroups } of dispatches) {
      const [x, y = 1, z = 1] = workgroups;
      if (x === 0 || y === 0 || z === 0) continue;
      const pipeline = pipelines.get(entry);
      if (pipeline === undefined) throw new Error(`${name}: no entry point "${entry}"`);
      // Each call into Dawn costs microseconds: a pipeline already set in this pass is not set again.
      if (pipeline !== this.passPipeline) pass.setPipeline(pipeline);
      this.passPipeline = pipeline;
      pass.dispatchWorkgroups(x, y, z);
    }
    if (this.timings !== null) this.endPass();
  }

  private readonly named = new Map<string, Record<string, number>>();
  private readonly dynamicOffset = new Uint32Array(1);

  private writeArgs(offset: number, kernel: GpuKernel, name: string, args: readonly number[]): void {
    const view = this.argView;
    for (let i = 0; i < args.length; i++) {
      const [argName, type] = kernel.args[i]!;
      const value = args[i]!;
      const at = offset + 4 * i;
      if (type === 'f32') {
        view.setFloat32(at, value, true);
        continue;
      }
      if (!Number.isInteger(value)) throw new Error(`${name}: argument ${argName} must be a whole number (got ${value})`);
      if (type === 'ptr') {
        if (value !== 0 && (value % 4 !== 0 || value < MEMORY_BASE || value >= this.memory.size)) {
          throw new Error(`${name}: argument ${argName} (${value}) is not a float's offset in the engine's memory`);
        }
        view.setUint32(at, value / 4, true);
      } else if (type === 'i32') view.setInt32(at, value, true);
      else view.setUint32(at, value >>> 0, true);
    }
    // args.tmp, after the kernel's own (see kernelSource)
    view.setUint32(offset + 4 * kernel.args.length, this.tmp.ptr / 4, true);
  }

  /** The kernel's pipelines by entry point, compiled on first use. */
  private pipelinesOf(name: string, kernel: GpuKernel): Map<string, GPUComputePipeline> {
    let pipelines = this.pipelines.get(name);
    if (pipelines !== undefined) return pipelines;
    const module = this.device.createShaderModule({ label: name, code: kernelSource(kernel) });
    pipelines = new Map();
    const entries = new Set([...kernel.wgsl.matchAll(/@compute[^]*?fn\s+(\w+)/g)].map((m) => m[1]!));
    for (const entry of entries) {
      pipelines.set(
        entry,
        this.device.createComputePipeline({
          label: `${name}.${entry}`,
          layout: this.pipelineLayout,
          compute: { module, entryPoint: entry },
        }),
      );
    }
    this.pipelines.set(name, pipelines);
    return pipelines;
  }

  private currentEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private currentPass(): GPUComputePassEncoder {
    this.pass ??= this.currentEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
    this.passPipeline = null;
  }

  /** Submits what has been recorded. Nothing waits for the GPU. */
  flush(): void {
    this.checkOpen();
    this.endPass();
    if (this.encoder === null) return;
    if (this.slots > 0) this.device.queue.writeBuffer(this.uniform, 0, this.argBytes, 0, this.slots * ARG_SLOT_BYTES);
    if (this.staged > 0) this.device.queue.writeBuffer(this.stageBuffer, 0, this.stageHost, 0, this.staged);
    this.staged = 0;
    const mapTimestamps = this.resolveTimestamps();
    this.device.queue.submit([this.encoder.finish()]);
    mapTimestamps?.();
    this.encoder = null;
    this.slots = 0;
    // Destroying a buffer after the submit that uses it is allowed: it goes once that work is done.
    for (const buffer of this.retired) buffer.destroy();
    this.retired = [];
  }

  private throwFailure(): void {
    const failure = this.lost ?? this.failure;
    this.failure = null;
    if (failure !== null) throw new Error(`WebGPU: ${failure}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the WebGPU engine is closed');
  }

  // ── profiling ───────────────────────────────────────────────────────────────────────────

  private querySet: GPUQuerySet | null = null;
  /** Timestamps of submitted work not yet added to the table: every read() waits for them. */
  private pendingTimings: Promise<void>[] = [];
  /** The kernel of each pair of timestamps written since the last submit. */
  private timed: string[] = [];
  private static readonly QUERY_PAIRS = 2048;

  /** Whether profile() measures GPU time (the adapter has 'timestamp-query'); without it, it counts calls only. */
  get timestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /**
   * Starts (or restarts) timing every kernel; returns the live table. With the adapter's
   * 'timestamp-query' each kernel gets its own pass and GPU time, filled in as submits complete
   * (a read() waits for them); without it only the calls are counted.
   */
  profile(): KernelTimings {
    this.flush();
    this.timings = new Map();
    if (this.querySet === null && this.device.features.has('timestamp-query')) {
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * WebGpuEngine.QUERY_PAIRS });
    }
    return this.timings;
  }

  stopProfile(): void {
    this.flush();
    this.timings = null;
  }

  private timedPass(name: string): GPUComputePassEncoder {
    this.endPass();
    const entry = this.timings!.get(name) ?? { ms: 0, calls: 0 };
    entry.calls++;
    this.timings!.set(name, entry);
    if (this.querySet === null) return this.currentPass();
    if (this.timed.length === WebGpuEngine.QUERY_PAIRS) this.flush();
    const pair = this.timed.length;
    this.timed.push(name);
    this.pass = this.currentEncoder().beginComputePass({
      timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * pair, endOfPassWriteIndex: 2 * pair + 1 },
    });
    return this.pass;
  }

  /**
   * Before a submit: records the copy of this submit's timestamps; returns what to call after the
   * submit (a buffer is mapped only after the work that fills it is submitted) to add them to the table.
   */
  private resolveTimestamps(): (() => void) | null {
    if (this.querySet === null || this.timed.length === 0) return null;
    const names = this.timed;
    this.timed = [];
    const bytes = names.length * 16;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.encoder!.resolveQuerySet(this.querySet, 0, 2 * names.length, resolved, 0);
    this.encoder!.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    this.retired.push(resolved);
    const table = this.timings;
    return () =>
      this.pendingTimings.push(
        readback.mapAsync(GPUMapMode.READ).then(
          () => {
            const ticks = new BigInt64Array(readback.getMappedRange());
            names.forEach((name, i) => {
              const entry = table?.get(name);
              // A pass the implementation did not time gives end < begin (or zeros): counted, not timed.
              const ns = Number(ticks[2 * i + 1]! - ticks[2 * i]!);
              if (entry !== undefined && ns > 0) entry.ms += ns / 1e6;
            });
            readback.destroy();
          },
          () => readback.destroy(),
        ),
      );
  }

  close(): void {
    if (this.closed) return;
    this.endPass();
    this.encoder = null;
    this.closed = true;
    for (const buffer of this.retired) buffer.destroy();
    this.memory.destroy();
    this.uniform.destroy();
    this.stageBuffer.destroy();
    this.querySet?.destroy();
    this.device.destroy();
  }
}
