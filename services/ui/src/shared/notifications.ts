import { create } from "zustand";

export type NotificationLevel = "ERROR" | "WARNING" | "SUCCESS" | "INFO";

export interface Notification {
  id: string;
  level: NotificationLevel;
  message: string;
  /** The page concerned (an app path), if any. */
  link: string | null;
  at: string;
  read: boolean;
}

const KEY = "refinery.notifications";
const KEEP = 100;

function load(): Notification[] {
  try {
    const stored: unknown = JSON.parse(window.localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(stored) ? (stored as Notification[]).filter((n) => typeof n?.id === "string" && typeof n.message === "string") : [];
  } catch {
    return [];
  }
}

interface NotificationState {
  items: Notification[];
  add: (level: NotificationLevel, message: string, link?: string | null) => void;
  markAllRead: () => void;
  clear: () => void;
}

let seq = 0;

/** Everything that happened while the user worked (job results, refused actions), newest first, kept in this browser. */
export const useNotifications = create<NotificationState>((set, get) => ({
  items: typeof window === "undefined" ? [] : load(),
  add(level, message, link = null) {
    const item: Notification = { id: `${Date.now()}-${++seq}`, level, message, link, at: new Date().toISOString(), read: false };
    const items = [item, ...get().items].slice(0, KEEP);
    set({ items });
    window.localStorage.setItem(KEY, JSON.stringify(items));
  },
  markAllRead() {
    const items = get().items.map((n) => ({ ...n, read: true }));
    set({ items });
    window.localStorage.setItem(KEY, JSON.stringify(items));
  },
  clear() {
    set({ items: [] });
    window.localStorage.removeItem(KEY);
  },
}));

export function notify(level: NotificationLevel, message: string, link: string | null = null): void {
  useNotifications.getState().add(level, message, link);
}

const PAGE_OF_KIND: Record<string, string> = {
  upload: "settings",
  tokenize_project: "settings",
  snapshot_import: "settings",
  embed: "settings",
  attribute_calculation: "settings",
  heuristic_run: "heuristics",
  heuristic_statistics: "heuristics",
  weak_supervision: "heuristics",
  zero_shot: "heuristics",
};

/** The page a job's notification links to: its project's page for that kind of job (the projects list without one). */
export function jobLink(kind: string, projectId: string | null | undefined, result?: Record<string, unknown> | null): string {
  const pid = projectId ?? (typeof result?.project_id === "string" ? result.project_id : null);
  if (!pid) return "/projects";
  return `/projects/${pid}/${PAGE_OF_KIND[kind] ?? "settings"}`;
}

/** The notifications by level, most severe first (levels without any left out). */
export function groupByLevel(items: readonly Notification[]): [NotificationLevel, Notification[]][] {
  const order: NotificationLevel[] = ["ERROR", "WARNING", "SUCCESS", "INFO"];
  return order.map((level) => [level, items.filter((n) => n.level === level)] as [NotificationLevel, Notification[]]).filter(([, list]) => list.length > 0);
}
