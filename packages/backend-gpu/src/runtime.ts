// The gpu.js runtime: which gpu.js mode runs the kernels, and the few operations every op
// needs on top of it (upload, read back, free, a cache of compiled kernels).
//
// Mode choice ("auto"): WebGPU when an adapter answers, else WebGL through headless-gl,
// else a GpuUnavailableError. "cpu" is gpu.js's own JavaScript mode: the same kernel
// sources run on the CPU, which is how the kernels are tested on machines without a GPU
// stack. In Node, WebGPU comes from the `webgpu` package (Google's Dawn): gpu.js only reads
// `navigator.gpu`, so we provide one. Dawn first tries its default backend (Vulkan/Metal/D3D,
// a real GPU); where that gives no adapter (Debian 12's lavapipe) it tries Dawn's OpenGL ES
// backend in compatibility mode, which runs on Mesa's llvmpipe (software: correct, slow).
//
// Every kernel output is a device array: a gpu.js pipeline handle (webgpu, headless-gl) or
// a Float32Array (cpu mode). Outputs are immutable, so a handle stays valid until freed.

import { LlamatsError } from "@llamats/tensor";

export type GpuMode = "webgpu" | "headlessgl" | "cpu";

/** A gpu.js pipeline handle, or a Float32Array in cpu mode. */
export type DeviceArray = { toArray(): Float32Array | Promise<Float32Array>; delete?(): void } | Float32Array;

export class GpuUnavailableError extends LlamatsError {}

export interface GpuInfo {
  readonly mode: GpuMode;
  /** Adapter description (vendor, architecture, device, description) as Dawn reports it. */
  readonly adapter: string;
  /** Dawn backend that gave the adapter: "default" or "opengles" (webgpu only). */
  readonly dawnBackend?: string;
  /** Largest storage binding in bytes (webgpu); weights are split into chunks below it. */
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
}

interface GpuJs {
  createKernel(fn: Function, settings: Record<string, unknown>): KernelFn;
  destroy(): unknown;
}
type KernelFn = ((...args: unknown[]) => unknown) & { destroy?(): void };

// Storage bindings are capped at 128 MiB by WebGPU's default limits; software adapters here
// report exactly that. Other modes get the same cap so the chunking is exercised everywhere.
const DEFAULT_MAX_BINDING = 128 * 2 ** 20;

export interface GpuRuntimeOptions {
  /** "auto" (default): webgpu, else headlessgl, else an error. */
  readonly mode?: GpuMode | "auto";
  /** Override the storage-binding cap in bytes (tests use a small one to force chunking). */
  readonly maxBindingBytes?: number;
}

export class GpuRuntime {
  private readonly kernels = new Map<string, KernelFn>();
  private destroyed = false;

  private constructor(private readonly gpu: GpuJs, readonly info: GpuInfo, private readonly onDestroy: () => unknown,
    readonly maxBindingBytes: number) {}

  static async create(opts: GpuRuntimeOptions = {}): Promise<GpuRuntime> {
    const want = opts.mode ?? "auto";
    const { GPU } = (await import("gpu.js")) as unknown as { GPU: (new (o: object) => GpuJs) & { isHeadlessGLSupported: boolean } };
    if (want === "cpu") {
      return new GpuRuntime(new GPU({ mode: "cpu" }), cpuInfo(), () => {}, opts.maxBindingBytes ?? DEFAULT_MAX_BINDING);
    }
    const reasons: string[] = [];
    if (want === "auto" || want === "webgpu") {
      const found = await findWebGpuAdapter().catch((err: Error) => ({ reason: err.message }) as const);
      if ("adapterInfo" in found) {
        const info: GpuInfo = {
          mode: "webgpu",
          adapter: found.adapterInfo,
          dawnBackend: found.dawnBackend,
          maxStorageBufferBindingSize: found.maxBinding,
          maxBufferSize: found.maxBuffer,
        };
        installNavigatorGpu(found.requestAdapter);
        const cap = Math.min(opts.maxBindingBytes ?? found.maxBinding, found.maxBinding);
        liveWebGpuRuntimes++;
        return new GpuRuntime(new GPU({ mode: "webgpu" }), info, releaseWebGpuDevice, cap);
      }
      reasons.push(`webgpu: ${found.reason}`);
    }
    if (want === "auto" || want === "headlessgl") {
      if (GPU.isHeadlessGLSupported) {
        const info: GpuInfo = { mode: "headlessgl", adapter: "WebGL through headless-gl", maxStorageBufferBindingSize: DEFAULT_MAX_BINDING, maxBufferSize: DEFAULT_MAX_BINDING };
        return new GpuRuntime(new GPU({ mode: "headlessgl" }), info, () => {}, opts.maxBindingBytes ?? DEFAULT_MAX_BINDING);
      }
      reasons.push("headless-gl: the optional `gl` package is not installed or did not build (needs an X display, e.g. xvfb-run)");
    }
    throw new GpuUnavailableError(`no GPU backend is available: ${reasons.join("; ")}`);
  }

  get mode(): GpuMode {
    return this.info.mode;
  }

  /**
   * A compiled kernel, built once per key. `fn` is a gpu.js kernel function (plain
   * `function`, no closures); `output` its 1-D length; `constants` baked into the shader.
   */
  kernel(key: string, fn: Function, output: number, constants: Record<string, number>, loopMax: number): KernelFn {
    this.check();
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(fn, {
        output: [output],
        constants,
        loopMaxIterations: Math.max(1, Math.ceil(loopMax)),
        pipeline: this.info.mode !== "cpu",
        immutable: true,
        tactic: "precision",
        dynamicOutput: false,
      });
      this.kernels.set(key, k);
    }
    return k;
  }

  /** Run a kernel; the result is a device array (awaited: webgpu calls return Promises). */
  async run(k: KernelFn, ...args: unknown[]): Promise<DeviceArray> {
    return (await k(...args)) as DeviceArray;
  }

  /** Put host data on the device (copied through an identity kernel, kept resident). */
  async upload(data: Float32Array): Promise<DeviceArray> {
    if (this.info.mode === "cpu") return Float32Array.from(data);
    if (data.length * 4 > this.maxBindingBytes) {
      throw new LlamatsError(`gpu: one upload of ${data.length * 4} bytes exceeds the storage binding limit ${this.maxBindingBytes} (split it)`);
    }
    const k = this.kernel(`upload:${data.length}`, uploadKernel, data.length, {}, 1);
    return this.run(k, data);
  }

  /** Read a device array back to the host. */
  async read(a: DeviceArray): Promise<Float32Array> {
    if (a instanceof Float32Array) return a;
    const v = await a.toArray();
    return v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>);
  }

  /** Release a device array (a no-op in cpu mode). */
  free(a: DeviceArray | undefined): void {
    if (a && !(a instanceof Float32Array)) a.delete?.();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
    // Without this, Dawn's device keeps Node's event loop alive forever.
    await this.gpu.destroy();
    await this.onDestroy();
  }

  private check(): void {
    if (this.destroyed) throw new LlamatsError("gpu: this runtime has been destroyed");
  }
}

// gpu.js shares one WebGPU device among all its GPU instances and `gpu.destroy()` leaves it
// alive (and with it Node's event loop): the last webgpu runtime to go destroys it.
let liveWebGpuRuntimes = 0;

async function releaseWebGpuDevice(): Promise<void> {
  if (--liveWebGpuRuntimes > 0) return;
  const { WebGPUContext } = (await import("gpu.js")) as unknown as { WebGPUContext: { destroy(): Promise<void> } };
  // A runtime created while this one was shutting down (a model disposed without waiting,
  // then another loaded) shares the device: count again, synchronously with the destroy.
  if (liveWebGpuRuntimes > 0) return;
  await WebGPUContext.destroy();
}

function uploadKernel(this: { thread: { x: number } }, a: number[]): number {
  return a[this.thread.x];
}

function cpuInfo(): GpuInfo {
  return { mode: "cpu", adapter: "gpu.js cpu mode (JavaScript, for testing)", maxStorageBufferBindingSize: DEFAULT_MAX_BINDING, maxBufferSize: DEFAULT_MAX_BINDING };
}

type RequestAdapter = (o?: object) => Promise<unknown>;

interface AdapterFound {
  readonly adapterInfo: string;
  readonly dawnBackend: string;
  readonly maxBinding: number;
  readonly maxBuffer: number;
  readonly requestAdapter: RequestAdapter;
}

// One Dawn instance per process: creating several makes Dawn load its drivers again.
let dawnCache: Promise<AdapterFound | { reason: string }> | undefined;

/** Find a WebGPU adapter through the `webgpu` package: Dawn's default backend, then OpenGL ES. */
function findWebGpuAdapter(): Promise<AdapterFound | { reason: string }> {
  dawnCache ??= (async () => {
    let webgpu: { create(flags: string[]): { requestAdapter(o?: object): Promise<GpuAdapterLike | null> }; globals: object };
    try {
      webgpu = (await import("webgpu")) as unknown as typeof webgpu;
    } catch (err) {
      return { reason: `the webgpu package (Dawn) did not load: ${(err as Error).message.split("\n")[0]}` };
    }
    // Dawn's OpenGL ES backend needs EGL without a display.
    process.env.EGL_PLATFORM ??= "surfaceless";
    Object.assign(globalThis, webgpu.globals);
    const tries: { flags: string[]; opts: object; name: string }[] = [
      { flags: [], opts: {}, name: "default" },
      { flags: ["backend=opengles"], opts: { featureLevel: "compatibility" }, name: "opengles" },
    ];
    for (const t of tries) {
      const dawn = webgpu.create(t.flags);
      const adapter = await dawn.requestAdapter(t.opts).catch(() => null);
      if (!adapter) continue;
      return {
        adapterInfo: describeAdapter(adapter),
        dawnBackend: t.name,
        maxBinding: adapter.limits.maxStorageBufferBindingSize,
        maxBuffer: adapter.limits.maxBufferSize,
        requestAdapter: (o?: object) => dawn.requestAdapter({ ...o, ...t.opts }),
      };
    }
    return { reason: "Dawn found no adapter (no Vulkan driver, and no EGL/OpenGL ES: install libegl1 libegl-mesa0 libgl1-mesa-dri)" };
  })();
  return dawnCache;
}

interface GpuAdapterLike {
  readonly limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}

function describeAdapter(a: GpuAdapterLike): string {
  const i = a.info ?? {};
  const parts = [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0);
  return parts.length ? parts.join(" / ") : "unnamed adapter";
}

function installNavigatorGpu(requestAdapter: RequestAdapter): void {
  const gpu = { requestAdapter, getPreferredCanvasFormat: () => "rgba8unorm" };
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
}
