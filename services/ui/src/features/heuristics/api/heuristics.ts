import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { ApiError, problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { FINAL_STATES } from "../../jobs/api/jobs";

export type Heuristic = Schemas["HeuristicOut"];
export type HeuristicRun = Schemas["gateway__routers__heuristics__RunOut"];
export type HeuristicStat = Schemas["StatisticsOut"];
export type HeuristicType = Heuristic["type"];

/** A weak-supervision run (options, summary: labels written, records, heuristics, who started it). */
export type WsRun = Schemas["gateway__routers__weak_supervision__RunOut"];

/** One record's outcome of a sample run (labeling function, attribute) or of the record IDE. */
export interface RecordOutcome {
  record_id: number;
  result: unknown;
  stdout: string;
  error: string | null;
}

export interface SampleResult {
  records: RecordOutcome[];
  error: string | null;
  is_generator: boolean | null;
  duration_s: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function asOutcome(value: unknown): RecordOutcome {
  const v = isObject(value) ? value : {};
  return {
    record_id: typeof v.record_id === "number" ? v.record_id : -1,
    result: v.result ?? null,
    stdout: typeof v.stdout === "string" ? v.stdout : "",
    error: typeof v.error === "string" ? v.error : null,
  };
}

/** The executor's sample answer (typed `Any` in the schema), checked field by field. */
export function asSampleResult(value: unknown): SampleResult {
  const v = isObject(value) ? value : {};
  return {
    records: Array.isArray(v.records) ? v.records.map(asOutcome) : [],
    error: typeof v.error === "string" ? v.error : null,
    is_generator: typeof v.is_generator === "boolean" ? v.is_generator : null,
    duration_s: typeof v.duration_s === "number" ? v.duration_s : 0,
  };
}

export { asOutcome };

export const heuristicsKey = (pid: string) => ["heuristics", pid] as const;
export const heuristicKey = (pid: string, id: string) => ["heuristics", pid, id] as const;
export const runsKey = (pid: string, id: string) => ["heuristics", pid, id, "runs"] as const;
export const statisticsKey = (pid: string, taskId: string) => ["heuristic-statistics", pid, taskId] as const;
export const wsRunKey = (pid: string, taskId: string) => ["weak-supervision", pid, taskId] as const;
export const membersKey = (pid: string) => ["members", pid] as const;

const running = (run: HeuristicRun | null | undefined) => Boolean(run && (run.state === "QUEUED" || run.state === "RUNNING"));

/** The project's heuristics with their last runs; polled while one runs (the websocket invalidates them sooner). */
export function useHeuristics(pid: string) {
  return useQuery({
    queryKey: heuristicsKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/heuristics", { params: { path: { project_id: pid }, query: {} } })),
    refetchInterval: (query) => (query.state.data?.some((h) => running(h.last_run)) ? 2000 : false),
  });
}

export function useHeuristic(pid: string, id: string) {
  return useQuery({
    queryKey: heuristicKey(pid, id),
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/heuristics/{heuristic_id}", { params: { path: { project_id: pid, heuristic_id: id } } })),
    refetchInterval: (query) => (running(query.state.data?.last_run) ? 1000 : false),
  });
}

export function useHeuristicRuns(pid: string, id: string) {
  return useQuery({
    queryKey: runsKey(pid, id),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs", { params: { path: { project_id: pid, heuristic_id: id } } }),
      ),
    refetchInterval: (query) => (query.state.data?.some((r) => running(r)) ? 1000 : false),
  });
}

/** Every heuristic of a task with per-label estimates; recomputed by a job after each run, so it is polled until
 * `watchUntil` (a time in ms) after a run ends. */
export function useTaskStatistics(pid: string, taskId: string | undefined, watchUntil = 0) {
  return useQuery({
    queryKey: statisticsKey(pid, taskId ?? "none"),
    enabled: Boolean(taskId),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/labeling-tasks/{task_id}/heuristic-statistics", {
          params: { path: { project_id: pid, task_id: taskId ?? "" } },
        }),
      ),
    refetchInterval: (query) => (query.state.data?.some((s) => s.status === "running") || Date.now() < watchUntil ? 2000 : false),
  });
}

/** The task's latest weak-supervision run, or null when it has none. */
export function useLatestWeakSupervision(pid: string, taskId: string | undefined) {
  return useQuery({
    queryKey: wsRunKey(pid, taskId ?? "none"),
    enabled: Boolean(taskId),
    queryFn: async (): Promise<WsRun | null> => {
      try {
        return await unwrap(
          api.GET("/api/v1/projects/{project_id}/labeling-tasks/{task_id}/weak-supervision", {
            params: { path: { project_id: pid, task_id: taskId ?? "" } },
          }),
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    refetchInterval: (query) => {
      const state = query.state.data?.state;
      return state === "QUEUED" || state === "RUNNING" ? 1500 : false;
    },
  });
}

export function useMembers(pid: string) {
  return useQuery({
    queryKey: membersKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/members", { params: { path: { project_id: pid } } })),
    staleTime: 5 * 60_000,
  });
}

function useInvalidateHeuristics(pid: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ["heuristics", pid] });
    void client.invalidateQueries({ queryKey: ["heuristic-statistics", pid] });
  };
}

export function useCreateHeuristic(pid: string) {
  const invalidate = useInvalidateHeuristics(pid);
  return useMutation({
    mutationFn: (body: { labeling_task_id: string; name: string; description: string; source_code: string; type: HeuristicType }) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/heuristics", { params: { path: { project_id: pid } }, body })),
    onSuccess: invalidate,
  });
}

export function useUpdateHeuristic(pid: string, id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name?: string; description?: string; source_code?: string; is_selected?: boolean }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/heuristics/{heuristic_id}", { params: { path: { project_id: pid, heuristic_id: id } }, body }),
      ),
    onSuccess: (heuristic) => {
      client.setQueryData(heuristicKey(pid, id), heuristic);
      void client.invalidateQueries({ queryKey: heuristicsKey(pid), exact: true });
    },
  });
}

/** (De)select many heuristics; the selection is what weak supervision uses by default. */
export function useSelectHeuristics(pid: string) {
  const invalidate = useInvalidateHeuristics(pid);
  return useMutation({
    mutationFn: async (args: { ids: readonly string[]; selected: boolean }) => {
      for (const id of args.ids) {
        await unwrap(
          api.PATCH("/api/v1/projects/{project_id}/heuristics/{heuristic_id}", {
            params: { path: { project_id: pid, heuristic_id: id } },
            body: { is_selected: args.selected },
          }),
        );
      }
    },
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: invalidate,
  });
}

export function useDeleteHeuristics(pid: string) {
  const invalidate = useInvalidateHeuristics(pid);
  return useMutation({
    mutationFn: async (ids: readonly string[]) => {
      for (const id of ids) {
        await unwrap(api.DELETE("/api/v1/projects/{project_id}/heuristics/{heuristic_id}", { params: { path: { project_id: pid, heuristic_id: id } } }));
      }
      return ids.length;
    },
    onSuccess: (n) => toast.success(n === 1 ? "Heuristic deleted" : `${n} heuristics deleted`),
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: invalidate,
  });
}

/** Run labeling functions (one job over the data); zero-shot heuristics have their own route. */
export function useRunHeuristics(pid: string) {
  const invalidate = useInvalidateHeuristics(pid);
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (heuristics: readonly Pick<Heuristic, "id" | "type">[]) => {
      const jobs: string[] = [];
      const zeroShot = heuristics.filter((h) => h.type === "ZERO_SHOT");
      const others = heuristics.filter((h) => h.type !== "ZERO_SHOT" && h.type !== "PRE_COMPUTED" && h.type !== "CROWD_LABELER");
      if (others.length > 0) {
        const started = await unwrap(
          api.POST("/api/v1/projects/{project_id}/heuristics/runs", {
            params: { path: { project_id: pid } },
            body: { heuristic_ids: others.map((h) => h.id) },
          }),
        );
        jobs.push(started.job.id);
      }
      for (const h of zeroShot) {
        const started: unknown = await unwrap(
          api.POST("/api/v1/projects/{project_id}/zero-shot/heuristics/{heuristic_id}/runs", {
            params: { path: { project_id: pid, heuristic_id: h.id } },
          }),
        );
        const job = isObject(started) && isObject(started.job) ? started.job : null;
        if (job && typeof job.id === "string") jobs.push(job.id);
      }
      return jobs;
    },
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: () => {
      invalidate();
      void client.invalidateQueries({ queryKey: ["jobs", pid] });
    },
  });
}

export function useCancelRun(pid: string, heuristicId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (runId: string) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/heuristics/{heuristic_id}/runs/{run_id}/cancel", {
          params: { path: { project_id: pid, heuristic_id: heuristicId, run_id: runId } },
        }),
      ),
    onSuccess: () => toast.info("Run cancelled"),
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: () => client.invalidateQueries({ queryKey: ["heuristics", pid] }),
  });
}

/** Run the (unsaved) code on some records, synchronously. */
export function useSampleRun(pid: string, heuristicId: string) {
  return useMutation({
    mutationFn: async (args: { source_code: string; record_ids?: number[] }) =>
      asSampleResult(
        await unwrap(
          api.POST("/api/v1/projects/{project_id}/heuristics/{heuristic_id}/sample", {
            params: { path: { project_id: pid, heuristic_id: heuristicId } },
            body: { source_code: args.source_code, record_ids: args.record_ids ?? null, sample_size: 10 },
          }),
        ),
      ),
  });
}

/** Queue weak supervision of a task with the given heuristics (default: the task's selected ones). */
export function useStartWeakSupervision(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { taskId: string; heuristicIds?: readonly string[] }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/weak-supervision", {
          params: { path: { project_id: pid } },
          body: {
            labeling_task_id: args.taskId,
            heuristic_ids: args.heuristicIds ? [...args.heuristicIds] : null,
            model: "auto",
            extraction_model: "spans",
            min_confidence: 0,
            seed: 0,
            use_older_results: false,
          },
        }),
      ),
    onSuccess: (_out, args) => {
      toast.info("Weak supervision queued");
      void client.invalidateQueries({ queryKey: wsRunKey(pid, args.taskId) });
    },
    onError: (error) => toast.error(problemMessage(error)),
  });
}

export const isFinalJob = (state: string | undefined) => state !== undefined && FINAL_STATES.has(state);

/** Records to sample from (the first 500 by id) with their data, so a sample run shows each record's value. */
export function useRecordPool(pid: string) {
  return useQuery({
    queryKey: ["records", pid, "pool"],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/records", { params: { path: { project_id: pid }, query: { limit: 500 } } })),
    staleTime: 60_000,
  });
}

export function useEmbeddings(pid: string) {
  return useQuery({
    queryKey: ["embeddings", pid],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/embeddings", { params: { path: { project_id: pid } } })),
  });
}
