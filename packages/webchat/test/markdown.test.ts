import { expect } from "chai";
import fc from "fast-check";
import { inlineText, parseInline, parseMarkdown } from "../src/page/markdown.js";

describe("webchat markdown parser", () => {
  it("parses fenced code, headings, lists, quotes and rules", () => {
    const md = "# Title\n\nSome `code` and **bold** and *em*.\nnext line\n\n```js\nconst a = 1 < 2;\n```\n- one\n- two\n  more\n\n3. three\n4. four\n\n> quoted\n\n---";
    expect(parseMarkdown(md)).to.deep.equal([
      { kind: "heading", level: 1, children: [{ kind: "text", text: "Title" }] },
      {
        kind: "paragraph",
        lines: [
          [{ kind: "text", text: "Some " }, { kind: "code", text: "code" }, { kind: "text", text: " and " },
            { kind: "strong", children: [{ kind: "text", text: "bold" }] }, { kind: "text", text: " and " },
            { kind: "em", children: [{ kind: "text", text: "em" }] }, { kind: "text", text: "." }],
          [{ kind: "text", text: "next line" }],
        ],
      },
      { kind: "code", lang: "js", text: "const a = 1 < 2;", closed: true },
      { kind: "list", ordered: false, start: 1, items: [[[{ kind: "text", text: "one" }]], [[{ kind: "text", text: "two" }], [{ kind: "text", text: "more" }]]] },
      { kind: "list", ordered: true, start: 3, items: [[[{ kind: "text", text: "three" }]], [[{ kind: "text", text: "four" }]]] },
      { kind: "quote", children: [{ kind: "paragraph", lines: [[{ kind: "text", text: "quoted" }]] }] },
      { kind: "rule" },
    ]);
  });

  it("an unclosed fence (a reply still streaming) runs to the end", () => {
    expect(parseMarkdown("text\n```python\nprint(1)\n")).to.deep.equal([
      { kind: "paragraph", lines: [[{ kind: "text", text: "text" }]] },
      { kind: "code", lang: "python", text: "print(1)\n", closed: false },
    ]);
  });

  it("keeps HTML, snake_case and unmatched marks as literal text", () => {
    expect(parseInline('<img src=x onerror="alert(1)"> a_b_c 2*3 `x')).to.deep.equal([
      { kind: "text", text: '<img src=x onerror="alert(1)"> a_b_c 2*3 `x' },
    ]);
    expect(parseInline("``a ` b``")).to.deep.equal([{ kind: "code", text: "a ` b" }]);
  });

  it("deep nesting is capped, not recursed", () => {
    const quotes = parseMarkdown(`${"> ".repeat(5000)}x`);
    let depth = 0;
    let b = quotes[0];
    while (b.kind === "quote") { depth++; b = b.children[0]; }
    expect(depth).to.equal(8);
    expect(() => parseInline("*".repeat(10000) + "a" + "*".repeat(10000))).not.to.throw();
  });

  it("property: text without Markdown marks is one paragraph holding it verbatim", () => {
    const plain = fc.stringMatching(/^[a-z0-9 <>&"'=/;:.,()\u4e00-\u4e10]{1,60}$/).filter((s) => s.trim() !== "" && !/^\s*(\d+[.)]\s|>)/.test(s));
    fc.assert(fc.property(plain, (s) => {
      expect(parseMarkdown(s)).to.deep.equal([{ kind: "paragraph", lines: [[{ kind: "text", text: s }]] }]);
    }));
  });

  // Inline code drops one padding space on each side, so spaces are left out of the comparison.
  it("property: any text parses, and inline parsing loses no character but marks", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      parseMarkdown(s);
      const visible = inlineText(parseInline(s));
      const strip = (t: string): string => t.replace(/[*_`\s]/g, "");
      expect(strip(visible)).to.equal(strip(s));
    }), { numRuns: 300 });
  });
});
