// A small Markdown subset parsed into a plain tree (no HTML strings anywhere): fenced code
// blocks, headings, lists, block quotes, rules, paragraphs; inline code, **strong**, *em*.
// The page turns the tree into DOM nodes with textContent only (render.ts), so whatever the
// model writes — `<img onerror=...>`, `<script>` — can only ever show up as text.
// An unclosed fence (a reply still streaming) is a code block that runs to the end.

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "code"; text: string }
  | { kind: "strong"; children: Inline[] }
  | { kind: "em"; children: Inline[] };

export type Block =
  | { kind: "paragraph"; lines: Inline[][] }
  | { kind: "heading"; level: number; children: Inline[] }
  | { kind: "code"; lang: string; text: string; closed: boolean }
  | { kind: "list"; ordered: boolean; start: number; items: Inline[][][] }
  | { kind: "quote"; children: Block[] }
  | { kind: "rule" };

// Nesting caps keep hostile input ("> > > > ...", "**** ****") from recursing deeply.
const maxQuoteDepth = 8;
const maxInlineDepth = 4;

const fenceRe = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const headingRe = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$/;
const ruleRe = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const quoteRe = /^ {0,3}> ?(.*)$/;
const bulletRe = /^ {0,3}[-*+]\s+(.*)$/;
const orderedRe = /^ {0,3}(\d{1,9})[.)]\s+(.*)$/;

function startsBlock(line: string): boolean {
  return fenceRe.test(line) || headingRe.test(line) || ruleRe.test(line) || quoteRe.test(line) ||
    bulletRe.test(line) || orderedRe.test(line);
}

export function parseMarkdown(text: string, depth = 0): Block[] {
  const lines = text.split(/\r\n|\r|\n/);
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") { i++; continue; }

    const fence = fenceRe.exec(line);
    if (fence) {
      const marker = fence[1];
      const closeRe = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
      const body: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (closeRe.test(lines[i])) { closed = true; i++; break; }
        body.push(lines[i]);
      }
      blocks.push({ kind: "code", lang: fence[2], text: body.join("\n"), closed });
      continue;
    }
    const heading = headingRe.exec(line);
    if (heading) {
      blocks.push({ kind: "heading", level: heading[1].length, children: parseInline(heading[2] ?? "") });
      i++;
      continue;
    }
    if (ruleRe.test(line)) { blocks.push({ kind: "rule" }); i++; continue; }
    if (quoteRe.test(line)) {
      const inner: string[] = [];
      for (; i < lines.length; i++) {
        const q = quoteRe.exec(lines[i]);
        if (!q) break;
        inner.push(q[1]);
      }
      blocks.push(depth < maxQuoteDepth
        ? { kind: "quote", children: parseMarkdown(inner.join("\n"), depth + 1) }
        : { kind: "paragraph", lines: inner.map((l) => parseInline(l)) });
      continue;
    }
    const ordered = orderedRe.exec(line);
    if (ordered || bulletRe.test(line)) {
      const itemRe = ordered ? orderedRe : bulletRe;
      const items: Inline[][][] = [];
      for (; i < lines.length; i++) {
        const l = lines[i];
        const m = itemRe.exec(l);
        if (m) { items.push([parseInline(m[m.length - 1])]); continue; }
        // An indented, non-blank line continues the current item.
        if (/^\s+\S/.test(l) && !startsBlock(l)) { items[items.length - 1].push(parseInline(l.trim())); continue; }
        break;
      }
      blocks.push({ kind: "list", ordered: Boolean(ordered), start: ordered ? Number(ordered[1]) : 1, items });
      continue;
    }
    const para: Inline[][] = [];
    for (; i < lines.length; i++) {
      const l = lines[i];
      if (l.trim() === "" || (para.length > 0 && startsBlock(l))) break;
      para.push(parseInline(l));
    }
    blocks.push({ kind: "paragraph", lines: para });
  }
  return blocks;
}

/** Index of `run` at or after `from` that is not part of a longer run of its character. */
function findExactRun(s: string, run: string, from: number): number {
  const ch = run[0];
  for (let at = s.indexOf(run, from); at >= 0; at = s.indexOf(run, at + 1)) {
    if (s[at - 1] !== ch && s[at + run.length] !== ch) return at;
  }
  return -1;
}

export function parseInline(s: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let text = "";
  const flush = (): void => {
    if (text) out.push({ kind: "text", text });
    text = "";
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "`") {
      let n = 1;
      while (s[i + n] === "`") n++;
      const run = "`".repeat(n);
      const end = findExactRun(s, run, i + n);
      if (end < 0) { text += run; i += n; continue; }
      flush();
      let code = s.slice(i + n, end);
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ")) code = code.slice(1, -1);
      out.push({ kind: "code", text: code });
      i = end + n;
      continue;
    }
    if ((c === "*" || c === "_") && depth < maxInlineDepth) {
      const mark = s[i + 1] === c ? c + c : c;
      const start = i + mark.length;
      // Single "_" stays literal: snake_case identifiers are common in model output.
      const allowed = !(mark === "_") && s[start] !== undefined && !/\s/.test(s[start]);
      const end = allowed ? findClosing(s, mark, start) : -1;
      if (end > start) {
        flush();
        const children = parseInline(s.slice(start, end), depth + 1);
        out.push(mark.length === 2 ? { kind: "strong", children } : { kind: "em", children });
        i = end + mark.length;
        continue;
      }
      text += mark;
      i += mark.length;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/** A closing emphasis mark: not preceded by whitespace, and (for "*") not the start of "**". */
function findClosing(s: string, mark: string, from: number): number {
  for (let at = s.indexOf(mark, from + 1); at >= 0; at = s.indexOf(mark, at + 1)) {
    if (/\s/.test(s[at - 1])) continue;
    if (mark.length === 1 && (s[at + 1] === mark || s[at - 1] === mark)) continue;
    return at;
  }
  return -1;
}

/** The visible text of an inline run (what a reader sees, markup removed). */
export function inlineText(nodes: Inline[]): string {
  return nodes.map((n) => (n.kind === "text" || n.kind === "code" ? n.text : inlineText(n.children))).join("");
}
