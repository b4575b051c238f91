import { beforeEach, describe, expect, it } from "vitest";
import { groupByLevel, jobLink, notify, useNotifications } from "./notifications";

describe("notifications", () => {
  beforeEach(() => useNotifications.getState().clear());

  it("keeps them newest first, unread until marked, and in this browser", () => {
    notify("INFO", "one");
    notify("ERROR", "two", "/projects/p/settings");
    const { items } = useNotifications.getState();
    expect(items.map((n) => [n.message, n.level, n.link, n.read])).toEqual([
      ["two", "ERROR", "/projects/p/settings", false],
      ["one", "INFO", null, false],
    ]);
    useNotifications.getState().markAllRead();
    expect(useNotifications.getState().items.every((n) => n.read)).toBe(true);
    expect(JSON.parse(window.localStorage.getItem("refinery.notifications") ?? "[]")).toHaveLength(2);
  });

  it("groups by level, most severe first", () => {
    notify("INFO", "a");
    notify("SUCCESS", "b");
    notify("ERROR", "c");
    expect(groupByLevel(useNotifications.getState().items).map(([level, list]) => [level, list.length])).toEqual([
      ["ERROR", 1],
      ["SUCCESS", 1],
      ["INFO", 1],
    ]);
  });

  it("links a job to its project's page for that kind", () => {
    expect(jobLink("weak_supervision", "p1")).toBe("/projects/p1/heuristics");
    expect(jobLink("upload", "p1")).toBe("/projects/p1/settings");
    expect(jobLink("snapshot_import", null, { project_id: "p2" })).toBe("/projects/p2/settings");
    expect(jobLink("project_delete", null)).toBe("/projects");
  });
});
