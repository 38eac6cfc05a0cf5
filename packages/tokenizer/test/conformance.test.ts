// Conformance against Google's SentencePiece 0.1.97 (vectors in ../shared/fixtures) and
// llama.cpp's own tokenizer test vectors.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { PieceType, Tokenizer, readModelProto } from "@llamats/tokenizer";

interface VectorRow {
  idx: number;
  category: string;
  text: string;
  ids: number[];
  pieces: string[];
  ids_with_bos: number[];
  decoded: string;
}

function jsonl<T>(rel: string): T[] {
  return readFileSync(fixturePath(rel), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

const loaded = new Map<string, Tokenizer>();
/** Each model file is parsed once for the whole suite. */
function tokenizerAt(rel: string): Tokenizer {
  let t = loaded.get(rel);
  if (!t) {
    t = Tokenizer.fromModelProto(readModelProto(fixturePath(rel)));
    loaded.set(rel, t);
  }
  return t;
}

const MODEL_FILES: Record<string, string> = {
  llama: "tokenizers/llama/tokenizer.model",
  chinese_llama: "tokenizers/chinese_llama/tokenizer.model",
  chinese_alpaca: "tokenizers/chinese_alpaca/tokenizer.model",
  chinese_sp: "tokenizers/chinese_sp/chinese_sp.model",
};

// chinese_sp is the unigram model with nmt_nfkc normalisation (Viterbi + character map).
for (const name of ["llama", "chinese_llama", "chinese_sp"]) {
  const vectors = `tokenizer-vectors/${name}.shared.jsonl`;
  describeConformance(`tokenizer conformance: ${name} vs SentencePiece 0.1.97`, [vectors, MODEL_FILES[name]], () => {
    let tok: Tokenizer;
    let rows: VectorRow[];
    before(() => {
      tok = tokenizerAt(MODEL_FILES[name]);
      rows = jsonl<VectorRow>(vectors);
    });

    it("has the 2100 shared rows", () => {
      expect(rows.length).to.equal(2100);
    });

    it("encodes every row to identical ids and pieces (with and without BOS)", () => {
      const failures: string[] = [];
      for (const r of rows) {
        const ids = tok.encode(r.text);
        const ok =
          JSON.stringify(ids) === JSON.stringify(r.ids) &&
          // an <unk> stands for the unknown text itself in SentencePiece's piece list
          JSON.stringify(ids.map((i, k) => (i === tok.unkId ? r.pieces[k] : tok.idToPiece(i)))) === JSON.stringify(r.pieces) &&
          JSON.stringify(tok.encode(r.text, { bos: true })) === JSON.stringify(r.ids_with_bos);
        if (!ok) failures.push(`#${r.idx} (${r.category}) ${JSON.stringify(r.text).slice(0, 60)}`);
      }
      expect(failures, failures.slice(0, 5).join("\n")).to.deep.equal([]);
    });

    it("decodes every row's ids to SentencePiece's text, batch and streaming", () => {
      const failures: number[] = [];
      for (const r of rows) {
        const d = tok.streamingDecoder();
        let streamed = "";
        for (const id of r.ids) streamed += d.push(id);
        streamed += d.flush();
        if (tok.decode(r.ids) !== r.decoded || streamed !== r.decoded) failures.push(r.idx);
      }
      expect(failures).to.deep.equal([]);
    });
  });
}

describeConformance(
  "tokenizer conformance: decode-vectors.jsonl",
  ["tokenizer-vectors/decode-vectors.jsonl", ...Object.values(MODEL_FILES)],
  () => {
    it("decodes every id sequence exactly (incomplete UTF-8, BOS/EOS mid-sequence, unk, lone ▁)", () => {
      const rows = jsonl<{ model: string; ids: number[]; pieces: string[]; decoded: string }>(
        "tokenizer-vectors/decode-vectors.jsonl",
      );
      expect(rows.length).to.be.greaterThan(300);
      const failures: string[] = [];
      for (const r of rows) {
        const tok = tokenizerAt(MODEL_FILES[r.model]);
        expect(r.ids.map((i) => tok.idToPiece(i))).to.deep.equal(r.pieces);
        if (tok.decode(r.ids) !== r.decoded) failures.push(`${r.model} ${JSON.stringify(r.ids)}`);
      }
      expect(failures).to.deep.equal([]);
    });
  },
);

describeConformance("tokenizer conformance: model_facts.json", ["tokenizer-vectors/model_facts.json", ...Object.values(MODEL_FILES)], () => {
  it("reads piece counts, special ids, flags and piece types as SentencePiece reports them", () => {
    const facts = JSON.parse(readFileSync(fixturePath("tokenizer-vectors/model_facts.json"), "utf8")) as Record<string, any>;
    const typeName: Record<number, string> = { 1: "NORMAL", 2: "UNKNOWN", 3: "CONTROL", 4: "USER_DEFINED", 5: "UNUSED", 6: "BYTE" };
    for (const [name, f] of Object.entries(facts)) {
      const model = readModelProto(fixturePath(f.path));
      const t = model.trainerSpec;
      const n = model.normalizerSpec;
      expect(model.pieces.length, name).to.equal(f.pieces);
      expect(t.modelType === 2 ? "BPE" : t.modelType === 1 ? "UNIGRAM" : "?").to.equal(f.model_type);
      expect([t.byteFallback, t.unkId, t.bosId, t.eosId, t.padId]).to.deep.equal([f.byte_fallback, f.unk_id, f.bos_id, f.eos_id, f.pad_id]);
      expect([t.unkPiece, t.bosPiece, t.eosPiece, t.padPiece, t.unkSurface]).to.deep.equal([f.unk_piece, f.bos_piece, f.eos_piece, f.pad_piece, f.unk_surface]);
      expect([n.name, n.addDummyPrefix, n.removeExtraWhitespaces, n.escapeWhitespaces, n.precompiledCharsmap.length]).to.deep.equal([
        f.normalizer_spec.name, f.normalizer_spec.add_dummy_prefix, f.normalizer_spec.remove_extra_whitespaces,
        f.normalizer_spec.escape_whitespaces, f.normalizer_spec.precompiled_charsmap_bytes,
      ]);
      expect([t.vocabSize, t.splitDigits, t.treatWhitespaceAsSuffix, t.allowWhitespaceOnlyPieces]).to.deep.equal([
        f.trainer_spec.vocab_size, f.trainer_spec.split_digits, f.trainer_spec.treat_whitespace_as_suffix,
        f.trainer_spec.allow_whitespace_only_pieces,
      ]);
      const counts: Record<string, number> = {};
      for (const p of model.pieces) counts[typeName[p.type]] = (counts[typeName[p.type]] ?? 0) + 1;
      expect(counts, name).to.deep.equal(f.piece_type_counts);
      for (const [id, piece, score, type] of f.first_pieces) {
        expect([model.pieces[id].piece, model.pieces[id].score, typeName[model.pieces[id].type]]).to.deep.equal([piece, score, type]);
      }
      if (f.byte_pieces_range) {
        const [lo, hi] = f.byte_pieces_range;
        for (let id = lo; id <= hi; id++) expect(model.pieces[id].type).to.equal(PieceType.BYTE);
      }
      const scores = model.pieces.map((p) => p.score);
      expect([Math.min(...scores), Math.max(...scores)]).to.deep.equal(f.score_range);
    }
  });

  it("LLaMA scores are -(id - 259); Chinese-LLaMA's 17,953 appended pieces score 0", () => {
    const llama = readModelProto(fixturePath(MODEL_FILES.llama));
    for (let id = 259; id < llama.pieces.length; id++) {
      if (llama.pieces[id].score !== -1e9) expect(llama.pieces[id].score).to.equal(-(id - 259));
    }
    const zh = readModelProto(fixturePath(MODEL_FILES.chinese_llama));
    expect(zh.pieces.slice(32000, 32005).map((p) => p.piece)).to.deep.equal(["但", "一个", "中国", "可以", "10"]);
    expect(zh.pieces.slice(32000).every((p) => p.score === 0)).to.equal(true);
  });
});
