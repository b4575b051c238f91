import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";

export type Comment = Schemas["CommentOut"];

export const recordCommentsKey = (pid: string, recordId: number) => ["comments", pid, "RECORD", String(recordId)] as const;

/** The comments on a record the user may read (shared ones and their own private ones), oldest first. */
export function useRecordComments(pid: string, recordId: number | undefined) {
  return useQuery({
    queryKey: recordCommentsKey(pid, recordId ?? -1),
    enabled: recordId !== undefined,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/comments", {
          params: { path: { project_id: pid }, query: { target_type: "RECORD", target_id: String(recordId) } },
        }),
      ),
    staleTime: 30_000,
  });
}

export function useAddRecordComment(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; body: string; isPrivate: boolean }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/comments", {
          params: { path: { project_id: pid } },
          body: { target_type: "RECORD", target_id: String(args.recordId), body: args.body, is_private: args.isPrivate },
        }),
      ),
    onError: (error) => toast.error(`The comment was not saved: ${problemMessage(error)}`),
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: recordCommentsKey(pid, recordId) }),
  });
}

export function useDeleteComment(pid: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (args: { recordId: number; commentId: string }) =>
      unwrap(
        api.DELETE("/api/v1/projects/{project_id}/comments/{comment_id}", {
          params: { path: { project_id: pid, comment_id: args.commentId } },
        }),
      ),
    onError: (error) => toast.error(`The comment was not deleted: ${problemMessage(error)}`),
    onSettled: (_data, _error, { recordId }) => client.invalidateQueries({ queryKey: recordCommentsKey(pid, recordId) }),
  });
}
