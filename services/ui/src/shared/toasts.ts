import { create } from "zustand";
import { notify } from "./notifications";

export type ToastLevel = "info" | "success" | "error";

export interface Toast {
  id: number;
  level: ToastLevel;
  message: string;
}

interface ToastState {
  toasts: Toast[];
  push: (level: ToastLevel, message: string) => void;
  dismiss: (id: number) => void;
}

let nextId = 1;
const LIFETIME_MS: Record<ToastLevel, number> = { info: 4000, success: 5000, error: 10000 };

/** Short messages at the bottom-left: job results, refused labels, errors of actions. */
export const useToasts = create<ToastState>((set, get) => ({
  toasts: [],
  push(level, message) {
    const id = nextId++;
    set({ toasts: [...get().toasts.slice(-4), { id, level, message }] });
    window.setTimeout(() => get().dismiss(id), LIFETIME_MS[level]);
  },
  dismiss(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
}));

export const toast = {
  info: (message: string) => useToasts.getState().push("info", message),
  success: (message: string) => useToasts.getState().push("success", message),
  /** An error toast, also kept in the notification centre with a link to the page concerned (default: this page). */
  error: (message: string, link?: string) => {
    useToasts.getState().push("error", message);
    notify("ERROR", message, link ?? window.location.pathname + window.location.search);
  },
};
