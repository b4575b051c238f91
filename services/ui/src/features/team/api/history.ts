import { useInfiniteQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../../api/client";
import type { HistoryEntry } from "./team";

/** Entries per page of the project's label history (the API allows up to 1000). */
export const HISTORY_PAGE = 50;

export interface HistoryFilter {
  annotatorId: string;
  taskId: string;
}

export const projectHistoryKey = (pid: string, filter: HistoryFilter) => ["label-history", pid, "project", filter] as const;

/** Where the next page starts: entries older than the last one shown, or nothing once a page came back short. */
export function nextBeforeId(page: HistoryEntry[], pageSize: number = HISTORY_PAGE): number | undefined {
  if (page.length < pageSize) return undefined;
  return page[page.length - 1]?.id;
}

/** The query the API is asked for: only the filters that are set. */
export function historyQuery(filter: HistoryFilter, beforeId: number | undefined, limit: number = HISTORY_PAGE) {
  return {
    limit,
    ...(filter.annotatorId ? { annotator_id: filter.annotatorId } : {}),
    ...(filter.taskId ? { task_id: filter.taskId } : {}),
    ...(beforeId !== undefined ? { before_id: beforeId } : {}),
  };
}

/** The project's label changes, newest first, a page at a time (who labeled what), optionally of one annotator / task. */
export function useProjectHistory(pid: string, filter: HistoryFilter) {
  return useInfiniteQuery({
    queryKey: projectHistoryKey(pid, filter),
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/label-history", {
          params: { path: { project_id: pid }, query: historyQuery(filter, pageParam) },
        }),
      ),
    getNextPageParam: (page) => nextBeforeId(page),
  });
}

/** How an entry was made, in words. */
export function viaText(via: string): string {
  switch (via) {
    case "UI":
      return "in the UI";
    case "SDK":
      return "with the SDK";
    case "BULK":
      return "bulk action";
    case "UPLOAD":
      return "upload";
    case "SNAPSHOT":
      return "snapshot import";
    case "REVERT":
      return "revert";
    default:
      return via;
  }
}
