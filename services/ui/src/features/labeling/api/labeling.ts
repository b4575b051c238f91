import { queryOptions, useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import type { TokenizedText, Token } from "../tokens";

export type Task = Schemas["TaskOut"];
export type Label = Schemas["LabelOut"];
export type LabelRow = Schemas["ManualLabelOut"];
export type RecordItem = Schemas["RecordOut"];
export type Attribute = Schemas["AttributeOut"];

export const tasksKey = (pid: string) => ["tasks", pid] as const;
export const attributesKey = (pid: string) => ["attributes", pid] as const;
export const labelsKey = (pid: string, recordId: number) => ["labels", pid, recordId] as const;
export const tokensKey = (pid: string, recordId: number) => ["tokens", pid, recordId] as const;
export const sessionKey = (pid: string) => ["session", pid] as const;

const PAGE = 250;

export const tasksQuery = (pid: string) =>
  queryOptions({
    queryKey: tasksKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/labeling-tasks", { params: { path: { project_id: pid } } })),
  });

export const attributesQuery = (pid: string) =>
  queryOptions({
    queryKey: attributesKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/attributes", { params: { path: { project_id: pid } } })),
  });

export function useTasks(pid: string) {
  return useQuery(tasksQuery(pid));
}

export function useAttributes(pid: string) {
  return useQuery(attributesQuery(pid));
}

/** The default labeling session: every record of the project in id order, loaded page by page as the position needs. */
export function useSessionRecords(pid: string, enabled = true) {
  return useInfiniteQuery({
    queryKey: sessionKey(pid),
    enabled,
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/records", {
          params: { path: { project_id: pid }, query: { limit: PAGE, ...(pageParam !== null ? { after: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (page) => page.next_after ?? undefined,
    staleTime: 5 * 60_000,
  });
}

function fetchLabels(pid: string, recordId: number) {
  return unwrap(
    api.GET("/api/v1/projects/{project_id}/records/{record_id}/labels", {
      params: { path: { project_id: pid, record_id: recordId } },
    }),
  );
}

export function useRecordLabels(pid: string, recordId: number | undefined) {
  return useQuery({
    queryKey: labelsKey(pid, recordId ?? -1),
    enabled: recordId !== undefined,
    queryFn: () => fetchLabels(pid, recordId ?? -1),
    staleTime: 30_000,
  });
}

function isTokens(value: unknown): value is Token[] {
  return Array.isArray(value) && value.every((t) => typeof t === "object" && t !== null && typeof (t as Token).idx === "number");
}

/** The tokens view's answer: per text attribute its text and tokens (the schema leaves it untyped, so it is checked). */
async function fetchTokens(pid: string, recordId: number): Promise<Record<string, TokenizedText>> {
  const body: unknown = await unwrap(
    api.GET("/api/v1/projects/{project_id}/records/{record_id}/tokens", {
      params: { path: { project_id: pid, record_id: recordId } },
    }),
  );
  const attributes = (body as { attributes?: unknown } | null)?.attributes;
  const out: Record<string, TokenizedText> = {};
  if (typeof attributes === "object" && attributes !== null) {
    for (const [name, value] of Object.entries(attributes as Record<string, unknown>)) {
      const doc = value as { text?: unknown; tokens?: unknown };
      if (typeof doc.text === "string" && isTokens(doc.tokens)) out[name] = { text: doc.text, tokens: doc.tokens };
    }
  }
  return out;
}

export function useRecordTokens(pid: string, recordId: number | undefined, enabled: boolean) {
  return useQuery({
    queryKey: tokensKey(pid, recordId ?? -1),
    enabled: enabled && recordId !== undefined,
    queryFn: () => fetchTokens(pid, recordId ?? -1),
    staleTime: 5 * 60_000,
  });
}

/** Fetch the labels (and tokens, when spans are labeled) of the records the user will likely open next. */
export function prefetchRecords(client: QueryClient, pid: string, recordIds: readonly number[], withTokens: boolean): void {
  for (const id of recordIds) {
    void client.prefetchQuery({ queryKey: labelsKey(pid, id), queryFn: () => fetchLabels(pid, id), staleTime: 30_000 });
    if (withTokens) {
      void client.prefetchQuery({ queryKey: tokensKey(pid, id), queryFn: () => fetchTokens(pid, id), staleTime: 5 * 60_000 });
    }
  }
}

let optimisticSeq = 0;

function optimisticRow(recordId: number, taskId: string, labelId: string, userId: string, extra: Partial<LabelRow> = {}): LabelRow {
  return {
    id: `optimistic-${++optimisticSeq}`,
    record_id: recordId,
    labeling_task_id: taskId,
    label_id: labelId,
    source_type: "MANUAL",
    source_id: null,
    return_type: "RETURN",
    confidence: 1,
    created_by: userId,
    is_gold_star: false,
    is_valid_manual_label: true,
    token_start: null,
    token_end: null,
    created_at: new Date().toISOString(),
    ...extra,
  };
}

const inFlight = new Map<string, Promise<unknown>>();

/** Run `send` after the previous call with the same key has ended, so that quick changes (a label, then its undo)
 * reach the server in the order they were made. */
export function inOrder<T>(key: string, send: () => Promise<T>): Promise<T> {
  const previous = inFlight.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(send);
  inFlight.set(key, next);
  void next.finally(() => inFlight.get(key) === next && inFlight.delete(key)).catch(() => undefined);
  return next;
}

/** Set the user's classification labels of a task on a record: shown at once, rolled back with a message if refused. */
export function useSetClassification(pid: string, userId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; taskId: string; labelIds: string[] }) =>
      inOrder(`${pid}/${args.recordId}/${args.taskId}`, () =>
        unwrap(
          api.PUT("/api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/classification", {
            params: { path: { project_id: pid, record_id: args.recordId, task_id: args.taskId } },
            body: { label_ids: args.labelIds },
          }),
        ),
      ),
    onMutate: async ({ recordId, taskId, labelIds }) => {
      const key = labelsKey(pid, recordId);
      await client.cancelQueries({ queryKey: key });
      const previous = client.getQueryData<LabelRow[]>(key);
      const kept = (previous ?? []).filter(
        (row) => !(row.labeling_task_id === taskId && row.source_type === "MANUAL" && row.created_by === userId),
      );
      client.setQueryData<LabelRow[]>(key, [...kept, ...labelIds.map((id) => optimisticRow(recordId, taskId, id, userId))]);
      return { previous };
    },
    onError: (error, { recordId }, context) => {
      client.setQueryData(labelsKey(pid, recordId), context?.previous);
      toast.error(`The label was not saved: ${problemMessage(error)}`);
    },
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: labelsKey(pid, recordId) }),
  });
}

/** Add a span (token range, end exclusive) of the user; drawn at once, rolled back with a message if refused. */
export function useAddSpan(pid: string, userId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; taskId: string; labelId: string; tokenStart: number; tokenEnd: number }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/spans", {
          params: { path: { project_id: pid, record_id: args.recordId, task_id: args.taskId } },
          body: { label_id: args.labelId, token_start: args.tokenStart, token_end: args.tokenEnd },
        }),
      ),
    onMutate: async ({ recordId, taskId, labelId, tokenStart, tokenEnd }) => {
      const key = labelsKey(pid, recordId);
      await client.cancelQueries({ queryKey: key });
      const previous = client.getQueryData<LabelRow[]>(key);
      const row = optimisticRow(recordId, taskId, labelId, userId, {
        return_type: "YIELD",
        token_start: tokenStart,
        token_end: tokenEnd,
      });
      client.setQueryData<LabelRow[]>(key, [...(previous ?? []), row]);
      return { previous };
    },
    onError: (error, { recordId }, context) => {
      client.setQueryData(labelsKey(pid, recordId), context?.previous);
      toast.error(`The span was not saved: ${problemMessage(error)}`);
    },
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: labelsKey(pid, recordId) }),
  });
}

/** Remove one of the user's labels (a span or a classification label). */
export function useRemoveLabel(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; rowId: string }) =>
      unwrap(
        api.DELETE("/api/v1/projects/{project_id}/records/{record_id}/labels/{label_row_id}", {
          params: { path: { project_id: pid, record_id: args.recordId, label_row_id: args.rowId } },
        }),
      ),
    onMutate: async ({ recordId, rowId }) => {
      const key = labelsKey(pid, recordId);
      await client.cancelQueries({ queryKey: key });
      const previous = client.getQueryData<LabelRow[]>(key);
      client.setQueryData<LabelRow[]>(key, (previous ?? []).filter((row) => row.id !== rowId));
      return { previous };
    },
    onError: (error, { recordId }, context) => {
      client.setQueryData(labelsKey(pid, recordId), context?.previous);
      toast.error(`The label was not removed: ${problemMessage(error)}`);
    },
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: labelsKey(pid, recordId) }),
  });
}

/** Star (or unstar) the user's labels of a task on a record as the gold standard. */
export function useGoldStar(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; taskId: string; on: boolean }) => {
      const params = { params: { path: { project_id: pid, record_id: args.recordId, task_id: args.taskId } } };
      const path = "/api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/gold-star" as const;
      return unwrap(args.on ? api.PUT(path, params) : api.DELETE(path, params));
    },
    onError: (error) => toast.error(`The gold star was not saved: ${problemMessage(error)}`),
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: labelsKey(pid, recordId) }),
  });
}
