import { describe, expect, it } from "vitest";
import { inOrder } from "./labeling";

describe("inOrder", () => {
  it("sends calls with the same key one after the other, even when an earlier one is slower or fails", async () => {
    const log: string[] = [];
    const slow = (name: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) =>
        setTimeout(() => {
          log.push(name);
          if (fail) reject(new Error(name));
          else resolve(name);
        }, ms),
      );
    const first = inOrder("k", slow("first", 30, true));
    const second = inOrder("k", slow("second", 1));
    const other = inOrder("other", slow("other", 1));
    await expect(first).rejects.toThrow("first");
    await expect(second).resolves.toBe("second");
    await other;
    expect(log).toEqual(["other", "first", "second"]);
  });
});
