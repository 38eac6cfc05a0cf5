// The small real model the LangChain tests run on: the synthetic tiny LLaMA (real
// architecture, embedded SentencePiece vocabulary with Chinese characters), written once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, writeSyntheticModel, type LlamaModel } from "@llamats/engine";

let dir: string | undefined;

export async function tinyModel(): Promise<LlamaModel> {
  dir ??= mkdtempSync(join(tmpdir(), "llamats-langchain-"));
  const path = join(dir, "tiny-q8_0.gguf");
  writeSyntheticModel(path, { shape: "tiny", type: "q8_0", seed: 0 });
  return loadModel(path, { backend: "auto", nCtx: 2048 });
}

export function cleanup(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

/**
 * A Chinese document of ten paragraphs (about 1,100 characters: two or three 600-character
 * chunks), written with characters the embedded vocabulary holds, so a chunk stays a few
 * hundred tokens (no byte fallback) and the tests stay quick.
 */
export function chineseDocument(): string {
  const sentences = [
    "我们的国家需要保护环境，减少污染。",
    "为什么我们要减少污染？因为污染对人们的生活和身体都没有好处。",
    "中国的语言模型可以生成中文，也可以回答问题。",
    "世界在发展，社会也在发展，人们的工作和生活每天都在变化。",
    "保护环境是每一个人自己的事情，也是国家的重要工作。",
  ];
  const paras: string[] = [];
  for (let i = 0; i < 10; i++) paras.push(`第${["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"][i]}：${sentences[i % 5]}${sentences[(i + 2) % 5]}${sentences[(i + 3) % 5]}`);
  return paras.join("\n\n");
}
