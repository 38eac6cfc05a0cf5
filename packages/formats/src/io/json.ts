// A strict JSON parser for headers inside binary files (safetensors). Unlike JSON.parse it
// rejects duplicate keys (which JSON.parse silently merges) and reports the byte offset of
// the problem, so a FormatError can name it. Objects come back with a null prototype.

import { FormatError } from "@llamats/tensor";

export interface JsonContext {
  readonly file: string;
  readonly field: string;
  /** Absolute file offset of text[0], for error offsets (text is assumed ASCII-positioned). */
  readonly base: number;
}

export function parseStrictJson(text: string, ctx: JsonContext): unknown {
  let i = 0;
  const fail = (detail: string): never => {
    throw new FormatError(ctx.file, ctx.field, ctx.base + i, detail);
  };
  const ws = (): void => {
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        try {
          return JSON.parse(text.slice(start, i)) as string;
        } catch {
          i = start;
          return fail("bad string escape");
        }
      }
      if (ch === 0x5c) i += 2;
      else if (ch < 0x20) fail("control character in string");
      else i++;
    }
    return fail("unterminated string");
  };
  const value = (depth: number): unknown => {
    if (depth > 64) fail("JSON nested too deeply");
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const obj: Record<string, unknown> = Object.create(null);
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const keyAt = i;
        const key = str();
        if (Object.prototype.hasOwnProperty.call(obj, key)) {
          i = keyAt;
          fail(`duplicate key "${key}"`);
        }
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[key] = value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (ch === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (ch === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("trailing characters after JSON value");
  return v;
}
