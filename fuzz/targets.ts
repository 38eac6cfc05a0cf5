// Fuzz targets: one per reader/decoder. Each target turns bytes into a call of the public
// reader and reads everything the reader offers (all tensors), so lying offsets are
// exercised too. Seeds are built by our own writers (never copied fixtures). The invariant
// every target shares is checked by the driver (run.ts): only a LlamatsError may escape.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { GGMLType } from "@llamats/tensor";
import {
  formatMetaParams, gguf, openGguf, openLlama2c, openModelSourceSync, openSafetensors, openTorchCheckpoint,
  readMetaParams, unpickle, writeGguf, writeSafetensors, writeTorchCheckpoint, ZipReader,
} from "@llamats/formats";
import { encodeModelProto, parseModelProto, Tokenizer, type ModelProto } from "@llamats/tokenizer";
import { syntheticModel } from "../packages/tokenizer/test/synthetic.js";
import { parseAdapterConfig } from "@llamats/lora";
import type { Mutator } from "./mutate.js";
import { serverTarget } from "./server-target.js";

export interface FuzzTarget {
  readonly name: string;
  readonly what: string;
  /** Valid inputs built by our writers. */
  seeds(): Uint8Array[];
  /**
   * Feed one input; throws only LlamatsError for bad input. An asynchronous target returns a
   * promise that rejects with anything else on a finding (the server: a 5xx answer).
   */
  run(data: Uint8Array): void | Promise<void>;
  /**
   * Time one input may take, when more than --slow-ms: the server target's work per input is
   * bounded (16 choices x a 32-token context) but not small on a loaded machine.
   */
  readonly slowMs?: number;
  /** Set-up before the first input, outside its time (the server target loads a model). */
  init?(): Promise<void>;
  /** A structure-aware mutation of `data` (undefined: use the byte mutator). */
  mutate?(data: Uint8Array, m: Mutator): Uint8Array | undefined;
  /** Release what the target holds (the server target's model). */
  close?(): void | Promise<void>;
}

// Inputs go through a file (the readers take paths); a RAM-backed folder when there is one.
const scratch = mkdtempSync(join(process.platform === "linux" ? "/dev/shm" : tmpdir(), "llamats-fuzz-"));
export const scratchDir = scratch;
/** `name` is "target/file": each target has its own folder (a reader may look beside its file). */
function asFile(name: string, data: Uint8Array): string {
  const p = join(scratch, name);
  try {
    writeFileSync(p, data);
  } catch {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }
  return p;
}
function built(name: string, write: (path: string) => void): Uint8Array {
  const p = join(scratch, `seed-${name}`);
  write(p);
  return readFileSync(p);
}

const f16 = (n: number): Uint8Array => new Uint8Array(n * 2).map((_, i) => (i * 37) & 0xff);

function seedGguf(): Uint8Array[] {
  return [
    built("a.gguf", (p) => writeGguf(p, {
      kv: [
        gguf.str("general.architecture", "llama"), gguf.u32("llama.attention.head_count", 2),
        gguf.u32("llama.embedding_length", 8), gguf.u32("llama.block_count", 1),
        gguf.array("tokenizer.ggml.tokens", 8 /* STRING */, ["<unk>", "<s>", "</s>", "▁a"]),
        gguf.array("tokenizer.ggml.scores", 6 /* FLOAT32 */, [0, 0, 0, -1]),
      ],
      tensors: [
        { name: "token_embd.weight", type: GGMLType.F16, shape: [4, 8], data: f16(32) },
        { name: "blk.0.attn_q.weight", type: GGMLType.F32, shape: [8, 8], data: new Uint8Array(256) },
        { name: "q", type: GGMLType.Q4_0, shape: [1, 32], data: new Uint8Array(18) },
      ],
    })),
    built("b.gguf", (p) => writeGguf(p, { kv: [gguf.str("general.name", "x")], tensors: [] })),
  ];
}

function seedSafetensors(): Uint8Array[] {
  return [
    built("a.safetensors", (p) => writeSafetensors(p, [
      { name: "model.embed_tokens.weight", dtype: "F16", shape: [4, 8], data: f16(32) },
      { name: "model.layers.0.self_attn.q_proj.weight", dtype: "BF16", shape: [8, 8], data: f16(64) },
      { name: "b", dtype: "F32", shape: [2], data: new Uint8Array(8) },
    ], { format: "pt" })),
  ];
}

function seedTorch(): Uint8Array[] {
  return [
    built("a.bin", (p) => writeTorchCheckpoint(p, [
      { name: "model.embed_tokens.weight", dtype: "f16", shape: [4, 8], data: f16(32) },
      { name: "lm_head.weight", dtype: "f32", shape: [2, 2], data: new Uint8Array(16) },
      { name: "x", dtype: "bf16", shape: [3], data: f16(3) },
    ])),
  ];
}

/** The data.pkl of a torch zip (stored, so its bytes sit in the zip as they are). */
function seedPickle(): Uint8Array[] {
  return seedTorch().map((z) => {
    const p = asFile("pickle/seed.bin", z);
    const zip = ZipReader.open(p);
    try {
      return zip.read(zip.entries.find((e) => e.name.endsWith("/data.pkl"))!).slice();
    } finally {
      zip.file.close();
    }
  });
}

function seedLlama2c(): Uint8Array[] {
  const dim = 8, hidden = 4, layers = 1, vocab = 3, seq = 2, heads = 2;
  const n = vocab * dim + layers * (2 * dim + 4 * dim * dim + 3 * dim * hidden) + dim + seq * (dim / heads);
  return [Buffer.concat([Buffer.from(new Int32Array([dim, hidden, layers, heads, heads, vocab, seq]).buffer), Buffer.alloc(n * 4)])];
}

function syntheticProto(): ModelProto {
  return syntheticModel({ pieces: [["▁", -1], ["中文", -2.5], ["ab", -3], ["▁Hello", -1.5]] });
}

function seedProto(): Uint8Array[] {
  return [encodeModelProto(syntheticProto())];
}

const te = new TextEncoder();
const adapterConfig = {
  base_model_name_or_path: "llama-7b-hf", bias: "none", fan_in_fan_out: false, inference_mode: true, lora_alpha: 32.0,
  lora_dropout: 0.05, modules_to_save: ["embed_tokens", "lm_head"], peft_type: "LORA", r: 8,
  target_modules: ["q_proj", "v_proj"], task_type: "CAUSAL_LM",
};

let decodeTok: Tokenizer | undefined;

/** Read every item an opened reader lists, then close it (errors included). */
function readAll<T>(opened: { close(): void }, items: readonly T[], read: (item: T) => unknown): void {
  try {
    for (const item of items) read(item);
  } finally {
    opened.close();
  }
}

export const targets: readonly FuzzTarget[] = [
  {
    name: "gguf", what: "GGUF header, metadata and tensor table; every tensor read",
    seeds: seedGguf,
    run(data) {
      const g = openGguf(asFile("gguf/in.gguf", data));
      readAll(g, g.tensors, (t) => g.readTensor(t));
    },
  },
  {
    name: "safetensors", what: "safetensors header JSON and data offsets; every tensor read",
    seeds: seedSafetensors,
    run(data) {
      const s = openSafetensors(asFile("safetensors/in.safetensors", data));
      readAll(s, s.tensors, (t) => s.readTensor(t));
    },
  },
  {
    name: "zip", what: "the zip reader (central directory, local headers, CRC)",
    seeds: seedTorch,
    run(data) {
      const z = ZipReader.open(asFile("zip/in.zip", data), { verifyCrc: true });
      readAll(z.file, z.entries, (e) => z.read(e));
    },
  },
  {
    name: "pickle", what: "the restricted unpickler (data.pkl bytes)",
    seeds: seedPickle,
    run(data) {
      unpickle(data, "in.pkl");
    },
  },
  {
    name: "torch", what: "torch.save zip checkpoints end to end; every tensor read",
    seeds: seedTorch,
    run(data) {
      const c = openTorchCheckpoint(asFile("torch/in.bin", data));
      readAll(c, c.tensors, (t) => c.read(t.name));
    },
  },
  {
    name: "meta-params", what: "Meta params.json",
    seeds: () => [te.encode(formatMetaParams({ dim: 4096, multiple_of: 256, n_heads: 32, n_layers: 32, norm_eps: 1e-6, vocab_size: -1 }))],
    run(data) {
      readMetaParams(asFile("meta/params.json", data));
    },
  },
  {
    name: "llama2c", what: "llama2.c checkpoint header and tensor layout; every tensor read",
    seeds: seedLlama2c,
    run(data) {
      const m = openLlama2c(asFile("llama2c/in.bin", data));
      readAll(m, m.tensors, (t) => m.readTensor(t.name));
    },
  },
  {
    name: "source", what: "openModelSourceSync's sniffing over any file kind; every tensor read",
    // Names a model source passes through as they are (no config.json beside the file; a
    // torch file needs one, so the torch target covers those).
    seeds: () => [
      ...seedGguf(),
      built("s.safetensors", (p) => writeSafetensors(p, [{ name: "a.weight", dtype: "F16", shape: [3, 8], data: f16(24) }, { name: "b", dtype: "BF16", shape: [2], data: f16(2) }], { format: "pt" })),
    ],
    run(data) {
      const s = openModelSourceSync(asFile("source/in.model", data));
      readAll(s, s.tensors, (t) => s.read(t.name));
    },
  },
  {
    name: "modelproto", what: "SentencePiece ModelProto decoder, then a tokenizer built from it encoding text",
    seeds: seedProto,
    run(data) {
      const tok = Tokenizer.fromModelProto(parseModelProto(data, "source/in.model"));
      tok.decode(tok.encode("Hello 世界 ab"));
    },
  },
  {
    name: "adapter-config", what: "PEFT adapter_config.json",
    seeds: () => [te.encode(JSON.stringify(adapterConfig, null, 2))],
    run(data) {
      parseAdapterConfig(new TextDecoder().decode(data), "adapter_config.json");
    },
  },
  {
    name: "decode", what: "tokenizer decode of arbitrary ids (the input read as int32s)",
    seeds: () => [new Uint8Array(new Int32Array([1, 259, 260, 261, 3, 70, 2]).buffer)],
    run(data) {
      decodeTok ??= Tokenizer.fromModelProto(syntheticProto());
      const ids = new Int32Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~3)));
      decodeTok.decode(ids);
      const s = decodeTok.streamingDecoder();
      for (const id of ids) s.push(id);
    },
  },
  serverTarget,
];

export function targetByName(name: string): FuzzTarget | undefined {
  return targets.find((t) => t.name === name);
}

export function ensureDir(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}
