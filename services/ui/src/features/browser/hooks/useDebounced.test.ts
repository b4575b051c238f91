import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { debounce, latestOnly, useDebounced } from "./useDebounced";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("debounce", () => {
  it("runs once with the last arguments after the pause", () => {
    const fn = vi.fn();
    const d = debounce(fn, 250);
    d.call(1);
    vi.advanceTimersByTime(200);
    d.call(2);
    vi.advanceTimersByTime(200);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(50);
    expect(fn).toHaveBeenCalledExactlyOnceWith(2);
    d.call(3);
    d.flush();
    expect(fn).toHaveBeenLastCalledWith(3);
    d.call(4);
    d.cancel();
    vi.advanceTimersByTime(1000);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe("latestOnly", () => {
  it("marks every answer but the newest request's as stale", () => {
    const latest = latestOnly();
    const first = latest.next();
    const second = latest.next();
    expect(latest.isCurrent(first)).toBe(false);
    expect(latest.isCurrent(second)).toBe(true);
  });
});

describe("useDebounced", () => {
  it("keeps the settled value until the input stays unchanged for the delay", () => {
    const { result, rerender } = renderHook(({ v }) => useDebounced(v, v, 250), { initialProps: { v: "a" } });
    rerender({ v: "ab" });
    act(() => void vi.advanceTimersByTime(100));
    rerender({ v: "abc" });
    act(() => void vi.advanceTimersByTime(200));
    expect(result.current).toBe("a");
    act(() => void vi.advanceTimersByTime(60));
    expect(result.current).toBe("abc");
  });
});
