// The embedded tokenizer of the synthetic models: a small SentencePiece-BPE vocabulary built in
// code, so the demo can encode and decode text with no download. Layout as in LLaMA's model:
// 0 <unk>, 1 <s>, 2 </s>, 3..258 the byte pieces <0x00>..<0xFF>, then normal pieces.
// SentencePiece BPE starts from single characters (a character without a piece falls back
// to bytes) and merges the adjacent pair whose concatenation is a piece with the highest
// score; so every character we use is a piece, and every prefix of a word is a piece too
// (a merge path always exists). Scores follow LLaMA's convention, -(id - 259): earlier
// pieces win. For the 1b/7b shapes the vocabulary is padded with generated pieces
// ("▁p<N>", never produced by merges of real text, but valid and decodable).

/** SentencePiece ModelProto.SentencePiece.Type, also GGUF's tokenizer.ggml.token_type. */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface VocabPiece {
  readonly piece: string;
  readonly score: number;
  readonly type: number;
}

export interface EmbeddedVocab {
  readonly pieces: readonly VocabPiece[];
  /** 1 for ids the synthetic output head leaves at logit 0 (control, byte, word-fragment and
   *  padding pieces), so that random weights favour whole words and characters. */
  readonly quiet: Uint8Array;
  readonly unkId: 0;
  readonly bosId: 1;
  readonly eosId: 2;
}

const SPACE = "\u2581"; // ▁, SentencePiece's escaped space

const ENGLISH =
  "the of and to in is was for that with as on it by be at this are from or an have not which " +
  "but all they one you were we there can more has will their been would about what when who " +
  "model language llama alpaca chinese text token tokens generate response instruction input " +
  "output answer question please write story once upon time little girl boy cat dog sun happy day " +
  "world hello good very like make see how why help reduce pollution protect environment " +
  "because people health water air life future clean energy nature earth";

// Frequent characters of the Chinese-Alpaca example outputs, then some words of the demo prompt.
const CHINESE_CHARS =
  "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保持环境污染护减少为什么要吗呢啊吧语模型生成中文"; 
const CHINESE_WORDS = "我们 中国 环境 保护 污染 减少 为什么 什么 因为 所以 可以 没有 一个 这个 自己 问题 模型 语言 中文 生成 人们 世界 时候 知道 现在 已经 工作 发展 社会 国家 生活 需要 重要";

const PUNCT = "，。？！、：；“”（）《》…—";
const ASCII = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/**
 * The embedded vocabulary, optionally padded to `size` pieces (size >= its natural size).
 * Deterministic: the same call always returns the same pieces in the same order.
 */
export function embeddedVocab(size?: number): EmbeddedVocab {
  const pieces: VocabPiece[] = [];
  const seen = new Set<string>();
  const loud = new Set<string>();
  const add = (piece: string, type: number = PieceType.NORMAL, whole = false): void => {
    if (whole) loud.add(piece);
    if (seen.has(piece)) return;
    seen.add(piece);
    const score = type === PieceType.NORMAL ? -(pieces.length - 259) : 0;
    pieces.push({ piece, score, type });
  };
  add("<unk>", PieceType.UNKNOWN);
  add("<s>", PieceType.CONTROL);
  add("</s>", PieceType.CONTROL);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, PieceType.BYTE);

  // Merged pieces first (higher scores: common merges win), then the single characters.
  const words: string[] = [];
  for (const w of ENGLISH.split(" ")) words.push(SPACE + w, w);
  for (const w of CHINESE_WORDS.split(" ")) words.push(w, SPACE + w);
  for (const w of words) {
    const cps = Array.from(w);
    for (let n = 2; n <= cps.length; n++) add(cps.slice(0, n).join(""), PieceType.NORMAL, n === cps.length);
  }
  for (const c of SPACE + ASCII.replace(" ", "")) add(c, PieceType.NORMAL, /[A-Za-z0-9,.!?]/.test(c));
  for (const c of Array.from(CHINESE_CHARS + PUNCT)) add(c, PieceType.NORMAL, true);
  for (const c of Array.from(CHINESE_CHARS)) add(SPACE + c, PieceType.NORMAL, true);

  if (size !== undefined) {
    if (!Number.isInteger(size) || size < pieces.length) {
      throw new RangeError(`embedded vocabulary has ${pieces.length} pieces; cannot pad to ${size}`);
    }
    for (let i = 0; pieces.length < size; i++) add(`${SPACE}p${i}`);
  }
  const quiet = Uint8Array.from(pieces, (p) => (p.type === PieceType.NORMAL && loud.has(p.piece) ? 0 : 1));
  return { pieces, quiet, unkId: 0, bosId: 1, eosId: 2 };
}

/** The natural size of the embedded vocabulary (the `tiny` preset's vocab). */
export function embeddedVocabSize(): number {
  return embeddedVocab().pieces.length;
}

/** GGUF tokenizer.ggml.* metadata for a vocabulary (llama.cpp's SentencePiece "llama" model). */
export function vocabGgufMetadata(v: EmbeddedVocab): Record<string, unknown> {
  return {
    "tokenizer.ggml.model": "llama",
    "tokenizer.ggml.tokens": v.pieces.map((p) => p.piece),
    "tokenizer.ggml.scores": Float32Array.from(v.pieces.map((p) => p.score)),
    "tokenizer.ggml.token_type": Int32Array.from(v.pieces.map((p) => p.type)),
    "tokenizer.ggml.unknown_token_id": v.unkId,
    "tokenizer.ggml.bos_token_id": v.bosId,
    "tokenizer.ggml.eos_token_id": v.eosId,
    "tokenizer.ggml.add_bos_token": true,
    "tokenizer.ggml.add_eos_token": false,
  };
}
