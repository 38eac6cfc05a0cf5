// The `nmt_nfkc` precompiled character map that spm_train writes into the models it trains
// (SentencePiece's compiled NFKC rules), shipped as data in assets/ (see
// scripts/extract-nmt-nfkc.ts for where the bytes come from).

import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { LlamatsError } from "@llamats/tensor";

let cached: Uint8Array | undefined;

export function nmtNfkcCharsmap(): Uint8Array {
  if (!cached) {
    // src/train/ and dist/train/ are both two levels below the package root.
    const url = new URL("../../assets/nmt_nfkc.charsmap.gz", import.meta.url);
    try {
      cached = new Uint8Array(gunzipSync(readFileSync(url)));
    } catch (e) {
      throw new LlamatsError(`cannot read the nmt_nfkc character map ${url.pathname}: ${(e as Error).message}`, { cause: e });
    }
  }
  return cached;
}
