// `llamats gpu-info [--mode auto|webgpu|headlessgl] [--json]`: which GPU backend --backend gpu
// would use here, its adapter and limits. Exit 2 with one line when there is none.
import type { Command } from "commander";
import { Option } from "commander";
import { LlamatsError } from "@llamats/tensor";
import { importGpuBackend } from "@llamats/engine";

export function register(program: Command): void {
  program
    .command("gpu-info")
    .description("print the GPU adapter and limits that --backend gpu would use")
    .addOption(new Option("--mode <mode>", "gpu.js mode").choices(["auto", "webgpu", "headlessgl"]).default("auto"))
    .option("--json", "one JSON object on stdout")
    .action(async (o: { mode: string; json?: boolean }) => {
      const gpu = (await importGpuBackend()) as unknown as {
        GpuRuntime: { create(o: { mode: string }): Promise<{ info: Record<string, unknown>; destroy(): Promise<void> }> };
      };
      let rt;
      try {
        rt = await gpu.GpuRuntime.create({ mode: o.mode });
      } catch (err) {
        throw new LlamatsError(`backend "gpu": ${(err as Error).message}`);
      }
      try {
        const i = rt.info;
        if (o.json) process.stdout.write(JSON.stringify(i) + "\n");
        else {
          process.stdout.write(`mode: ${i.mode}\nadapter: ${i.adapter}\n`);
          if (i.dawnBackend) process.stdout.write(`dawn backend: ${i.dawnBackend}\n`);
          process.stdout.write(`max storage binding: ${i.maxStorageBufferBindingSize} bytes\nmax buffer: ${i.maxBufferSize} bytes\n`);
        }
      } finally {
        await rt.destroy();
      }
    });
}
