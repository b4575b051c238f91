import { useEffect, useState } from "react";

/** A debouncer: `call` runs `fn` with the latest arguments once `ms` passed without another call; `flush` runs now. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: A | null = null;
  return {
    call(...args: A) {
      pending = args;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const run = pending;
        pending = null;
        if (run) fn(...run);
      }, ms);
    },
    flush() {
      clearTimeout(timer);
      const run = pending;
      pending = null;
      if (run) fn(...run);
    },
    cancel() {
      clearTimeout(timer);
      pending = null;
    },
  };
}

/**
 * Hands out tickets for requests so only the newest one's answer is used: `isCurrent(ticket)` is false for any
 * ticket issued before the latest, so a slow answer to an old filter never replaces a newer one.
 */
export function latestOnly() {
  let latest = 0;
  return {
    next(): number {
      latest += 1;
      return latest;
    },
    isCurrent(ticket: number): boolean {
      return ticket === latest;
    },
  };
}

/** `value` once it stayed unchanged (by `key`) for `ms`; the previous value until then. */
export function useDebounced<T>(value: T, key: string, ms: number): T {
  const [settled, setSettled] = useState<{ key: string; value: T }>({ key, value });
  useEffect(() => {
    if (key === settled.key) return;
    const timer = setTimeout(() => setSettled({ key, value }), ms);
    return () => clearTimeout(timer);
    // value travels with key: the key decides when it changed
  }, [key, ms]);
  return settled.value;
}
