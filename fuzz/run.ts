// Coverage-guided mutation fuzzer for the readers (fuzz/targets.ts).
//
//   npm run fuzz -- --target gguf --time 60      one target for 60 s
//   npm run fuzz -- --target all --time 5        every target, 5 s each (.ci/run)
//   options: --runs N (stop after N inputs), --seed N (PRNG seed), --no-coverage,
//            --cov-share F (share of the time spent coverage-guided; default 0.3),
//            --slow-ms N (an input slower than this is a finding; default 2000),
//            --json FILE (append one JSON line of stats per target)
//
// Why not @jazzer.js/core (libFuzzer): 4.0.0's prebuilt addon needs GLIBC 2.38 (Debian 12
// has 2.36) and 2.1.0 downloads its addon from github.com at install; neither works here.
// This driver does what matters for these parsers in plain Node: libFuzzer-style mutations
// (bit flips, interesting integers, length-field lies, insert/delete/splice) of a corpus
// seeded by our writers, kept only when an input reaches new code. "New code" is V8's own
// block coverage (inspector Profiler.takePreciseCoverage, per input, bucketed hit counts)
// over the packages' sources.
//
// A finding is any error that is not a LlamatsError (TypeError, RangeError, a crash...), or
// an input slower than --slow-ms (or the target's own bound, when larger). A target may be
// asynchronous (the server: its promise rejecting is a finding, and so is one that does not
// settle in time) and may bring a structure-aware mutator (the server's JSON mutator). Findings are written to fixtures/fuzz/<target>/ and run
// by fuzz/test/regressions.test.ts from then on; the driver exits 1.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { Session } from "node:inspector";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamatsError } from "@llamats/tensor";
import { scratchDir, targets, type FuzzTarget } from "./targets.js";
import { Mutator } from "./mutate.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Options { target: string; timeS: number; runs: number; seed: number; coverage: boolean; covShare: number; slowMs: number; json?: string }

function parseArgs(argv: string[]): Options {
  const o: Options = { target: "all", timeS: 10, runs: Infinity, seed: Date.now() & 0x7fffffff, coverage: true, covShare: 0.3, slowMs: 2000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === "--target") o.target = next();
    else if (a === "--time") o.timeS = Number(next());
    else if (a === "--runs") o.runs = Number(next());
    else if (a === "--seed") o.seed = Number(next());
    else if (a === "--slow-ms") o.slowMs = Number(next());
    else if (a === "--cov-share") o.covShare = Number(next());
    else if (a === "--json") o.json = next();
    else if (a === "--no-coverage") o.coverage = false;
    else if (a === "--help" || a === "-h") usage();
    else usage(`unknown argument ${a}`);
  }
  if (!(o.timeS > 0) || !(o.runs > 0)) usage("--time and --runs must be positive");
  if (o.target !== "all" && !targets.some((t) => t.name === o.target)) usage(`unknown target ${o.target}`);
  return o;
}

function usage(err?: string): never {
  const out = `usage: npm run fuzz -- [--target NAME|all] [--time S] [--runs N] [--seed N] [--no-coverage] [--cov-share F] [--slow-ms N] [--json FILE]\n` +
    `targets:\n${targets.map((t) => `  ${t.name.padEnd(15)} ${t.what}`).join("\n")}\n`;
  if (err) {
    process.stderr.write(`fuzz: error: ${err}\n${out}`);
    process.exit(2);
  }
  process.stdout.write(out);
  process.exit(0);
}

/** V8 block coverage of the packages' sources, as a set of (block, hit-count bucket) features. */
class Coverage {
  private readonly session = new Session();
  readonly seen = new Set<string>();
  constructor() {
    this.session.connect();
    this.post("Profiler.enable");
  }
  start(): void {
    this.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
    this.take(); // drop what ran between phases
  }
  stop(): void {
    this.post("Profiler.stopPreciseCoverage");
  }
  private post(method: string, params?: object): any {
    let out: any;
    let error: Error | null = null;
    // A same-thread inspector session answers synchronously.
    this.session.post(method, params, (err, res) => {
      error = err;
      out = res;
    });
    if (error) throw error;
    return out;
  }
  /** New features reached since the last call (the counters reset on every take). */
  take(): number {
    const res = this.post("Profiler.takePreciseCoverage") as { result: Array<{ url: string; scriptId: string; functions: Array<{ ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }> };
    let fresh = 0;
    for (const script of res.result) {
      if (!script.url.includes("/packages/") || script.url.includes("/node_modules/")) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const bucket = r.count < 4 ? r.count : 31 - Math.clz32(r.count) + 3; // 1,2,3,4-7,8-15,...
          const key = `${script.scriptId}:${r.startOffset}:${r.endOffset}:${bucket}`;
          if (!this.seen.has(key)) {
            this.seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }
  close(): void {
    this.session.disconnect();
  }
}

interface Stats { target: string; inputs: number; seconds: number; execPerS: number; corpus: number; features: number | null; findings: string[] }

function regressionDir(t: FuzzTarget): string {
  return join(root, "fixtures", "fuzz", t.name);
}

type Finding = string | undefined;

function describeError(err: unknown): Finding {
  if (err instanceof LlamatsError) return undefined;
  return `${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}\n${(err as Error)?.stack ?? ""}`;
}

/**
 * Run one input; a description of the finding, or undefined when it behaved. A synchronous
 * target answers synchronously; an asynchronous one (the server) gets a promise, which is a
 * finding too ("hang") when it has not settled within slowMs.
 */
export function check(t: FuzzTarget, data: Uint8Array, slowMs: number): Finding | Promise<Finding> {
  const t0 = performance.now();
  const timed = (f: Finding): Finding => {
    if (f) return f;
    const ms = performance.now() - t0;
    return ms > slowMs ? `slow: ${ms.toFixed(0)} ms (limit ${slowMs} ms)` : undefined;
  };
  let pending: void | Promise<void>;
  try {
    pending = t.run(data);
  } catch (err) {
    return timed(describeError(err));
  }
  if (!pending) return timed(undefined);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Finding>((resolve) => {
    timer = setTimeout(() => resolve(`hang: no answer within ${slowMs} ms`), slowMs);
  });
  return Promise.race([pending.then(() => timed(undefined), (err) => timed(describeError(err))), hang]).finally(() => clearTimeout(timer));
}

async function fuzzTarget(t: FuzzTarget, o: Options, cov: Coverage | undefined): Promise<Stats> {
  const rng = new Mutator(o.seed);
  const corpus: Uint8Array[] = [];
  const findings: string[] = [];
  // A target with its own structure-aware mutator (libFuzzer's custom mutator) gets it for half the inputs.
  const next = (): Uint8Array => {
    const a = corpus[rng.int(corpus.length)];
    return (t.mutate && rng.int(2) ? t.mutate(a, rng) : undefined) ?? rng.mutate(a, corpus[rng.int(corpus.length)]);
  };
  /** Run one input; true when it was a finding. `blind`: coverage is off (fast phase). */
  const consider = (data: Uint8Array, alwaysKeep: boolean, blind = false): boolean | Promise<boolean> => {
    const answer = check(t, data, Math.max(o.slowMs, t.slowMs ?? 0));
    return answer instanceof Promise ? answer.then((f) => record(data, f, alwaysKeep, blind)) : record(data, answer, alwaysKeep, blind);
  };
  const record = (data: Uint8Array, finding: Finding, alwaysKeep: boolean, blind: boolean): boolean => {
    const fresh = cov && !blind ? cov.take() : 0;
    if (finding) {
      const hash = createHash("sha1").update(data).digest("hex").slice(0, 16);
      const dir = regressionDir(t);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `crash-${hash}.bin`);
      writeFileSync(file, data);
      findings.push(`${file}: ${finding.split("\n")[0]}`);
      process.stderr.write(`fuzz[${t.name}]: FINDING ${file}\n${finding}\n`);
      return true;
    }
    if (alwaysKeep || fresh > 0) corpus.push(data);
    return false;
  };
  await t.init?.();
  cov?.start();
  for (const s of t.seeds()) await consider(s, true);
  // Earlier regression files stay in the corpus: they mark the interesting corners.
  try {
    for (const f of readdirSync(regressionDir(t))) await consider(new Uint8Array(readFileSync(join(regressionDir(t), f))), false);
  } catch { /* no regression files yet */ }
  cov?.stop();
  const t0 = performance.now();
  let inputs = 0;
  const deadline = t0 + o.timeS * 1000;
  // V8's block counters slow the readers ~30x (instrumented code is not optimised), so a
  // campaign alternates: a coverage phase (each input followed by a take; inputs reaching
  // new blocks join the corpus) then a fast phase with coverage off that mutates that corpus
  // at full speed. --cov-share is the coverage phases' share of the time.
  const ROUND_MS = Math.min(10_000, o.timeS * 1000);
  while (inputs < o.runs && performance.now() < deadline && findings.length < 10) {
    const roundStart = performance.now();
    const covEnd = cov ? roundStart + ROUND_MS * o.covShare : roundStart;
    const roundEnd = Math.min(deadline, roundStart + ROUND_MS);
    if (cov) cov.start();
    while (inputs < o.runs && performance.now() < covEnd && performance.now() < deadline && findings.length < 10) {
      const r = consider(next(), false);
      if (r instanceof Promise) await r;
      inputs++;
    }
    if (cov) cov.stop();
    while (inputs < o.runs && performance.now() < roundEnd && findings.length < 10) {
      for (let i = 0; i < 32 && inputs < o.runs; i++, inputs++) {
        const r = consider(next(), false, true);
        if (r instanceof Promise) await r;
      }
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    target: t.name, inputs, seconds: Number(seconds.toFixed(1)), execPerS: Math.round(inputs / seconds),
    corpus: corpus.length, features: cov ? cov.seen.size : null, findings,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const chosen = o.target === "all" ? targets : targets.filter((t) => t.name === o.target);
  let failed = false;
  try {
    for (const t of chosen) {
      // Coverage features are per target: a fresh session so one target's blocks do not hide another's.
      const cov = o.coverage ? new Coverage() : undefined;
      const s = await fuzzTarget(t, o, cov);
      await t.close?.();
      cov?.close();
      failed ||= s.findings.length > 0;
      process.stdout.write(`${JSON.stringify(s)}\n`);
      if (o.json) appendFileSync(o.json, `${JSON.stringify({ ...s, seed: o.seed, date: new Date().toISOString() })}\n`);
    }
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void main();
