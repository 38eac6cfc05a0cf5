// parseByteRange: the Range header of the browser demo's /models/ files (RFC 9110 §14.1.2).

import { expect } from "chai";
import fc from "fast-check";
import { parseByteRange } from "../src/byte-range.js";

describe("server/parseByteRange", () => {
  it("answers the forms browsers send", () => {
    expect(parseByteRange(undefined, 100)).to.deep.equal({ kind: "whole" });
    expect(parseByteRange("bytes=0-9", 100)).to.deep.equal({ kind: "part", first: 0, last: 9 });
    expect(parseByteRange("bytes=90-", 100)).to.deep.equal({ kind: "part", first: 90, last: 99 });
    expect(parseByteRange("bytes=-10", 100)).to.deep.equal({ kind: "part", first: 90, last: 99 });
    expect(parseByteRange("bytes=-1000", 100)).to.deep.equal({ kind: "part", first: 0, last: 99 });
    expect(parseByteRange("bytes=50-1000", 100)).to.deep.equal({ kind: "part", first: 50, last: 99 });
    expect(parseByteRange("bytes=100-", 100)).to.deep.equal({ kind: "unsatisfiable" });
    expect(parseByteRange("bytes=9-3", 100)).to.deep.equal({ kind: "unsatisfiable" });
    expect(parseByteRange("bytes=-0", 100)).to.deep.equal({ kind: "unsatisfiable" });
    // Several ranges, other units, garbage: the whole file (allowed by the RFC).
    for (const h of ["bytes=0-1,5-6", "items=0-1", "bytes=", "bytes=-", "nonsense"]) expect(parseByteRange(h, 100), h).to.deep.equal({ kind: "whole" });
  });

  it("a satisfiable range always lies inside the file and starts where asked", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.nat(), fc.option(fc.nat()), (size, first, lastOrNone) => {
        const header = `bytes=${first}-${lastOrNone ?? ""}`;
        const r = parseByteRange(header, size);
        const satisfiable = first < size && (lastOrNone === null || lastOrNone >= first);
        expect(r.kind).to.equal(satisfiable ? "part" : "unsatisfiable");
        if (r.kind === "part") {
          expect(r.first).to.equal(first);
          expect(r.last).to.equal(Math.min(lastOrNone ?? size - 1, size - 1));
        }
      }),
    );
  });
});
