import { describe, expect, it } from "vitest";
import { mayUse, WORK_QUEUE } from "./assignments";

describe("which project pages the sidebar shows", () => {
  const owner = ["READ_PROJECT", "LABEL", "BROWSE_DATA", "ASSIGN_WORK", "EDIT_PROJECT"];
  it("shows My queue only to a member with a queue", () => {
    expect(mayUse(owner, "queue")).toBe(false);
    expect(mayUse([...owner, WORK_QUEUE], "queue")).toBe(true);
    expect(mayUse(["READ_PROJECT", "LABEL", WORK_QUEUE], "queue")).toBe(true);
  });
  it("shows Team only to those who may assign work", () => {
    expect(mayUse(owner, "team")).toBe(true);
    expect(mayUse(["READ_PROJECT", "LABEL", "BROWSE_DATA"], "team")).toBe(false);
  });
  it("shows every page until the permissions are known", () => {
    expect(mayUse(undefined, "team")).toBe(true);
  });
});
