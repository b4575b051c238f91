import { useQuery } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../../../api/client";
import { metricsKey } from "./metrics";

export type Quality = Schemas["QualityOut"];

/** The cross-validated quality of the task's latest finished weak-supervision run (refreshed with the other metrics). */
export function useWeakSupervisionQuality(pid: string, taskId: string | undefined) {
  return useQuery({
    queryKey: [...metricsKey(pid), "ws-quality", taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/metrics/weak-supervision-quality", { params: { path: { project_id: pid }, query: { task_id: taskId ?? "" } } })),
  });
}
