// HTTP range requests (RFC 9110 §14) for the static files the browser demo serves: one range
// per request (`bytes=a-b`, `bytes=a-`, `bytes=-n`); anything else (several ranges, other
// units, garbage) is answered with the whole file, as the RFC allows a server to do.

export type RangeAnswer =
  | { readonly kind: "whole" }
  | { readonly kind: "part"; readonly first: number; readonly last: number }
  | { readonly kind: "unsatisfiable" };

/** What to send for a Range header value, for a file of `size` bytes. */
export function parseByteRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: "whole" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "whole" };
  if (m[1] === "") {
    const suffix = Number(m[2]); // the last n bytes
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "part", first: Math.max(0, size - suffix), last: size - 1 };
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(first) || first >= size || (m[2] !== "" && Number(m[2]) < first)) return { kind: "unsatisfiable" };
  return { kind: "part", first, last };
}
