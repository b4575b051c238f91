import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { problemFrom, problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";

export type LookupList = Schemas["ListOut"];
export type Term = Schemas["TermOut"];

export const listsKey = (pid: string) => ["lookup-lists", pid] as const;
export const listKey = (pid: string, id: string) => ["lookup-lists", pid, id] as const;
export const termsKey = (pid: string, id: string) => ["lookup-lists", pid, id, "terms"] as const;

export function useLookupLists(pid: string) {
  return useQuery({
    queryKey: listsKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/lookup-lists", { params: { path: { project_id: pid } } })),
  });
}

export function useLookupList(pid: string, id: string) {
  return useQuery({
    queryKey: listKey(pid, id),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/lookup-lists/{list_id}", { params: { path: { project_id: pid, list_id: id } } })),
  });
}

/** The line a labeling function imports the list with. */
export function useImportLine(pid: string, id: string) {
  return useQuery({
    queryKey: [...listKey(pid, id), "python"],
    queryFn: () =>
      unwrap(api.GET("/api/v1/projects/{project_id}/lookup-lists/{list_id}/python", { params: { path: { project_id: pid, list_id: id } } })),
  });
}

/** Every term of the list (the grid is virtualized, so all of them are shown). */
export function useTerms(pid: string, id: string) {
  return useQuery({
    queryKey: termsKey(pid, id),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/lookup-lists/{list_id}/terms", { params: { path: { project_id: pid, list_id: id }, query: {} } }),
      ),
  });
}

function useListMutation<TArgs, TOut>(pid: string, id: string | null, call: (args: TArgs) => Promise<TOut>, done?: (out: TOut) => string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSuccess: (out) => {
      if (done) toast.success(done(out));
    },
    onError: (error) => toast.error(problemMessage(error)),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: id ? listKey(pid, id) : listsKey(pid) });
      void client.invalidateQueries({ queryKey: listsKey(pid), exact: true });
    },
  });
}

export function useCreateList(pid: string) {
  return useListMutation(pid, null, (body: { name: string; description: string }) =>
    unwrap(api.POST("/api/v1/projects/{project_id}/lookup-lists", { params: { path: { project_id: pid } }, body })),
  );
}

export function useUpdateList(pid: string, id: string) {
  return useListMutation(pid, id, (body: { name?: string; description?: string }) =>
    unwrap(api.PATCH("/api/v1/projects/{project_id}/lookup-lists/{list_id}", { params: { path: { project_id: pid, list_id: id } }, body })),
  );
}

export function useDeleteList(pid: string) {
  return useListMutation(
    pid,
    null,
    (id: string) => unwrap(api.DELETE("/api/v1/projects/{project_id}/lookup-lists/{list_id}", { params: { path: { project_id: pid, list_id: id } } })),
    () => "Lookup list deleted",
  );
}

const added = (out: Record<string, number>) => `${out.added ?? 0} terms added`;

export function useAddTerms(pid: string, id: string) {
  return useListMutation(
    pid,
    id,
    (terms: { value: string; comment: string | null; blacklisted: boolean }[]) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/lookup-lists/{list_id}/terms", { params: { path: { project_id: pid, list_id: id } }, body: { terms } })),
    added,
  );
}

export function usePasteTerms(pid: string, id: string) {
  return useListMutation(
    pid,
    id,
    (body: { text: string; delimiter: string }) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/paste", { params: { path: { project_id: pid, list_id: id } }, body })),
    added,
  );
}

/** Import a CSV file (value[, comment[, blacklisted]] per row), sent as the request body. */
export function useUploadCsv(pid: string, id: string) {
  return useListMutation(
    pid,
    id,
    async (file: File) => {
      const response = await fetch(`/api/v1/projects/${pid}/lookup-lists/${id}/terms/csv`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "text/csv" },
        body: await file.text(),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // keep the text
      }
      if (!response.ok) throw problemFrom(response.status, body);
      return (typeof body === "object" && body !== null ? body : {}) as Record<string, number>;
    },
    added,
  );
}

export function useUpdateTerm(pid: string, id: string) {
  return useListMutation(pid, id, (args: { termId: string; value?: string; comment?: string | null; blacklisted?: boolean }) => {
    const { termId, ...body } = args;
    return unwrap(
      api.PATCH("/api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/{term_id}", {
        params: { path: { project_id: pid, list_id: id, term_id: termId } },
        body,
      }),
    );
  });
}

export function useDeleteTerm(pid: string, id: string) {
  return useListMutation(pid, id, (termId: string) =>
    unwrap(
      api.DELETE("/api/v1/projects/{project_id}/lookup-lists/{list_id}/terms/{term_id}", {
        params: { path: { project_id: pid, list_id: id, term_id: termId } },
      }),
    ),
  );
}
