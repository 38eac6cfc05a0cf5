// C-Eval harness pieces, against strings written out by hand from the seed's code
// (scripts/ceval/llama_evaluator.py, eval.py) and fixtures/ceval-mini.
import { expect } from "chai";
import { join } from "node:path";
import { repoRoot } from "@llamats/testkit";
import {
  parseCsv, pandasColumn, pyFloatRepr, readSplit, listSubjects, formatExample, fewShotHistory, cevalPrompt, extractAnswer,
  buildSummary, subjectScore, pythonJson, SUBJECT_MAPPING, CEVAL_GROUPS, choiceIds, constrainedAnswer, processedScores,
} from "@llamats/engine";

const data = join(repoRoot(), "fixtures/ceval-mini");
const never = () => {
  throw new Error("random used");
};

describe("ceval: CSV and pandas cells", () => {
  it("quotes, doubled quotes, commas and line breaks inside quotes, CRLF, BOM, blank lines", () => {
    const t = parseCsv('\ufeffid,question,A\r\n0,"a, ""b""\nc",x\r\n\r\n1,plain,"y"\n', "f.csv");
    expect(t.header).to.deep.equal(["id", "question", "A"]);
    expect(t.rows).to.deep.equal([["0", 'a, "b"\nc', "x"], ["1", "plain", "y"]]);
    expect(t.lines).to.deep.equal([2, 5]);
  });

  it("a malformed row names the file and the line", () => {
    expect(() => parseCsv("id,question,A\n0,q,a\n1,q\n", "dir/x_val.csv")).to.throw(/dir\/x_val\.csv: line 3 at byte 20: 2 fields, the header has 3/);
    expect(() => parseCsv('id,question,A\n0,"never closed,a\n1,q,a\n', "x.csv")).to.throw(/x\.csv: line 2 at byte 14: a quoted field is never closed/);
    expect(() => parseCsv('id,question,A\n0,"q"x,a\n', "x.csv")).to.throw(/x\.csv: line 2 at byte \d+: text after a closing quote/);
  });

  it("pandas' column types: ints stay, a column with a float prints floats, NA strings are NaN", () => {
    expect(pandasColumn(["1", "90", "-3"])).to.deep.equal(["1", "90", "-3"]);
    expect(pandasColumn(["1.5", "180", "3"])).to.deep.equal(["1.5", "180.0", "3.0"]);
    expect(pandasColumn(["2.50", "360", "9"])).to.deep.equal(["2.5", "360.0", "9.0"]);
    expect(pandasColumn(["007", "8"])).to.deep.equal(["7", "8"]);
    expect(pandasColumn(["1", ""])).to.deep.equal(["1.0", null]);
    expect(pandasColumn(["甲", "None", "NA"])).to.deep.equal(["甲", null, null]);
    expect(pandasColumn(["TRUE", "False"])).to.deep.equal(["True", "False"]);
  });

  it("Python's float repr", () => {
    const cases: [number, string][] = [[50, "50.0"], [0.5, "0.5"], [1e-5, "1e-05"], [0.0001, "0.0001"], [1e16, "1e+16"], [1234567890123456.7, "1234567890123456.8"],
      [66.66666666666667, "66.66666666666667"], [0.36701337295690933, "0.36701337295690933"], [-2.5e-7, "-2.5e-07"], [123e20, "1.23e+22"]];
    for (const [x, s] of cases) expect(pyFloatRepr(x), String(x)).to.equal(s);
  });

  it("reads the layout: subjects from val/, rows numbered in file order, numeric columns as pandas shows them", () => {
    expect(listSubjects(data)).to.deep.equal(["computer_network", "high_school_geography", "logic", "middle_school_mathematics"]);
    const m = readSplit(data, "val", "middle_school_mathematics");
    expect(m.rows[1]).to.deep.include({ question: "一个三角形三个内角的和是多少度？", A: "90", B: "180.0", C: "270", D: "360.0", answer: "B" });
    const g = readSplit(data, "val", "high_school_geography");
    expect(g.rows[1].question).to.equal('"世界屋脊"指的是____。');
    expect(g.rows[2].B).to.equal("夏季风带来降水,冬季风干燥");
    expect(() => readSplit(data, "val", "nope")).to.throw(/nope_val\.csv: not found/);
  });
});

describe("ceval: the seed's prompts, byte for byte", () => {
  const val = readSplit(data, "val", "computer_network").rows;
  const dev = readSplit(data, "dev", "computer_network").rows;
  const q0 = "IPv4地址的长度是多少位？\nA. 16\nB. 32\nC. 64\nD. 128";
  const header = "以下是中国关于computer_network考试的单项选择题，请选出其中的正确答案。\n\n";
  const shots =
    "在TCP/IP模型中，IP协议位于哪一层？\nA. 应用层\nB. 传输层\nC. 网络层\nD. 数据链路层\n答案：C\n\n" +
    "HTTP协议默认使用的端口号是____。\nA. 21\nB. 25\nC. 80\nD. 110\n答案：C\n\n" +
    "下列哪一项是无连接的传输层协议？\nA. TCP\nB. UDP\nC. HTTP\nD. FTP\n答案：B\n\n" +
    "以太网中，MAC地址的长度是多少位？\nA. 32\nB. 48\nC. 64\nD. 128\n答案：B\n\n" +
    "域名系统的英文缩写是____。\nA. DNS\nB. DHCP\nC. ARP\nD. ICMP\n答案：A\n\n";
  const template = (s: string) =>
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n" + s + "\n\n### Response: ";

  it("zero-shot: the question alone, ending in 答案：", () => {
    expect(cevalPrompt("", val[0], { cot: false, withPrompt: false })).to.equal(q0 + "\n答案：");
  });

  it("5-shot: header with the English key, five dev rows with answers, then the question", () => {
    const h = fewShotHistory("computer_network", dev, 5, false);
    expect(h).to.equal(header + shots);
    expect(cevalPrompt(h, val[0], { cot: false, withPrompt: false })).to.equal(header + shots + q0 + "\n答案：");
  });

  it("CoT: explanations in the examples, the question ends 让我们一步一步思考，\\n1.", () => {
    const h = fewShotHistory("computer_network", dev, 2, true);
    expect(h).to.equal(
      header +
        "在TCP/IP模型中，IP协议位于哪一层？\nA. 应用层\nB. 传输层\nC. 网络层\nD. 数据链路层\n答案：让我们一步一步思考，\n1. IP协议负责分组的寻址和路由，属于网络层。\n所以答案是C。\n\n" +
        "HTTP协议默认使用的端口号是____。\nA. 21\nB. 25\nC. 80\nD. 110\n答案：让我们一步一步思考，\n1. HTTP默认端口为80，21是FTP，25是SMTP，110是POP3。\n所以答案是C。\n\n",
    );
    expect(cevalPrompt("", val[0], { cot: true, withPrompt: false })).to.equal(q0 + "\n答案：让我们一步一步思考，\n1.");
    expect(cevalPrompt("", val[0], { cot: true, withPrompt: true })).to.equal(template(q0 + "\n答案是什么？让我们一步一步思考，\n1."));
  });

  it("template form: history + question inside the training template, ending 答案是什么？ ", () => {
    expect(cevalPrompt("", val[0], { cot: false, withPrompt: true })).to.equal(template(q0 + "\n答案是什么？ "));
    const h = fewShotHistory("computer_network", dev, 5, false);
    expect(cevalPrompt(h, val[0], { cot: false, withPrompt: true })).to.equal(template(header + shots + q0 + "\n答案是什么？ "));
    expect(formatExample(val[3], true, { cot: false, withPrompt: true })).to.equal("HTTPS在HTTP的基础上增加了什么？\nA. 压缩\nB. 加密,认证\nC. 缓存\nD. 重定向\n答案：B\n\n");
  });

  it("more shots than dev rows is an error", () => {
    expect(() => fewShotHistory("computer_network", dev.slice(0, 3), 5, false)).to.throw(/5 shots asked, the dev split has 3 rows/);
  });
});

describe("ceval: answers", () => {
  const row = { question: "q", A: "北京", B: "上海", C: "a.b", D: "广州", answer: "A" };
  it("free-generation extraction takes the rules in the seed's order", () => {
    expect(extractAnswer(row, "分析：所以答案是B。后来又说所以答案是C。", never)).to.deep.equal({ answer: "C", rule: 1 });
    expect(extractAnswer(row, "所以答案是北京。D是正确的", never)).to.deep.equal({ answer: "D", rule: 2 });
    expect(extractAnswer(row, "选择B，答案为C", never)).to.deep.equal({ answer: "C", rule: 2 }); // 答案为 comes before 选择 in the list
    expect(extractAnswer(row, "我认为是 D 吧，或者A", never)).to.deep.equal({ answer: "D", rule: 3 });
    expect(extractAnswer(row, "应该是上海，不是北京", never)).to.deep.equal({ answer: "B", rule: 4 });
    expect(extractAnswer(row, "是axb吗？a.b", never)).to.deep.equal({ answer: "C", rule: 4 }); // literal, "." escaped
    expect(extractAnswer(row, "不知道", () => 0.6)).to.deep.equal({ answer: "C", rule: 5 });
    expect(extractAnswer(row, "所以答案是\n。B", never).rule).to.equal(3); // "." stops at a newline, as in Python
  });

  it("constrained: ids of ▁X and X, penalty over prompt ids then / T, argmax of the sums (first on a tie)", () => {
    const enc = (t: string, bos: boolean) => (t === "A" ? [10] : t === "B" ? [11] : t === "C" ? [12] : t === "D" ? [13] : [...(bos ? [1] : []), 5, 20 + "ABCD".indexOf(t.slice(-1))]);
    const ids = choiceIds(enc);
    expect(ids).to.deep.equal({ spaced: [10, 11, 12, 13], bare: [20, 21, 22, 23] });
    const logits = new Float32Array(30);
    logits[10] = 2; logits[20] = 1; // A: 3
    logits[11] = 2.2; logits[21] = 1; // B: 3.2, but 11 is in the prompt: 2.2/1.1 + 1 = 3
    logits[12] = -1; logits[22] = 3.5; // C: 2.5
    logits[13] = 0; logits[23] = 0;
    logits[3] = 9; // the overall argmax
    const s = processedScores(logits, [1, 11, 11], 0.5);
    expect(s[11]).to.equal(Math.fround(Math.fround(Math.fround(2.2) / 1.1) / 0.5));
    const c = constrainedAnswer(s, ids);
    expect(c.topId).to.equal(3);
    expect(c.answer).to.equal("A"); // A and B tie at 6 (after / T): the first wins
    expect(c.choiceScores[0]).to.equal(6);
  });
});

describe("ceval: summary and submission in the seed's shapes", () => {
  it("52 subjects in four groups of 20, 10, 11, 11", () => {
    const counts = CEVAL_GROUPS.map((g) => Object.values(SUBJECT_MAPPING).filter((v) => v[2] === g).length);
    expect(Object.keys(SUBJECT_MAPPING)).to.have.length(52);
    expect(counts).to.deep.equal([20, 10, 11, 11]);
  });

  it("per subject percent, groups and All as fractions, floats written as Python writes them", () => {
    const s = buildSummary({ computer_network: subjectScore(2, 4), logic: subjectScore(1, 2) });
    expect(s.grouped.STEM).to.deep.equal({ correct: 2, num: 4, score: 0.5 });
    expect(s.grouped.Humanities).to.deep.equal({ correct: 1, num: 2, score: 0.5 });
    expect(s.grouped["Social Science"]).to.deep.equal({ correct: 0, num: 0, score: null });
    expect(s.All).to.deep.equal({ score: 0.5, num: 6, correct: 3 });
    expect(pythonJson(s, 2)).to.equal(
      '{\n  "computer_network": {\n    "score": 50.0,\n    "num": 4,\n    "correct": 2.0\n  },\n  "logic": {\n    "score": 50.0,\n    "num": 2,\n    "correct": 1.0\n  },\n' +
        '  "grouped": {\n    "STEM": {\n      "correct": 2.0,\n      "num": 4,\n      "score": 0.5\n    },\n    "Social Science": {\n      "correct": 0.0,\n      "num": 0,\n      "score": null\n    },\n' +
        '    "Humanities": {\n      "correct": 1.0,\n      "num": 2,\n      "score": 0.5\n    },\n    "Other": {\n      "correct": 0.0,\n      "num": 0,\n      "score": null\n    }\n  },\n' +
        '  "All": {\n    "score": 0.5,\n    "num": 6,\n    "correct": 3.0\n  }\n}',
    );
    expect(pythonJson({ logic: { "0": "A", "1": "NA" } }, 4)).to.equal('{\n    "logic": {\n        "0": "A",\n        "1": "NA"\n    }\n}');
  });
});
