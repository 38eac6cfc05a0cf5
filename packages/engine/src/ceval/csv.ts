// A CSV reader for C-Eval's files (RFC 4180, as pandas.read_csv reads them with its
// defaults): comma separated, fields in double quotes may hold commas, quotes ("") and line
// breaks; LF or CRLF line ends; a UTF-8 BOM is dropped; blank lines are skipped. The first
// record is the header. A malformed record (an unterminated quote, text after a closing
// quote, more or fewer fields than the header) is a FormatError naming the file, the line and
// the byte offset where the record starts.

import { FormatError } from "@llamats/tensor";

export interface CsvTable {
  readonly header: readonly string[];
  /** Records after the header, each with header.length fields. */
  readonly rows: readonly (readonly string[])[];
  /** 1-based line where each row starts (for messages). */
  readonly lines: readonly number[];
}

export function parseCsv(text: string, file: string): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: string[][] = [];
  const lines: number[] = [];
  const offsets: number[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  const byteOffset = (at: number) => Buffer.byteLength(text.slice(0, at), "utf8");
  while (i < n) {
    // Blank line (pandas skip_blank_lines)
    if (text[i] === "\n" || (text[i] === "\r" && text[i + 1] === "\n")) {
      i += text[i] === "\r" ? 2 : 1;
      line++;
      continue;
    }
    const startLine = line;
    const startAt = i;
    const fields: string[] = [];
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new FormatError(file, `line ${startLine}`, byteOffset(startAt), "a quoted field is never closed");
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== "," && text[i] !== "\n" && !(text[i] === "\r" && text[i + 1] === "\n")) {
          throw new FormatError(file, `line ${line}`, byteOffset(i), `text after a closing quote (field ${fields.length + 1})`);
        }
      } else {
        const s = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && !(text[i] === "\r" && text[i + 1] === "\n")) {
          if (text[i] === '"') throw new FormatError(file, `line ${line}`, byteOffset(i), `a quote inside an unquoted field (field ${fields.length + 1})`);
          i++;
        }
        value = text.slice(s, i);
      }
      fields.push(value);
      if (i < n && text[i] === ",") {
        i++;
        continue;
      }
      if (i < n) {
        i += text[i] === "\r" ? 2 : 1;
        line++;
      }
      break;
    }
    records.push(fields);
    lines.push(startLine);
    offsets.push(startAt);
  }
  if (records.length === 0) throw new FormatError(file, "header", 0, "the file is empty");
  const header = records[0];
  for (let r = 1; r < records.length; r++) {
    if (records[r].length !== header.length) {
      throw new FormatError(file, `line ${lines[r]}`, byteOffset(offsets[r]), `${records[r].length} fields, the header has ${header.length}`);
    }
  }
  return { header, rows: records.slice(1), lines: lines.slice(1) };
}

/** One CSV field as pandas' to_csv writes it (QUOTE_MINIMAL). */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
