import { useEffect, useState } from "react";

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
