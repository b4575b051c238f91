import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { toast } from "../../../shared/toasts";
import { jobLink, notify } from "../../../shared/notifications";
import { FINAL_STATES, jobKey, jobName, type Job, type JobEvent } from "../api/jobs";

/** Which queries a job event makes stale: the map from live events to TanStack Query invalidations. */
export function queriesAffectedBy(event: JobEvent): ReadonlyArray<readonly unknown[]> {
  const pid = event.project_id;
  const keys: (readonly unknown[])[] = [["projects"]];
  if (!pid) return keys;
  keys.push(["project", pid], ["jobs", pid]);
  if (!FINAL_STATES.has(event.state)) return keys;
  switch (event.kind) {
    case "upload":
    case "snapshot_import":
      keys.push(["attributes", pid], ["tasks", pid], ["records", pid], ["session", pid]);
      keys.push(["metrics", pid], ["browser", pid], ["slices", pid]);
      break;
    case "tokenize_project":
      keys.push(["tokens", pid]);
      break;
    case "weak_supervision":
    case "heuristic_run":
    case "zero_shot":
      keys.push(["labels", pid]);
      keys.push(["metrics", pid], ["browser", pid]); // the overview and the data browser show these results
      // the heuristics' last runs (list and detail pages), run histories and statistics: a page opened while the
      // run was being created may hold no run at all, and it polls only while a run it knows of is running
      keys.push(["heuristics", pid], ["heuristic-statistics", pid]);
      break;
    case "heuristic_statistics":
      keys.push(["heuristic-statistics", pid]);
      break;
    case "project_delete":
      break;
    default:
      break;
  }
  return keys;
}

/** A change of manual labels (the websocket's ``{"type": "labels"}``; an annotator hears only of their records). */
export interface LabelsEvent {
  type: "labels";
  project_id: string;
  labeling_task_id: string;
  record_ids: number[] | null;
}

/** Which queries a label change makes stale: progress of assignments and queues, agreement and other metrics, the
 * records' labels and label history. */
export function queriesAffectedByLabels(event: LabelsEvent): ReadonlyArray<readonly unknown[]> {
  const pid = event.project_id;
  return [["assignments", pid], ["my-assignments", pid], ["metrics", pid], ["labels", pid], ["label-history", pid]];
}

function isLabelsEvent(value: unknown): value is LabelsEvent {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.type === "labels" && typeof v.project_id === "string";
}

function isJobEvent(value: unknown): value is JobEvent {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "string" && typeof v.kind === "string" && typeof v.state === "string";
}

export function applyJobEvent(client: QueryClient, event: JobEvent): void {
  const previous = client.getQueryData<Job>(jobKey(event.id));
  client.setQueryData<Job>(jobKey(event.id), previous ? { ...previous, ...event } : undefined);
  for (const key of queriesAffectedBy(event)) void client.invalidateQueries({ queryKey: key });
  if (event.state === "done" && event.kind !== "heuristic_statistics") {
    const message = `${jobName(event.kind)} finished${event.message && event.message !== "done" ? `: ${event.message}` : ""}`;
    toast.success(message);
    notify("SUCCESS", message, jobLink(event.kind, event.project_id, event.result));
  } else if (event.state === "failed") {
    const message = `${jobName(event.kind)} failed: ${event.error ?? event.message ?? "no reason given"}`;
    toast.error(message, jobLink(event.kind, event.project_id, event.result));
  } else if (event.state === "cancelled") {
    notify("WARNING", `${jobName(event.kind)} was cancelled`, jobLink(event.kind, event.project_id, event.result));
  }
}

let reconnectNow: (() => void) | null = null;

/**
 * Reconnect the websocket at once: the server subscribes a socket to the projects the user belongs to when it opens,
 * so a project created (or imported) since needs a new socket for its events.
 */
export function reconnectLiveEvents(): void {
  reconnectNow?.();
}

/** One websocket to /api/v1/ws while logged in; reconnects with a growing delay. */
export function useLiveEvents(enabled: boolean): void {
  const client = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let delay = 1000;
    let timer: number | undefined;

    const connect = () => {
      const scheme = window.location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/ws`);
      socket.onopen = () => {
        delay = 1000;
      };
      socket.onmessage = (message: MessageEvent<string>) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(message.data);
        } catch {
          return;
        }
        if (typeof parsed !== "object" || parsed === null) return;
        const body = parsed as { type?: unknown; job?: unknown };
        if (body.type === "hello") void client.invalidateQueries({ queryKey: ["projects"] });
        if (body.type === "job" && isJobEvent(body.job)) applyJobEvent(client, body.job);
        if (isLabelsEvent(parsed)) for (const key of queriesAffectedByLabels(parsed)) void client.invalidateQueries({ queryKey: key });
      };
      socket.onclose = () => {
        if (stopped) return;
        timer = window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, 30_000);
      };
    };
    connect();
    reconnectNow = () => {
      window.clearTimeout(timer);
      const old = socket;
      socket = null;
      if (old) {
        old.onclose = null;
        old.close();
      }
      delay = 1000;
      connect();
    };
    return () => {
      stopped = true;
      reconnectNow = null;
      window.clearTimeout(timer);
      socket?.close();
    };
  }, [enabled, client]);
}
