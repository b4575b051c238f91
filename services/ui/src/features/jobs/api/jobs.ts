import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";

export type Job = Schemas["JobOut"];
export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

/** A job event as the websocket relays it: the job's public fields without its timestamps. */
export type JobEvent = Pick<Job, "id" | "kind" | "project_id" | "owner_service" | "state" | "progress" | "message" | "error" | "result">;

export const FINAL_STATES: ReadonlySet<string> = new Set(["done", "failed", "cancelled"]);

export const jobKey = (id: string) => ["job", id] as const;

/** One job, polled every second until it is final (the websocket updates it sooner where it is connected). */
export function useJob(id: string | null) {
  return useQuery({
    queryKey: jobKey(id ?? "none"),
    enabled: id !== null,
    queryFn: () => unwrap(api.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: id ?? "" } } })),
    refetchInterval: (query) => (query.state.data && FINAL_STATES.has(query.state.data.state) ? false : 1000),
  });
}

const KIND_NAMES: Record<string, string> = {
  upload: "Upload",
  tokenize_project: "Tokenization",
  snapshot_import: "Snapshot import",
  project_delete: "Project deletion",
  embed: "Embedding",
  heuristic_run: "Heuristic run",
  weak_supervision: "Weak supervision",
  attribute_calculation: "Attribute calculation",
  zero_shot: "Zero-shot run",
  heuristic_statistics: "Heuristic statistics",
};

export function jobName(kind: string): string {
  return KIND_NAMES[kind] ?? kind.replace(/_/g, " ");
}
