import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef } from "react";
import { api, unwrap, type Schemas } from "../../../api/client";
import { useProject } from "../../projects/api/projects";
import { useSessionRecords, type RecordItem } from "./labeling";

export type LabelingSession = Schemas["SessionOut"];
export type SessionSource = { slice_id: string } | { heuristic_id: string } | { record_ids: number[] } | { filter: unknown };

export const labelingSessionKey = (pid: string, sid: string) => ["labeling-session", pid, sid] as const;
export const labelingSessionsKey = (pid: string) => ["labeling-sessions", pid] as const;
const windowKey = (pid: string, sid: string) => ["labeling-session-window", pid, sid] as const;

const WINDOW = 100;

/** What the suite walks through: the records in order (loaded a page at a time), the total and where it came from. */
export interface SessionView {
  /** The record at each loaded position; null where the record was deleted since the session was made. */
  records: (RecordItem | null)[];
  total: number;
  /** "All records" for the default session, else the session's name or source. */
  title: string;
  /** The server-side session (null for the default one over every record). */
  session: LabelingSession | null;
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
  isPending: boolean;
  isFetching: boolean;
  error: Error | null;
}

/** A readable name of a session: its name, else what it was made from. */
export function sessionTitle(session: LabelingSession): string {
  if (session.name) return session.name;
  const source = session.source as Record<string, unknown>;
  if (typeof source.slice === "string") return `slice ${source.slice}`;
  if (typeof source.heuristic === "string") return `heuristic ${source.heuristic}`;
  if (source.record_ids) return "chosen records";
  return "a data-browser result";
}

/** The default session: every record of the project in id order. */
export function useDefaultSession(pid: string, enabled: boolean): SessionView {
  const project = useProject(pid);
  const pages = useSessionRecords(pid, enabled);
  const records = useMemo(() => pages.data?.pages.flatMap((p) => p.items) ?? [], [pages.data]);
  return {
    records,
    total: project.data?.record_count ?? records.length,
    title: "All records",
    session: null,
    hasNextPage: pages.hasNextPage,
    isFetchingNextPage: pages.isFetchingNextPage,
    fetchNextPage: pages.fetchNextPage,
    isPending: enabled && pages.isPending,
    isFetching: pages.isFetching,
    error: pages.error,
  };
}

/** A server-side session (from a data-browser result, a slice, a heuristic or chosen records), a window at a time. */
export function useServerSession(pid: string, sid: string | undefined): SessionView {
  const enabled = sid !== undefined;
  const meta = useQuery({
    queryKey: labelingSessionKey(pid, sid ?? ""),
    enabled,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/labeling-sessions/{session_id}", {
          params: { path: { project_id: pid, session_id: sid ?? "" } },
        }),
      ),
    staleTime: Infinity,
  });
  const windows = useInfiniteQuery({
    queryKey: windowKey(pid, sid ?? ""),
    enabled,
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/labeling-sessions/{session_id}/window", {
          params: { path: { project_id: pid, session_id: sid ?? "" }, query: { offset: pageParam, limit: WINDOW } },
        }),
      ),
    getNextPageParam: (page) => (page.offset + page.record_ids.length < page.total ? page.offset + page.record_ids.length : undefined),
    staleTime: 5 * 60_000,
  });
  const records = useMemo(
    () =>
      windows.data?.pages.flatMap((page) => {
        const byId = new Map(page.records.map((r) => [r.id, r] as const));
        return page.record_ids.map((id) => byId.get(id) ?? null);
      }) ?? [],
    [windows.data],
  );
  return {
    records,
    total: meta.data?.total ?? windows.data?.pages[0]?.total ?? 0,
    title: meta.data ? sessionTitle(meta.data) : "…",
    session: meta.data ?? null,
    hasNextPage: windows.hasNextPage,
    isFetchingNextPage: windows.isFetchingNextPage,
    fetchNextPage: windows.fetchNextPage,
    isPending: enabled && (meta.isPending || windows.isPending),
    isFetching: windows.isFetching,
    error: meta.error ?? windows.error,
  };
}

/** Keep the server-side position of the user's own session at `pos` (sent once the user stops moving for a moment). */
export function useSyncPosition(pid: string, session: LabelingSession | null, userId: string, pos: number): void {
  const sent = useRef<number | null>(null);
  const own = session !== null && session.created_by === userId;
  const sid = session?.id;
  useEffect(() => {
    if (!own || !sid || sent.current === pos || (sent.current === null && session?.position === pos)) return;
    const timer = window.setTimeout(() => {
      sent.current = pos;
      void api.PUT("/api/v1/projects/{project_id}/labeling-sessions/{session_id}/position", {
        params: { path: { project_id: pid, session_id: sid } },
        body: { position: pos },
      });
    }, 400);
    return () => window.clearTimeout(timer);
  }, [own, sid, pid, pos, session?.position]);
}

/** The user's sessions in the project, newest first. */
export function useMySessions(pid: string, enabled: boolean) {
  return useQuery({
    queryKey: labelingSessionsKey(pid),
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/labeling-sessions", { params: { path: { project_id: pid } } })),
  });
}

/** Start a session from a slice, a heuristic's hits, chosen records or a data-browser filter. */
export function useStartSession(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["SessionIn"]) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/labeling-sessions", { params: { path: { project_id: pid } }, body })),
    onSuccess: (session) => {
      client.setQueryData(labelingSessionKey(pid, session.id), session);
      void client.invalidateQueries({ queryKey: labelingSessionsKey(pid) });
    },
  });
}

export function useSlices(pid: string, enabled: boolean) {
  return useQuery({
    queryKey: ["slices", pid],
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/slices", { params: { path: { project_id: pid } } })),
  });
}

export function useHeuristics(pid: string, enabled: boolean) {
  return useQuery({
    queryKey: ["heuristics", pid],
    enabled,
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/heuristics", { params: { path: { project_id: pid } } })),
  });
}
