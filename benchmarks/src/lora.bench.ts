// LoRA merge benchmark (issues 7, 22): a synthetic LLaMA base in the seed's input format (HF
// torch.save shards pytorch_model-0000i-of-00002.bin + index, seeded f16 noise) and PEFT
// adapters (adapter_model.bin) over all seven targets with modules_to_save, merged by
// `llamats merge` in a child process, and in the same run by PyTorch the seed's way
// (merge_llama_with_chinese_lora_low_mem.py: one shard at a time, torch.load, per key
// replace then W += B.float() @ A.float() * scale, torch.save; pth output through
// L{i}-consolidated.00.pth partials and merge_shards), torch.set_num_threads(--threads), on
// the same files: wall, user/system CPU and peak RSS (/usr/bin/time) of both processes, the
// ratio, and whether every merged tensor has the same bytes. PyTorch does not write GGUF
// (f16 or quantized): there only ours is reported.
//   node --conditions=source --import=tsx benchmarks/src/lora.bench.ts [--shape 7b|tiny] [--layers N] [--threads N]
//        [--r N] [--output-type huggingface|pth|gguf] [--dtype f16|q4_0|...] [--chain] [--baseline DIR] [--no-torch] [--keep]
// --shape 7b: dim 4096, ffn 11008, vocab 49953; 32 layers write ~13.5 GB: --layers N keeps the
// 7B widths with N layers (and the full-size embeddings/lm_head) and extrapolates per layer.
// --chain: the Plus/Pro merge of two adapters: a 32000-row base, a rank-8 LLaMA-Plus-like LoRA
// (modules_to_save at 49953 rows), then the rank --r Alpaca-like one (49954 rows).
// --baseline DIR: another llamats checkout (e.g. an earlier commit with node_modules) merges
// the same inputs in the same run: times side by side and whether the outputs are byte-identical.
// Python: /usr/bin/python3 (Debian's python3-torch) unless LLAMATS_BENCH_PYTHON names another.
// Big files go under LLAMATS_BENCH_DIR (default the OS temp dir) and are removed at the end.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { f32ToF16 } from "@llamats/tensor";
import { writeTorchCheckpoint, type TorchTensorInput } from "@llamats/formats";
import { fixturePath, mulberry32 } from "@llamats/testkit";
import { runStandalone } from "./harness.js";

interface Shape { dim: number; ffn: number; layers: number; heads: number; vocabBase: number; vocabLora: number; r: number }

/** One process's cost, from /usr/bin/time where present. */
interface Timed { seconds: number; userSeconds?: number; systemSeconds?: number; maxRssBytes?: number }
interface MergeRun extends Timed { summary: Record<string, number> }

const TIME_FORMAT = "cpu %U %S %M";

/** Runs argv under /usr/bin/time (when present): wall seconds, CPU seconds, peak RSS. */
function timed(argv: string[], cwd: string, what: string): Timed & { stdout: string } {
  const timeBin = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", TIME_FORMAT] : [];
  const cmd = [...timeBin, ...argv];
  spawnSync("sync"); // every run starts with no earlier writes still being flushed (the inputs, the previous run's output)
  const t1 = Date.now();
  const child = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", maxBuffer: 1 << 26, cwd });
  const seconds = (Date.now() - t1) / 1000;
  if (child.status !== 0) throw new Error(`${what} failed: ${child.stderr.slice(-1500)}`);
  const cpu = /cpu ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(child.stderr);
  return { seconds, ...(cpu ? { userSeconds: Number(cpu[1]), systemSeconds: Number(cpu[2]), maxRssBytes: Number(cpu[3]) * 1024 } : {}), stdout: child.stdout };
}

interface MergeJob { dir: string; loras: string[]; outputType: string; dtype?: string; threads: string }

/** `llamats merge` of checkout `root` (from its TypeScript sources), timed. */
function timedMerge(root: string, job: MergeJob, out: string): MergeRun {
  const bin = join(root, "packages/cli/src/bin.ts");
  const argv = [process.execPath, "--conditions=source", "--import=tsx", bin, "merge", "--base", join(job.dir, "base"),
    "--lora", job.loras.map((l) => join(job.dir, l)).join(","), "--output-type", job.outputType, ...(job.dtype ? ["--dtype", job.dtype] : []),
    "--out", join(job.dir, out, "merged"), "--threads", job.threads]; // one folder name for every run: a GGUF's general.name comes from it
  const r = timed(argv, root, `llamats merge (${root})`);
  return { ...r, summary: JSON.parse(r.stdout.trim().split("\n").pop()!) };
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

let seed = 1;
const f16Tensor = (name: string, shape: number[], std: number): TorchTensorInput => {
  const s = seed++;
  return { name, dtype: "f16", shape, data: () => noiseF16(shape[0]! * (shape[1] ?? 1), s, std) };
};

/** The base as the seed reads it: config.json, two torch.save shards and their index. */
function writeBase(dir: string, s: Shape, vocab: number): number {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify({
    architectures: ["LlamaForCausalLM"], hidden_size: s.dim, intermediate_size: s.ffn, num_attention_heads: s.heads,
    num_hidden_layers: s.layers, rms_norm_eps: 1e-6, vocab_size: vocab, model_type: "llama", torch_dtype: "float16",
  }));
  const layer = (l: number): TorchTensorInput[] => [
    ...TARGETS.map(([m, outFfn, inFfn]) => f16Tensor(`model.layers.${l}.${m}.weight`, [outFfn ? s.ffn : s.dim, inFfn ? s.ffn : s.dim], 0.02)),
    f16Tensor(`model.layers.${l}.input_layernorm.weight`, [s.dim], 1), f16Tensor(`model.layers.${l}.post_attention_layernorm.weight`, [s.dim], 1),
  ];
  const half = Math.ceil(s.layers / 2);
  const shards: TorchTensorInput[][] = [
    [f16Tensor("model.embed_tokens.weight", [vocab, s.dim], 0.02), ...Array.from({ length: half }, (_, l) => layer(l)).flat()],
    [...Array.from({ length: s.layers - half }, (_, l) => layer(half + l)).flat(), f16Tensor("model.norm.weight", [s.dim], 1), f16Tensor("lm_head.weight", [vocab, s.dim], 0.02)],
  ];
  const weightMap: Record<string, string> = {};
  let total = 0;
  shards.forEach((tensors, i) => {
    const name = `pytorch_model-0000${i + 1}-of-00002.bin`;
    writeTorchCheckpoint(join(dir, name), tensors);
    for (const t of tensors) {
      weightMap[t.name] = name;
      total += t.shape.reduce((x, d) => x * d, 1) * 2;
    }
  });
  writeFileSync(join(dir, "pytorch_model.bin.index.json"), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return total;
}

/** A PEFT adapter (adapter_model.bin) of rank r on all seven targets, embed_tokens/lm_head of `vocab` rows saved. */
function writeAdapter(dir: string, s: Shape, r: number, vocab: number): number {
  mkdirSync(dir, { recursive: true });
  const tensors = [f16Tensor("base_model.model.model.embed_tokens.weight", [vocab, s.dim], 0.02), f16Tensor("base_model.model.lm_head.weight", [vocab, s.dim], 0.02)];
  for (let l = 0; l < s.layers; l++) {
    for (const [m, outFfn, inFfn] of TARGETS) {
      tensors.push(f16Tensor(`base_model.model.model.layers.${l}.${m}.lora_A.weight`, [r, inFfn ? s.ffn : s.dim], 0.01));
      tensors.push(f16Tensor(`base_model.model.model.layers.${l}.${m}.lora_B.weight`, [outFfn ? s.ffn : s.dim, r], 0.001));
    }
  }
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify({
    peft_type: "LORA", r, lora_alpha: 2 * r, fan_in_fan_out: false, modules_to_save: ["embed_tokens", "lm_head"],
    target_modules: ["q_proj", "v_proj", "k_proj", "o_proj", "gate_proj", "down_proj", "up_proj"],
  }));
  writeTorchCheckpoint(join(dir, "adapter_model.bin"), tensors);
  return tensors.reduce((x, t) => x + t.shape.reduce((y, d) => y * d, 1) * 2, 0);
}

// The seed's low-memory merge (merge_llama_with_chinese_lora_low_mem.py), restated for these
// inputs: same loop order, same arithmetic (f16 += f32 delta * scaling), same outputs
// (torch.save of each merged HF shard; for pth, per-shard L{i}-consolidated.00.pth partials
// with translated keys and un-permuted wq/wk, then merge_shards).
const PY_MERGE = String.raw`
import sys, os, re, json, torch
torch.set_num_threads(int(sys.argv[1]))
base, loras, out, otype = sys.argv[2], sys.argv[3].split(","), sys.argv[4], sys.argv[5]
os.makedirs(out, exist_ok=True)
lora_sds, scalings, fifos = [], [], []
for d in loras:
    c = json.load(open(os.path.join(d, "adapter_config.json")))
    lora_sds.append(torch.load(os.path.join(d, "adapter_model.bin"), map_location="cpu"))
    scalings.append(c["lora_alpha"] / c["r"]); fifos.append(c["fan_in_fan_out"])
cfg = json.load(open(os.path.join(base, "config.json")))
n_heads, dim = cfg["num_attention_heads"], cfg["hidden_size"]
def transpose(w, f): return w.T if f else w
def unpermute(w): return w.view(n_heads, 2, dim // n_heads // 2, dim).transpose(1, 2).reshape(dim, dim)
def translate(k):
    k = k.replace("base_model.model.", "")
    if k == "model.embed_tokens.weight": return "tok_embeddings.weight"
    if k == "model.norm.weight": return "norm.weight"
    if k == "lm_head.weight": return "output.weight"
    if k.startswith("model.layers."):
        l = k.split(".")[2]
        for a, b in [("self_attn.q_proj", "attention.wq"), ("self_attn.k_proj", "attention.wk"), ("self_attn.v_proj", "attention.wv"),
                     ("self_attn.o_proj", "attention.wo"), ("mlp.gate_proj", "feed_forward.w1"), ("mlp.down_proj", "feed_forward.w2"),
                     ("mlp.up_proj", "feed_forward.w3"), ("input_layernorm", "attention_norm"), ("post_attention_layernorm", "ffn_norm")]:
            if k.endswith("." + a + ".weight"): return f"layers.{l}.{b}.weight"
        if k.endswith("rotary_emb.inv_freq") or "lora" in k: return None
    raise NotImplementedError(k)
shards = sorted(f for f in os.listdir(base) if re.match(r"pytorch_model-(\d+)-of-(\d+)\.bin", f))
for idx, shard in enumerate(shards):
    sd = torch.load(os.path.join(base, shard), map_location="cpu")
    for k in sd:
        for li, lsd in enumerate(lora_sds):
            if "base_model.model." + k in lsd:
                sd[k] = lsd["base_model.model." + k].half()
            ka = "base_model.model." + k.replace(".weight", ".lora_A.weight")
            if ka in lsd:
                kb = ka.replace("lora_A", "lora_B")
                sd[k] += transpose(lsd[kb].float() @ lsd[ka].float(), fifos[li]) * scalings[li]
    if otype == "huggingface":
        torch.save(sd, os.path.join(out, shard))
    else:
        new_sd = {}
        for k, v in sd.items():
            nk = translate(k)
            if nk is None: continue
            if "wq" in nk or "wk" in nk: v = unpermute(v)
            new_sd[nk] = v
        torch.save(new_sd, os.path.join(out, f"L{idx}-consolidated.00.pth"))
    del sd
if otype == "pth":
    names = sorted(f for f in os.listdir(out) if re.match(r"L(\d+)-consolidated.00.pth", f))
    dicts = []
    for f in names:
        dicts.append(torch.load(os.path.join(out, f), map_location="cpu")); os.remove(os.path.join(out, f))
    merged = {}
    for d in dicts: merged.update(d)
    torch.save(merged, os.path.join(out, "consolidated.00.pth"))
    json.dump({"dim": dim, "multiple_of": 256, "n_heads": n_heads, "n_layers": cfg["num_hidden_layers"], "norm_eps": cfg["rms_norm_eps"], "vocab_size": -1}, open(os.path.join(out, "params.json"), "w"))
`;

// Every tensor of two output folders (torch .bin/.pth, safetensors), compared by bytes. Not timed.
const PY_COMPARE = String.raw`
import sys, os, json, struct, numpy as np, torch
def tensors(d):
    out = {}
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        if f.endswith(".safetensors"):
            with open(p, "rb") as fh:
                n = struct.unpack("<Q", fh.read(8))[0]; hdr = json.loads(fh.read(n))
            mm = np.memmap(p, dtype=np.uint8, mode="r", offset=8 + n)
            for k, v in hdr.items():
                if k != "__metadata__": out[k] = lambda mm=mm, v=v: bytes(mm[v["data_offsets"][0]:v["data_offsets"][1]])
        elif f.endswith(".bin") or f.endswith(".pth"):
            for k, v in torch.load(p, map_location="cpu").items(): out[k] = lambda v=v: v.contiguous().numpy().tobytes()
    return out
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
common = sorted(set(a) & set(b))
diff = [k for k in common if a[k]() != b[k]()]
print(json.dumps({"tensors": len(common), "sameBytes": len(common) - len(diff), "differ": diff[:10], "onlyOurs": sorted(set(a) - set(b))[:10], "onlyTorch": sorted(set(b) - set(a))[:10]}))
`;

const PYTHON = process.env.LLAMATS_BENCH_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

function torchMerge(job: MergeJob): Timed | string {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return "unavailable";
  const out = join(job.dir, "out-torch");
  rmSync(out, { recursive: true, force: true });
  const r = timed([PYTHON, "-c", PY_MERGE, job.threads, join(job.dir, "base"), job.loras.map((l) => join(job.dir, l)).join(","), out, job.outputType], job.dir, "PyTorch merge");
  return { seconds: r.seconds, userSeconds: r.userSeconds, systemSeconds: r.systemSeconds, maxRssBytes: r.maxRssBytes };
}

function compareWithTorch(dir: string): unknown {
  const r = spawnSync(PYTHON, ["-c", PY_COMPARE, join(dir, "out", "merged"), join(dir, "out-torch")], { encoding: "utf8", maxBuffer: 1 << 24 });
  return r.status === 0 ? JSON.parse(r.stdout) : { error: r.stderr.slice(-800) };
}

const gib = (b: number | undefined): number | undefined => (b === undefined ? undefined : +(b / 2 ** 30).toFixed(3));
const ratio = (x: number | undefined, y: number | undefined): number | undefined => (x && y ? +(x / y).toFixed(2) : undefined);

/** lscpu's model name and flags that matter to WebAssembly SIMD / PyTorch, and the load now. */
function machineNow(): Record<string, unknown> {
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? "";
  const field = (n: string) => new RegExp(`^${n}:\s*(.*)$`, "m").exec(lscpu)?.[1]?.trim();
  const flags = (field("Flags") ?? "").split(" ").filter((f) => /^(sse4_2|avx|avx2|fma|f16c|avx512f)$/.test(f));
  return { cpuModel: field("Model name"), cpus: field("CPU\\(s\\)"), flags, loadavg: (spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout ?? "").trim() };
}

export async function run(args: string[] = []): Promise<unknown> {
  const arg = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const shapeName = arg("--shape") ?? "tiny";
  const shape0 = SHAPES[shapeName];
  if (!shape0) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(", ")}`);
  const shape: Shape = { ...shape0, layers: Number(arg("--layers") ?? shape0.layers), r: Number(arg("--r") ?? shape0.r) };
  const outputType = arg("--output-type") ?? "huggingface";
  const dtype = arg("--dtype");
  const chain = args.includes("--chain");
  const threads = arg("--threads") ?? "2";
  const baseline = arg("--baseline");
  const root0 = process.env.LLAMATS_BENCH_DIR ?? tmpdir();
  mkdirSync(root0, { recursive: true });
  const dir = mkdtempSync(join(root0, "llamats-lora-bench-"));
  const before = machineNow();
  try {
    const t0 = Date.now();
    seed = 1;
    const baseVocab = chain ? 32000 : shape.vocabBase;
    const baseBytes = writeBase(join(dir, "base"), shape, baseVocab);
    const loras = chain ? ["lora-plus", "lora"] : ["lora"];
    let adapterBytes = 0;
    if (chain) adapterBytes += writeAdapter(join(dir, "lora-plus"), shape, 8, shape.vocabBase);
    adapterBytes += writeAdapter(join(dir, "lora"), shape, shape.r, shape.vocabLora);
    if (outputType === "gguf") {
      // A GGUF embeds the vocabulary: the shared fixtures' Alpaca tokenizer has the adapter's 49954 pieces.
      const tok = fixturePath("tiny/lora-alpaca/tokenizer.model");
      if (!existsSync(tok)) throw new Error(`--output-type gguf needs ${tok} (the shared fixtures) for the tokenizer`);
      copyFileSync(tok, join(dir, "lora", "tokenizer.model"));
    }
    const writeSec = (Date.now() - t0) / 1000;
    const job: MergeJob = { dir, loras, outputType, ...(dtype ? { dtype } : {}), threads };
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const full = SHAPES[shapeName]!;
    const report = (m: MergeRun) => ({
      seconds: m.seconds, mergeSeconds: m.summary.seconds, userSeconds: m.userSeconds, systemSeconds: m.systemSeconds,
      peakRssGiB: gib(m.maxRssBytes ?? m.summary.peakRssBytes), sampledPeakRssGiB: gib(m.summary.peakRssBytes),
      tensorsMerged: m.summary.tensorsMerged, threads: m.summary.threads,
      extrapolatedFullModelSeconds: shape.layers < full.layers ? Math.round((m.seconds / shape.layers) * full.layers) : undefined,
    });
    const ours = timedMerge(root, job, "out");
    const llamats = report(ours);
    let previous: unknown;
    if (baseline) {
      const theirs = timedMerge(baseline, job, "out-baseline");
      previous = {
        checkout: baseline, ...report(theirs), speedup: ratio(theirs.seconds, ours.seconds), cpuSpeedup: ratio(theirs.userSeconds, ours.userSeconds),
        sameBytes: sameOutputs(join(dir, "out", "merged"), join(dir, "out-baseline", "merged")),
      };
      rmSync(join(dir, "out-baseline"), { recursive: true, force: true });
    }
    let torch: unknown = "PyTorch does not write GGUF: ours only";
    if (outputType !== "gguf" && !args.includes("--no-torch")) {
      const t = torchMerge(job);
      torch = typeof t === "string" ? t : {
        ...t, peakRssGiB: gib(t.maxRssBytes), threads: Number(threads), speedupVsTorch: ratio(t.seconds, ours.seconds),
        cpuRatio: ratio((t.userSeconds ?? 0) + (t.systemSeconds ?? 0), (ours.userSeconds ?? 0) + (ours.systemSeconds ?? 0)),
        outputs: compareWithTorch(dir),
      };
    }
    return {
      shape: shapeName, ...shape, chain, outputType, dtype: dtype ?? (outputType === "gguf" ? "f16" : undefined), baseVocab, baseBytes, adapterBytes,
      synthWriteSeconds: writeSec, machineBefore: before, machineAfter: machineNow(), llamats, ...(previous ? { previous } : {}), torch,
    };
  } finally {
    if (args.includes("--keep")) process.stderr.write(`inputs kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "lora", run, { wrap: false });
