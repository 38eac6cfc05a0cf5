// Shared benchmark plumbing: benchmark.js measurements with derived throughput, machine facts,
// and the JSON shape every suite prints. Benchmarks never assert; they report, and compare
// against a reference measured in the same process run (ratios, not absolute times).

import Benchmark from "benchmark";
import { cpus, loadavg, totalmem } from "node:os";
import { pathToFileURL } from "node:url";

export interface Measurement {
  name: string;
  opsPerSec: number;
  /** relative margin of error, percent */
  rme: number;
  samples: number;
  /** seconds per op (mean) */
  meanSec: number;
  gflops?: number;
  gbPerSec?: number;
}

export interface MeasureOptions {
  /** floating-point operations per call, for GFLOP/s */
  flops?: number;
  /** bytes read per call, for GB/s */
  bytes?: number;
  /** minimum seconds of sampling (benchmark.js minTime) */
  minTime?: number;
  maxTime?: number;
}

/** Time `fn` with benchmark.js (synchronously; fn must be synchronous). */
export function measure(name: string, fn: () => void, opts: MeasureOptions = {}): Measurement {
  const bench = new Benchmark(name, fn, { minTime: opts.minTime ?? 0.5, maxTime: opts.maxTime ?? 3, minSamples: 5 });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  const hz = bench.hz;
  const m: Measurement = {
    name,
    opsPerSec: round(hz),
    rme: round(bench.stats.rme),
    samples: bench.stats.sample.length,
    meanSec: bench.stats.mean,
  };
  if (opts.flops) m.gflops = round((opts.flops * hz) / 1e9);
  if (opts.bytes) m.gbPerSec = round((opts.bytes * hz) / 1e9);
  process.stderr.write(`  ${name}: ${m.opsPerSec} ops/s ±${m.rme}%${m.gflops ? `, ${m.gflops} GFLOP/s` : ""}${m.gbPerSec ? `, ${m.gbPerSec} GB/s` : ""}\n`);
  return m;
}

export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x)) return x;
  const p = 10 ** Math.max(0, digits - Math.ceil(Math.log10(Math.abs(x) + 1e-300)));
  return Math.round(x * p) / p;
}

export function machineInfo(): Record<string, unknown> {
  const c = cpus();
  return {
    node: process.version,
    cpuModel: c[0]?.model ?? "unknown",
    logicalCores: c.length,
    totalMemGiB: round(totalmem() / 2 ** 30, 3),
    loadAvg1m: round(loadavg()[0], 3),
    date: new Date().toISOString(),
  };
}

/**
 * Run a suite when its file is executed directly (`node --conditions=source --import=tsx
 * benchmarks/src/NAME.bench.ts [args]`), not when run.ts imports it. Prints
 * `{machine, results: {NAME: result}}`, or the result alone with `wrap: false` (suites whose
 * result already carries its machine facts); a failure is one line on stderr and exit code 1.
 */
export function runStandalone(metaUrl: string, suite: string, run: (args: string[]) => Promise<unknown>, opts: { wrap?: boolean } = {}): void {
  if (!process.argv[1] || metaUrl !== pathToFileURL(process.argv[1]).href) return;
  run(process.argv.slice(2)).then(
    (r) => {
      const out = opts.wrap === false ? r : { machine: machineInfo(), results: { [suite]: r } };
      process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    },
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
