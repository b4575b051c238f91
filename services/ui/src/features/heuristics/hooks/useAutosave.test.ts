import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useAutosave } from "./useAutosave";

describe("useAutosave", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("saves once after a pause, not on every keystroke", async () => {
    const save = vi.fn(() => Promise.resolve());
    const { result, rerender } = renderHook(({ value }) => useAutosave(value, "a", save, 1000), { initialProps: { value: "a" } });
    expect(result.current.state).toBe("saved");
    rerender({ value: "ab" });
    await act(() => vi.advanceTimersByTimeAsync(500));
    rerender({ value: "abc" });
    expect(result.current.state).toBe("unsaved");
    await act(() => vi.advanceTimersByTimeAsync(999));
    expect(save).not.toHaveBeenCalled();
    await act(() => vi.advanceTimersByTimeAsync(1));
    expect(save).toHaveBeenCalledTimes(1);
    expect(save).toHaveBeenCalledWith("abc");
    expect(result.current.state).toBe("saved");
  });

  it("saves at once on saveNow and not again after the pause", async () => {
    const save = vi.fn(() => Promise.resolve());
    const { result, rerender } = renderHook(({ value }) => useAutosave(value, "a", save, 1000), { initialProps: { value: "a" } });
    rerender({ value: "x" });
    await act(() => result.current.saveNow());
    expect(save).toHaveBeenCalledTimes(1);
    await act(() => vi.advanceTimersByTimeAsync(2000));
    expect(save).toHaveBeenCalledTimes(1);
    expect(result.current.state).toBe("saved");
  });

  it("shows a failed save", async () => {
    const save = vi.fn(() => Promise.reject(new Error("no")));
    const { result, rerender } = renderHook(({ value }) => useAutosave(value, "a", save, 100), { initialProps: { value: "a" } });
    rerender({ value: "b" });
    await act(() => vi.advanceTimersByTimeAsync(100));
    expect(result.current.state).toBe("error");
  });
});
