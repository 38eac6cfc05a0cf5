// The worker pool quantises exactly as quantizeRows does.
import { expect } from "chai";
import { GGMLType } from "@llamats/tensor";
import { randomUniform } from "@llamats/testkit";
import { NonFiniteWeightError, createQuantizePool, quantizeRows } from "@llamats/quant";

describe("quant: createQuantizePool (worker_threads)", () => {
  it("gives the bytes of quantizeRows for 3 threads, and refuses NaN with the tensor name", async () => {
    const pool = await createQuantizePool(3);
    try {
      const rows = 67, cols = 1024;
      const x = randomUniform(rows * cols, 3, -2, 2);
      for (const type of [GGMLType.Q4_0, GGMLType.Q8_0, GGMLType.Q6_K]) {
        const want = quantizeRows(type, x, rows, cols);
        expect(Buffer.from(pool.quantizeRows(type, x, rows, cols)).equals(Buffer.from(want)), `type ${type}`).to.equal(true);
      }
      x[5000] = NaN;
      expect(() => pool.quantizeRows(GGMLType.Q4_0, x, rows, cols, "blk.2.ffn_up.weight")).to.throw(NonFiniteWeightError, /blk\.2\.ffn_up\.weight/);
    } finally {
      pool.dispose();
    }
  });
});
