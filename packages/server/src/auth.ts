// API key check: `Authorization: Bearer <key>`, compared in constant time (both sides are
// hashed to 32 bytes first, so neither the content nor the length leaks through timing).

import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

export function keyMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer[ \t]+(.+)$/i.exec(header ?? "");
  const given = m ? m[1].trim() : "";
  // Always compare (even when the header is missing) so the time does not depend on the input.
  const same = timingSafeEqual(digest(given), digest(key));
  return m !== null && same;
}
