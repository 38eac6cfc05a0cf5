// LoRA merge benchmark (issue 7): a synthetic base written as HF safetensors (seeded) + a
// rank-64 PEFT adapter over all seven targets with modules_to_save at vocab 49954 (the
// Alpaca-Plus/Pro step: the base already has LLaMA-Plus's 49953 rows), merged by
// `llamats merge` in a child process: wall time and the child's peak RSS. Side by side with
// the same merge in PyTorch when `python3 -c "import torch"` works, else "unavailable".
//   node --conditions=source --import=tsx benchmarks/src/lora.bench.ts [--shape 7b|tiny] [--layers N] [--threads N]
//        [--r N] [--output-type huggingface|pth|gguf] [--baseline DIR]
// --shape 7b writes ~13.5 GB (32 layers); --layers N keeps the 7B widths with N layers and
// extrapolates the full model's time linearly (embedding/lm_head cost is per model, not per layer).
// --baseline DIR: another llamats checkout (e.g. a git worktree of an earlier commit, with
// node_modules) merges the same inputs in the same run: times side by side, ratio, and
// whether the outputs are byte-identical. User/system CPU seconds come from /usr/bin/time.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { f32ToF16 } from "@llamats/tensor";
import { writeSafetensors } from "@llamats/formats";
import { fixturePath, mulberry32 } from "@llamats/testkit";
import { runStandalone } from "./harness.js";

interface Shape { dim: number; ffn: number; layers: number; heads: number; vocabBase: number; vocabLora: number; r: number }

interface MergeRun { seconds: number; userSeconds?: number; systemSeconds?: number; summary: Record<string, number> }

/** `llamats merge` of checkout `root` (from its TypeScript sources), timed; CPU seconds via /usr/bin/time when present. */
function timedMerge(root: string, dir: string, out: string, outputType: string, threads: string | undefined): MergeRun {
  const bin = join(root, "packages/cli/src/bin.ts");
  const argv = [process.execPath, "--conditions=source", "--import=tsx", bin, "merge", "--base", join(dir, "base"), "--lora", join(dir, "lora"),
    "--output-type", outputType, "--out", join(dir, out, "merged"), ...(threads ? ["--threads", threads] : [])]; // one folder name for every run: a GGUF's general.name comes from it
  const timeBin = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "cpu %U %S"] : [];
  const t1 = Date.now();
  const child = spawnSync(timeBin[0] ?? argv[0], [...timeBin.slice(1), ...(timeBin.length ? argv : argv.slice(1))], { encoding: "utf8", maxBuffer: 1 << 26, cwd: root });
  const seconds = (Date.now() - t1) / 1000;
  if (child.status !== 0) throw new Error(`llamats merge (${root}) failed: ${child.stderr.slice(-1000)}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(child.stderr);
  return { seconds, ...(cpu ? { userSeconds: Number(cpu[1]), systemSeconds: Number(cpu[2]) } : {}), summary: JSON.parse(child.stdout.trim().split("\n").pop()!) };
}

/** Whether two output folders hold the same files with the same bytes. */
function sameOutputs(a: string, b: string): boolean {
  const fa = readdirSync(a).sort(), fb = readdirSync(b).sort();
  if (fa.join() !== fb.join()) return false;
  return fa.every((f) => spawnSync("cmp", ["-s", join(a, f), join(b, f)]).status === 0);
}
const SHAPES: Record<string, Shape> = {
  "7b": { dim: 4096, ffn: 11008, layers: 32, heads: 32, vocabBase: 49953, vocabLora: 49954, r: 64 },
  tiny: { dim: 256, ffn: 688, layers: 4, heads: 4, vocabBase: 49953, vocabLora: 49954, r: 64 },
};

/** Seeded f16 noise of std ~`std`, cheap enough for gigabytes (a table of 4096 normals, xorshift index). */
function noiseF16(n: number, seed: number, std: number): Uint8Array {
  const rand = mulberry32(seed);
  const table = new Uint16Array(4096);
  for (let i = 0; i < 4096; i += 2) {
    const u1 = Math.max(rand(), 1e-12), u2 = rand(), m = Math.sqrt(-2 * Math.log(u1)) * std;
    table[i] = f32ToF16(m * Math.cos(2 * Math.PI * u2));
    table[i + 1] = f32ToF16(m * Math.sin(2 * Math.PI * u2));
  }
  const out = new Uint16Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = table[x & 4095];
  }
  return new Uint8Array(out.buffer);
}

const TARGETS = [["self_attn.q_proj", 0, 0], ["self_attn.k_proj", 0, 0], ["self_attn.v_proj", 0, 0], ["self_attn.o_proj", 0, 0],
  ["mlp.gate_proj", 1, 0], ["mlp.up_proj", 1, 0], ["mlp.down_proj", 0, 1]] as const; // [name, out is ffn, in is ffn]

function writeSynthetic(dir: string, s: Shape): { baseBytes: number; adapterBytes: number } {
  const base = join(dir, "base");
  const lora = join(dir, "lora");
  for (const d of [base, lora]) rmSync(d, { recursive: true, force: true });
  spawnSync("mkdir", ["-p", base, lora]);
  writeFileSync(join(base, "config.json"), JSON.stringify({
    architectures: ["LlamaForCausalLM"], hidden_size: s.dim, intermediate_size: s.ffn, num_attention_heads: s.heads,
    num_hidden_layers: s.layers, rms_norm_eps: 1e-6, vocab_size: s.vocabBase, model_type: "llama", torch_dtype: "float16",
  }));
  let seed = 1;
  const t = (name: string, shape: number[], std: number) => ({ name, dtype: "F16" as const, shape, data: () => noiseF16(shape[0] * (shape[1] ?? 1), seed++, std) });
  const baseTensors = [t("model.embed_tokens.weight", [s.vocabBase, s.dim], 0.02), t("lm_head.weight", [s.vocabBase, s.dim], 0.02), t("model.norm.weight", [s.dim], 1)];
  const loraTensors = [t("base_model.model.model.embed_tokens.weight", [s.vocabLora, s.dim], 0.02), t("base_model.model.lm_head.weight", [s.vocabLora, s.dim], 0.02)];
  for (let l = 0; l < s.layers; l++) {
    baseTensors.push(t(`model.layers.${l}.input_layernorm.weight`, [s.dim], 1), t(`model.layers.${l}.post_attention_layernorm.weight`, [s.dim], 1));
    for (const [m, outFfn, inFfn] of TARGETS) {
      const out = outFfn ? s.ffn : s.dim, inn = inFfn ? s.ffn : s.dim;
      baseTensors.push(t(`model.layers.${l}.${m}.weight`, [out, inn], 0.02));
      loraTensors.push(t(`base_model.model.model.layers.${l}.${m}.lora_A.weight`, [s.r, inn], 0.01));
      loraTensors.push(t(`base_model.model.model.layers.${l}.${m}.lora_B.weight`, [out, s.r], 0.001));
    }
  }
  const baseBytes = writeSafetensors(join(base, "model.safetensors"), baseTensors, { format: "pt" });
  writeFileSync(join(lora, "adapter_config.json"), JSON.stringify({
    peft_type: "LORA", r: s.r, lora_alpha: 2 * s.r, fan_in_fan_out: false, modules_to_save: ["embed_tokens", "lm_head"],
    target_modules: ["q_proj", "v_proj", "k_proj", "o_proj", "gate_proj", "down_proj", "up_proj"],
  }));
  const adapterBytes = writeSafetensors(join(lora, "adapter_model.safetensors"), loraTensors);
  return { baseBytes, adapterBytes };
}

const PY_MERGE = `
import sys, time, resource, torch
from safetensors.torch import load_file, save_file
base, lora, out, r, alpha = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
t0 = time.time()
sd = load_file(base + "/model.safetensors"); ld = load_file(lora + "/adapter_model.safetensors")
for k in list(sd.keys()):
    if "base_model.model." + k in ld: sd[k] = ld["base_model.model." + k].half()
    ka = "base_model.model." + k.replace(".weight", ".lora_A.weight")
    if ka in ld:
        kb = ka.replace("lora_A", "lora_B")
        sd[k] = (sd[k].float() + (ld[kb].float() @ ld[ka].float()) * (alpha / r)).half()
save_file(sd, out + "/model.safetensors", metadata={"format": "pt"})
print(time.time() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
`;

function torchSideBySide(dir: string, s: Shape): unknown {
  rmSync(join(dir, "out"), { recursive: true, force: true }); // disk: the 7B output is 13.5 GB
  const probe = spawnSync("python3", ["-c", "import torch, safetensors"], { encoding: "utf8" });
  if (probe.status !== 0) return "unavailable";
  spawnSync("mkdir", ["-p", join(dir, "out-torch")]);
  const r = spawnSync("python3", ["-c", PY_MERGE, join(dir, "base"), join(dir, "lora"), join(dir, "out-torch"), String(s.r), String(2 * s.r)], { encoding: "utf8" });
  if (r.status !== 0) return { error: r.stderr.slice(-500) };
  const [sec, rss] = r.stdout.trim().split(/\s+/).map(Number);
  return { seconds: sec, peakRssBytes: rss, threads: "torch default" };
}

export async function run(args: string[] = []): Promise<unknown> {
  const arg = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const shapeName = arg("--shape") ?? "tiny";
  const shape0 = SHAPES[shapeName];
  if (!shape0) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(", ")}`);
  const shape: Shape = { ...shape0, layers: Number(arg("--layers") ?? shape0.layers), r: Number(arg("--r") ?? shape0.r) };
  const outputType = arg("--output-type") ?? "huggingface";
  const baseline = arg("--baseline");
  const dir = mkdtempSync(join(tmpdir(), "llamats-lora-bench-"));
  try {
    const t0 = Date.now();
    const sizes = writeSynthetic(dir, shape);
    if (outputType === "gguf") {
      // A GGUF embeds the vocabulary: the shared fixtures' Alpaca tokenizer has the adapter's 49954 pieces.
      const tok = fixturePath("tiny/lora-alpaca/tokenizer.model");
      if (!existsSync(tok)) throw new Error(`--output-type gguf needs ${tok} (the shared fixtures) for the tokenizer`);
      copyFileSync(tok, join(dir, "lora", "tokenizer.model"));
    }
    const writeSec = (Date.now() - t0) / 1000;
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const ours = timedMerge(root, dir, "out", outputType, arg("--threads"));
    const full = SHAPES[shapeName];
    const report = (m: MergeRun) => ({
      seconds: m.seconds, mergeSeconds: m.summary.seconds, userSeconds: m.userSeconds, systemSeconds: m.systemSeconds,
      peakRssBytes: m.summary.peakRssBytes, peakRssGiB: +(m.summary.peakRssBytes / 2 ** 30).toFixed(3),
      tensorsMerged: m.summary.tensorsMerged, threads: m.summary.threads, secondsPerLayer: shape.layers ? +(m.summary.seconds / shape.layers).toFixed(2) : undefined,
      extrapolatedFullModelSeconds: shape.layers < full.layers ? Math.round((m.summary.seconds / shape.layers) * full.layers) : undefined,
    });
    const llamats = report(ours);
    let previous: unknown;
    if (baseline) {
      const theirs = timedMerge(baseline, dir, "out-baseline", outputType, arg("--threads"));
      previous = {
        checkout: baseline, ...report(theirs), speedup: +(theirs.summary.seconds / ours.summary.seconds).toFixed(2),
        cpuSpeedup: ours.userSeconds && theirs.userSeconds ? +(theirs.userSeconds / ours.userSeconds).toFixed(2) : undefined,
        sameBytes: sameOutputs(join(dir, "out", "merged"), join(dir, "out-baseline", "merged")),
      };
      rmSync(join(dir, "out-baseline"), { recursive: true, force: true });
    }
    const torch = torchSideBySide(dir, shape);
    return { shape: shapeName, ...shape, outputType, baseBytes: sizes.baseBytes, adapterBytes: sizes.adapterBytes, synthWriteSeconds: writeSec, llamats, ...(previous ? { previous } : {}), torch };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "lora", run, { wrap: false });
