// What the seed's prompts contain for a CSV cell: pandas.read_csv infers a type per column
// and the prompt formats the parsed value with str(). So, per column:
//   - the default NA strings ("", "NA", "N/A", "nan", "None", "null", ...) become NaN -> "nan";
//   - a column whose values are all integers (and no NaN) is int64 -> "007" prints "7";
//   - a column whose values are all numbers (or NaN) is float64 -> Python's repr: "2" prints
//     "2.0", "0.50" prints "0.5", "1e-5" prints "1e-05";
//   - a column of only True/False spellings is bool -> "True"/"False";
//   - anything else keeps its text.
// A maths subject whose option column mixes "2" and "2.5" therefore shows "2.0" in the prompt,
// as in the seed.

const NA = new Set(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]);
const INT = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity)\s*$/i;
const TRUE = new Set(["True", "TRUE", "true"]);
const FALSE = new Set(["False", "FALSE", "false"]);

/** Python's repr() of a float. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expS] = x.toExponential().split("e");
  const exp = Number(expS);
  const neg = mant.startsWith("-");
  const digits = mant.replace("-", "").replace(".", "");
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${neg ? "-" : ""}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  let s: string;
  if (exp < 0) s = `0.${"0".repeat(-exp - 1)}${digits}`;
  else if (digits.length <= exp + 1) s = `${digits}${"0".repeat(exp + 1 - digits.length)}.0`;
  else s = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  return (neg ? "-" : "") + s;
}

/** The str() of every cell of one column after pandas' type inference; NaN as null. */
export function pandasColumn(values: readonly string[]): (string | null)[] {
  const isNa = values.map((v) => NA.has(v));
  const present = values.filter((_, i) => !isNa[i]);
  if (present.length > 0 && present.every((v) => INT.test(v))) {
    if (isNa.some(Boolean)) return values.map((v, i) => (isNa[i] ? null : pyFloatRepr(Number(v))));
    return values.map((v) => BigInt(v.trim()).toString());
  }
  if (present.length > 0 && present.every((v) => FLOAT.test(v))) {
    return values.map((v, i) => (isNa[i] ? null : pyFloatRepr(parseFloatPy(v))));
  }
  if (present.length > 0 && !isNa.some(Boolean) && present.every((v) => TRUE.has(v) || FALSE.has(v))) {
    return values.map((v) => (TRUE.has(v) ? "True" : "False"));
  }
  return values.map((v, i) => (isNa[i] ? null : v));
}

function parseFloatPy(v: string): number {
  const t = v.trim().toLowerCase();
  if (/^[+-]?inf(inity)?$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  return Number(t);
}
