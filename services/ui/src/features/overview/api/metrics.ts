import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../../api/client";

export const metricsKey = (pid: string) => ["metrics", pid] as const;

export type Scope = { pid: string; sliceId: string | null };

function query(scope: Scope, taskId?: string) {
  return {
    path: { project_id: scope.pid },
    query: { ...(scope.sliceId ? { slice_id: scope.sliceId } : {}), ...(taskId ? { task_id: taskId } : {}) },
  };
}

// The queries' options, shared by the hooks below and by the overview's prefetch (same keys, same requests).

export const progressQuery = (scope: Scope) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "progress", scope.sliceId],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/metrics/progress", { params: query(scope) })),
  });

export const labelDistributionQuery = (scope: Scope, taskId: string | undefined) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "distribution", scope.sliceId, taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/metrics/label-distribution", { params: { ...query(scope), query: { ...query(scope).query, task_id: taskId ?? "" } } })),
  });

export const confidenceHistogramQuery = (scope: Scope, taskId: string | undefined) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "histogram", scope.sliceId, taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/metrics/confidence-histogram", {
          params: { ...query(scope), query: { ...query(scope).query, task_id: taskId ?? "", bins: 10 } },
        }),
      ),
  });

export const confusionMatrixQuery = (scope: Scope, taskId: string | undefined) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "confusion", scope.sliceId, taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/metrics/confusion-matrix", { params: { ...query(scope), query: { ...query(scope).query, task_id: taskId ?? "" } } })),
  });

export const heuristicFiguresQuery = (scope: Scope, taskId: string | undefined) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "heuristics", scope.sliceId, taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/metrics/heuristics", { params: { ...query(scope), query: { ...query(scope).query, task_id: taskId ?? "" } } })),
  });

export const agreementQuery = (scope: Scope, taskId: string | undefined) =>
  queryOptions({
    queryKey: [...metricsKey(scope.pid), "agreement", scope.sliceId, taskId],
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/metrics/agreement", { params: { ...query(scope), query: { ...query(scope).query, task_id: taskId ?? "" } } })),
  });

export function useProgress(scope: Scope) {
  return useQuery(progressQuery(scope));
}

export function useLabelDistribution(scope: Scope, taskId: string | undefined) {
  return useQuery(labelDistributionQuery(scope, taskId));
}

export function useConfidenceHistogram(scope: Scope, taskId: string | undefined) {
  return useQuery(confidenceHistogramQuery(scope, taskId));
}

export function useConfusionMatrix(scope: Scope, taskId: string | undefined) {
  return useQuery(confusionMatrixQuery(scope, taskId));
}

export function useHeuristicFigures(scope: Scope, taskId: string | undefined) {
  return useQuery(heuristicFiguresQuery(scope, taskId));
}

export function useAgreement(scope: Scope, taskId: string | undefined) {
  return useQuery(agreementQuery(scope, taskId));
}
