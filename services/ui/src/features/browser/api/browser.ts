import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { ApiError, problemFrom } from "../../../api/problem";
import { apiFilter, type FilterGroup, type SortKey } from "../filter";

export type FoundRecord = Schemas["FoundRecord"];
export type Slice = Schemas["SliceOut"];
export type Heuristic = Schemas["HeuristicOut"];
export type Embedding = Schemas["EmbeddingOut"];
export type Member = Schemas["UserOut"];
export type Comment = Schemas["CommentOut"];

export const PAGE_SIZE = 500;
/** The first page of a result is smaller: it is what "filter → results" waits for, and a screen shows a few rows. */
export const FIRST_PAGE_SIZE = 100;

export const browserKey = (pid: string) => ["browser", pid] as const;
export const slicesKey = (pid: string) => ["slices", pid] as const;

/** The search result of a filter and sort, page by page (keyset cursors); a new filter drops the old pages. */
export function useSearch(pid: string, filter: FilterGroup, sort: SortKey[]) {
  return useInfiniteQuery({
    queryKey: [...browserKey(pid), "search", filter, sort] as const,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/records/search", {
          params: { path: { project_id: pid } },
          body: { filter: apiFilter(filter), sort, limit: pageParam ? PAGE_SIZE : FIRST_PAGE_SIZE, cursor: pageParam, count: pageParam ? "none" : "exact" },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function useSlices(pid: string) {
  return useQuery({
    queryKey: slicesKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/slices", { params: { path: { project_id: pid } } })),
  });
}

export function useHeuristics(pid: string) {
  return useQuery({
    queryKey: ["heuristics", pid],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/heuristics", { params: { path: { project_id: pid } } })),
  });
}

export function useMembers(pid: string) {
  return useQuery({
    queryKey: ["members", pid],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/members", { params: { path: { project_id: pid } } })),
  });
}

export function useEmbeddings(pid: string) {
  return useQuery({
    queryKey: ["embeddings", pid],
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/embeddings", { params: { path: { project_id: pid } } })),
  });
}

/** The distinct values of the low-cardinality attributes, for the attribute filter's suggestions. */
export function useUniqueValues(pid: string) {
  return useQuery({
    queryKey: [...browserKey(pid), "unique"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/records/unique-values", { params: { path: { project_id: pid }, query: {} } })),
    staleTime: 60_000,
  });
}

/** Every record comment the user may read, grouped by record id (shown on the result cards). */
export function useRecordComments(pid: string) {
  return useQuery({
    queryKey: [...browserKey(pid), "comments"],
    queryFn: async () => {
      const rows = await unwrap(
        api.GET("/api/v1/projects/{project_id}/comments", {
          params: { path: { project_id: pid }, query: { target_type: "RECORD" } },
        }),
      );
      const byRecord = new Map<string, Comment[]>();
      for (const row of rows) byRecord.set(row.target_id, [...(byRecord.get(row.target_id) ?? []), row]);
      return byRecord;
    },
    staleTime: 30_000,
  });
}

function invalidateBrowser(client: ReturnType<typeof useQueryClient>, pid: string) {
  void client.invalidateQueries({ queryKey: browserKey(pid) });
  void client.invalidateQueries({ queryKey: slicesKey(pid) });
  void client.invalidateQueries({ queryKey: ["labels", pid] });
  void client.invalidateQueries({ queryKey: ["metrics", pid] });
}

export function useCreateSlice(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; type: "DYNAMIC_DEFAULT" | "STATIC_DEFAULT"; filter: FilterGroup }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/slices", {
          params: { path: { project_id: pid } },
          body: { ...body, filter: apiFilter(body.filter) },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: slicesKey(pid) }),
  });
}

export function useUpdateSlice(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { id: string; filter: FilterGroup; refreeze: boolean }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/slices/{slice_id}", {
          params: { path: { project_id: pid, slice_id: args.id } },
          body: { filter: apiFilter(args.filter), refreeze: args.refreeze },
        }),
      ),
    onSuccess: () => invalidateBrowser(client, pid),
  });
}

export function useDeleteSlice(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/projects/{project_id}/slices/{slice_id}", { params: { path: { project_id: pid, slice_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: slicesKey(pid) }),
  });
}

/** A refused bulk label over 1,000 records: the count the server wants confirmed. */
export class ConfirmNeeded extends Error {
  constructor(readonly affected: number) {
    super(`confirm labeling ${affected} records`);
  }
}

/** Label every record of a filter result; over 1,000 records the server answers 409 with the count to confirm. */
export function useBulkLabel(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (args: { filter: FilterGroup | null; taskId: string; labelIds: string[]; confirmCount: number | null }) => {
      const { data, error, response } = await api.POST("/api/v1/projects/{project_id}/records/bulk-label", {
        params: { path: { project_id: pid } },
        body: { filter: args.filter, labeling_task_id: args.taskId, label_ids: args.labelIds, confirm_count: args.confirmCount },
      });
      if (response.status === 409 && typeof error === "object" && error !== null && "affected" in error) {
        const affected = (error as { affected: unknown }).affected;
        if (typeof affected === "number") throw new ConfirmNeeded(affected);
      }
      if (!response.ok || !data) throw problemFrom(response.status, error);
      return data;
    },
    onSuccess: () => invalidateBrowser(client, pid),
  });
}

export function useCreateSession(pid: string) {
  return useMutation({
    mutationFn: (body: Schemas["SessionIn"]) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/labeling-sessions", { params: { path: { project_id: pid } }, body })),
  });
}

export function useLabelingFunctionFromFilter(pid: string) {
  return useMutation({
    mutationFn: (body: { filter: FilterGroup; label: string }) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/records/labeling-function", { params: { path: { project_id: pid } }, body })),
  });
}

export function useCreateHeuristic(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["HeuristicCreate"]) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/heuristics", { params: { path: { project_id: pid } }, body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["heuristics", pid] }),
  });
}

export interface SimilarHit {
  record_id: number;
  score: number;
  data: Record<string, unknown> | null;
}

function isHit(value: unknown): value is SimilarHit {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.record_id === "number" && typeof v.score === "number";
}

/** Records most similar to one record by an embedding (the similar route's answer is untyped, so it is checked). */
export async function findSimilar(
  pid: string,
  embeddingId: string,
  recordId: number,
  filters: Schemas["FilterIn"][] = [],
  limit = 100,
): Promise<SimilarHit[]> {
  const body: unknown = await unwrap(
    api.POST("/api/v1/projects/{project_id}/embeddings/{embedding_id}/similar", {
      params: { path: { project_id: pid, embedding_id: embeddingId } },
      body: { record_id: recordId, limit, filters },
    }),
  );
  const results = (body as { results?: unknown } | null)?.results;
  return Array.isArray(results) ? results.filter(isHit) : [];
}

export function useOutlierSlice(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (embeddingId: string) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/embeddings/{embedding_id}/outliers", {
          params: { path: { project_id: pid, embedding_id: embeddingId } },
          body: { save_slice: true },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: slicesKey(pid) }),
  });
}

export function isApiError(error: unknown, status: number): boolean {
  return error instanceof ApiError && error.status === status;
}
