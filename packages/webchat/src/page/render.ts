// The Markdown tree (markdown.ts) as DOM nodes. Model text only ever reaches the page through
// textContent / createTextNode: no innerHTML, no attributes taken from the text.

import { parseMarkdown, type Block, type Inline } from "./markdown.js";
import { copyText } from "./clipboard.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function appendInline(parent: HTMLElement, nodes: Inline[]): void {
  for (const n of nodes) {
    if (n.kind === "text") parent.appendChild(document.createTextNode(n.text));
    else if (n.kind === "code") parent.appendChild(el("code", undefined, n.text));
    else {
      const wrap = el(n.kind === "strong" ? "strong" : "em");
      appendInline(wrap, n.children);
      parent.appendChild(wrap);
    }
  }
}

function codeBlock(b: Extract<Block, { kind: "code" }>): HTMLElement {
  const box = el("div", "codeblock");
  const bar = el("div", "codebar");
  bar.appendChild(el("span", "codelang", b.lang || "code"));
  const copy = el("button", "copy-code", "Copy code");
  copy.type = "button";
  copy.addEventListener("click", () => void copyText(b.text, copy));
  bar.appendChild(copy);
  const pre = el("pre");
  pre.appendChild(el("code", undefined, b.text));
  box.append(bar, pre);
  return box;
}

function appendBlocks(parent: HTMLElement, blocks: Block[]): void {
  for (const b of blocks) {
    switch (b.kind) {
      case "paragraph": {
        const p = el("p");
        b.lines.forEach((line, k) => {
          if (k > 0) p.appendChild(el("br"));
          appendInline(p, line);
        });
        parent.appendChild(p);
        break;
      }
      case "heading": {
        // h1/h2 would compete with the page's own headings; model headings start at h3.
        const h = el(`h${Math.min(6, b.level + 2)}` as "h3");
        appendInline(h, b.children);
        parent.appendChild(h);
        break;
      }
      case "code":
        parent.appendChild(codeBlock(b));
        break;
      case "list": {
        const list = b.ordered ? el("ol") : el("ul");
        if (b.ordered && b.start !== 1) list.setAttribute("start", String(b.start));
        for (const item of b.items) {
          const li = el("li");
          item.forEach((line, k) => {
            if (k > 0) li.appendChild(el("br"));
            appendInline(li, line);
          });
          list.appendChild(li);
        }
        parent.appendChild(list);
        break;
      }
      case "quote": {
        const q = el("blockquote");
        appendBlocks(q, b.children);
        parent.appendChild(q);
        break;
      }
      case "rule":
        parent.appendChild(el("hr"));
        break;
    }
  }
}

/** Replace the children of `target` with `markdown` rendered safely. */
export function renderMarkdownInto(target: HTMLElement, markdown: string): void {
  const fragment = document.createElement("div");
  appendBlocks(fragment, parseMarkdown(markdown));
  target.replaceChildren(...Array.from(fragment.childNodes));
}
