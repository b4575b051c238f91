import { useCallback, useEffect, useRef, useState } from "react";

export type SaveState = "saved" | "unsaved" | "saving" | "error";

/**
 * Save `value` after `delay` ms without edits (the original waited 2 s), or at once through `saveNow` (Ctrl/⌘+S).
 * `saved` is the value the server has; a save never runs twice for the same value, and a failed save stays "error"
 * until the next edit or saveNow.
 */
export function useAutosave(value: string, saved: string, save: (value: string) => Promise<unknown>, delay = 1200) {
  const [state, setState] = useState<SaveState>(value === saved ? "saved" : "unsaved");
  const lastSaved = useRef(saved);
  const inFlight = useRef<string | null>(null);
  const saveRef = useRef(save);
  saveRef.current = save;

  useEffect(() => {
    lastSaved.current = saved;
  }, [saved]);

  const saveNow = useCallback(async (current: string) => {
    if (current === lastSaved.current || current === inFlight.current) return;
    inFlight.current = current;
    setState("saving");
    try {
      await saveRef.current(current);
      lastSaved.current = current;
      setState((s) => (s === "saving" ? "saved" : s));
    } catch {
      setState("error");
    } finally {
      inFlight.current = null;
    }
  }, []);

  useEffect(() => {
    if (value === lastSaved.current) {
      setState((s) => (s === "unsaved" ? "saved" : s));
      return;
    }
    setState("unsaved");
    const timer = window.setTimeout(() => void saveNow(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay, saveNow]);

  return { state, saveNow: () => saveNow(value) };
}

export const SAVE_STATE_TEXT: Record<SaveState, string> = {
  saved: "All changes saved",
  unsaved: "Unsaved changes",
  saving: "Saving…",
  error: "Not saved: the last save failed",
};
