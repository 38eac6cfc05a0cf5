// C-Eval's data layout, as the seed reads it: DIR/{val,dev,test}/{subject}_{split}.csv with
// columns id, question, A, B, C, D[, answer[, explanation]] (test has no answer). The subject
// list is what DIR/val holds (the seed's os.listdir("data/val"); sorted here, so runs are
// reproducible). Rows are numbered 0.. in file order (pandas' RangeIndex, the seed's row_idx).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlamatsError } from "@llamats/tensor";
import { parseCsv } from "./csv.js";
import { pandasColumn } from "./pandas-cells.js";

export type CevalSplit = "val" | "dev" | "test";

/** One question row: every column's value as the seed's prompt shows it (NaN as "nan"). */
export type CevalRow = Readonly<Record<string, string>>;

export interface CevalTable {
  readonly file: string;
  readonly columns: readonly string[];
  readonly rows: readonly CevalRow[];
  /** Cells as written in the file (for --do-save-csv), NaN as "". */
  readonly cells: readonly (readonly string[])[];
  /** pandas' cell text (NaN as null), for --do-save-csv. */
  readonly values: readonly (readonly (string | null)[])[];
}

const REQUIRED = ["question", "A", "B", "C", "D"];

export function splitFile(dataDir: string, split: CevalSplit, subject: string): string {
  return join(dataDir, split, `${subject}_${split}.csv`);
}

export function readSplit(dataDir: string, split: CevalSplit, subject: string): CevalTable {
  const file = splitFile(dataDir, split, subject);
  if (!existsSync(file)) throw new LlamatsError(`${file}: not found (C-Eval layout: DIR/{val,dev,test}/{subject}_{split}.csv)`);
  const t = parseCsv(readFileSync(file, "utf8"), file);
  const need = split === "test" ? REQUIRED : [...REQUIRED, "answer"];
  for (const c of need) if (!t.header.includes(c)) throw new LlamatsError(`${file}: line 1: no "${c}" column (have ${t.header.join(", ")})`);
  const byColumn = t.header.map((_, j) => pandasColumn(t.rows.map((r) => r[j])));
  const values = t.rows.map((_, i) => byColumn.map((col) => col[i]));
  const rows = values.map((v) => Object.fromEntries(t.header.map((c, j) => [c, v[j] ?? "nan"])));
  return { file, columns: t.header, rows, cells: t.rows, values };
}

/** Subjects with a DIR/val/{subject}_val.csv file, sorted. */
export function listSubjects(dataDir: string): string[] {
  const dir = join(dataDir, "val");
  if (!existsSync(dir)) throw new LlamatsError(`${dir}: not found (C-Eval layout: DIR/{val,dev,test}/{subject}_{split}.csv)`);
  return readdirSync(dir).filter((f) => f.endsWith("_val.csv")).map((f) => f.slice(0, -"_val.csv".length)).sort();
}
