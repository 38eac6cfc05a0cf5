// The base log-probability file of `llamats perplexity --save-logits FILE`, byte for byte
// the layout llama.cpp's `llama-perplexity --kl-divergence-base FILE` writes (so files of the
// two tools are interchangeable). All little-endian:
//   char[8]  "_logits_"
//   i32      nCtx
//   i32      nVocab
//   i32      nChunk
//   i32      tokens[nChunk * nCtx]      the text's ids (BOS first), before the per-chunk BOS
//   then for each chunk, for each scored position (nCtx - 1 - floor(nCtx/2) of them), a record
//   of nv = 2*ceil(nVocab/2) + 4 u16:
//     f32 scale, f32 minLogProb         (the first 4 u16)
//     u16 q[nVocab] (+1 pad if odd)     log p_i ~= scale * q_i + minLogProb
// The log-probabilities are quantised over the 16 nats below the top one: with
// max, min = the largest and smallest logit, min raised to max - 16, lse = log sum exp(l - max),
//   minLogProb = min - max - lse, scale = (max - min) / 65535,
//   q_i = l_i > min ? nearest_int((l_i - min) / scale) : 0          (float32 throughout).

import { closeSync, openSync, readSync, fstatSync } from "node:fs";
import { AtomicFileWriter, LlamatsError, FormatError } from "@llamats/tensor";

export const LOGPROB_MAGIC = "_logits_";
const HEADER_BYTES = 8 + 3 * 4;
const f = Math.fround;

/** u16 per record: 2 floats + nVocab values padded to an even count. */
export function logprobRecordU16(nVocab: number): number {
  return 2 * Math.floor((nVocab + 1) / 2) + 4;
}

/** round(x) with ties to even, as llama.cpp's nearest_int (float + 1.5*2^23 trick). */
function nearestInt(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantise one row of logits into `record` (nv u16; bytes 0..7 hold the two floats) and
 * return the row's -log p(tok) computed the way llama.cpp does on this path (float32).
 */
export function quantizeLogProbs(logits: Float32Array, offset: number, nVocab: number, tok: number, record: Uint16Array): number {
  let max = logits[offset];
  let min = logits[offset];
  for (let i = 1; i < nVocab; i++) {
    const l = logits[offset + i];
    if (l > max) max = l;
    if (l < min) min = l;
  }
  min = Math.max(min, f(max - 16));
  let sum = 0;
  for (let i = 0; i < nVocab; i++) sum += f(Math.exp(f(logits[offset + i] - max)));
  const lse = f(Math.log(sum));
  const minLogProb = f(f(min - max) - lse);
  const scale = f(f(max - min) / 65535);
  const head = new Float32Array(record.buffer, record.byteOffset, 2);
  head[0] = scale;
  head[1] = minLogProb;
  if (scale) {
    const inv = f(1 / scale);
    for (let i = 0; i < nVocab; i++) {
      const l = logits[offset + i];
      record[4 + i] = l > min ? nearestInt(f(inv * f(l - min))) : 0;
    }
  } else {
    record.fill(0, 4, 4 + nVocab);
  }
  if (nVocab % 2) record[4 + nVocab] = 0;
  return f(f(max + lse) - logits[offset + tok]);
}

/** Writes a log-probability file through @llamats/tensor's AtomicFileWriter (PATH.tmp-PID, renamed by close()). */
export class LogProbWriter {
  private readonly out: AtomicFileWriter;
  private closed = false;
  private readonly record: Uint16Array;

  constructor(readonly path: string, readonly nCtx: number, readonly nVocab: number, readonly nChunk: number, tokens: ArrayLike<number>) {
    this.out = new AtomicFileWriter(path);
    const head = Buffer.alloc(HEADER_BYTES + nChunk * nCtx * 4);
    head.write(LOGPROB_MAGIC, 0, "latin1");
    head.writeInt32LE(nCtx, 8);
    head.writeInt32LE(nVocab, 12);
    head.writeInt32LE(nChunk, 16);
    for (let i = 0; i < nChunk * nCtx; i++) head.writeInt32LE(tokens[i], HEADER_BYTES + 4 * i);
    this.out.write(head);
    this.record = new Uint16Array(logprobRecordU16(nVocab));
  }

  /**
   * Quantise and append the scored rows of one chunk: tail row j (position first + j)
   * predicts nextTokens[j]. Returns the nll of each scored token (llama.cpp's float path).
   */
  appendChunk(tail: Float32Array, nextTokens: ArrayLike<number>, nScored: number): number[] {
    const nv = this.record.length;
    const out = new Uint16Array(nv * nScored);
    const nll: number[] = [];
    for (let j = 0; j < nScored; j++) {
      nll.push(quantizeLogProbs(tail, j * this.nVocab, this.nVocab, nextTokens[j], this.record));
      out.set(this.record, j * nv);
    }
    this.out.write(littleEndianU16(out));
    return nll;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.commit();
  }

  /** Drop the partial file (an interrupted or failed run leaves nothing). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.out.abort();
  }
}

function littleEndianU16(x: Uint16Array): Uint8Array {
  const bytes = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    out[i] = bytes[i + 1];
    out[i + 1] = bytes[i];
  }
  return out;
}

/** Reads the header and tokens, then one chunk of records at a time. */
export class LogProbReader {
  readonly nCtx: number;
  readonly nVocab: number;
  readonly nChunk: number;
  /** (nChunk * nCtx) ids as written. */
  readonly tokens: Int32Array;
  readonly scoredPerChunk: number;
  private readonly fd: number;
  private readonly nv: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, "r");
    try {
      const size = fstatSync(this.fd).size;
      const head = Buffer.alloc(HEADER_BYTES);
      if (readSync(this.fd, head, 0, HEADER_BYTES, 0) < HEADER_BYTES || head.toString("latin1", 0, 8) !== LOGPROB_MAGIC) {
        throw new FormatError(path, "magic", 0, `not a log-probability file (want "${LOGPROB_MAGIC}")`);
      }
      this.nCtx = head.readInt32LE(8);
      this.nVocab = head.readInt32LE(12);
      this.nChunk = head.readInt32LE(16);
      if (this.nCtx < 4) throw new FormatError(path, "nCtx", 8, `${this.nCtx}: want >= 4`);
      if (this.nVocab < 1) throw new FormatError(path, "nVocab", 12, `${this.nVocab}: want >= 1`);
      if (this.nChunk < 1) throw new FormatError(path, "nChunk", 16, `${this.nChunk}: want >= 1`);
      this.nv = logprobRecordU16(this.nVocab);
      this.scoredPerChunk = this.nCtx - 1 - Math.floor(this.nCtx / 2);
      const want = HEADER_BYTES + this.nChunk * this.nCtx * 4 + this.nChunk * this.scoredPerChunk * this.nv * 2;
      if (size !== want) {
        throw new FormatError(path, "file size", size, `nCtx ${this.nCtx}, nVocab ${this.nVocab}, nChunk ${this.nChunk} (bytes 8..19) make ${want} bytes`);
      }
      const tb = Buffer.alloc(this.nChunk * this.nCtx * 4);
      readSync(this.fd, tb, 0, tb.length, HEADER_BYTES);
      this.tokens = new Int32Array(this.nChunk * this.nCtx);
      for (let i = 0; i < this.tokens.length; i++) this.tokens[i] = tb.readInt32LE(4 * i);
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** The records of chunk i: (scoredPerChunk, nv) u16. */
  chunk(i: number): Uint16Array {
    if (i < 0 || i >= this.nChunk) throw new LlamatsError(`${this.path}: chunk ${i} outside 0 .. ${this.nChunk - 1}`);
    const bytes = this.scoredPerChunk * this.nv * 2;
    const buf = new Uint8Array(bytes);
    const at = HEADER_BYTES + this.nChunk * this.nCtx * 4 + i * bytes;
    readSync(this.fd, buf, 0, bytes, at);
    const out = new Uint16Array(bytes / 2);
    const dv = new DataView(buf.buffer);
    for (let k = 0; k < out.length; k++) out[k] = dv.getUint16(2 * k, true);
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}
