import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";

export type MyAssignment = Schemas["MyAssignmentOut"];
export type NextRecord = Schemas["NextOut"];

export const myAssignmentsKey = (pid: string) => ["my-assignments", pid] as const;
export const nextKey = (pid: string, aid: string) => ["my-assignments", pid, aid, "next"] as const;

/** The caller's work in the project, with progress (their home as an annotator). */
export function useMyAssignments(pid: string) {
  return useQuery({
    queryKey: myAssignmentsKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/my-assignments", { params: { path: { project_id: pid } } })),
  });
}

/** The next record of the caller's queue that they have not labeled nor skipped. */
export function useNextRecord(pid: string, aid: string | undefined, includeSkipped: boolean) {
  return useQuery({
    queryKey: [...nextKey(pid, aid ?? ""), includeSkipped],
    enabled: Boolean(aid),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/my-assignments/{assignment_id}/next", {
          params: { path: { project_id: pid, assignment_id: aid ?? "" }, query: { include_skipped: includeSkipped } },
        }),
      ),
  });
}

/** Label the record (classification), skip it or comment: each refreshes the queue. */
export function useQueueActions(pid: string, aid: string) {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: myAssignmentsKey(pid) });
  const label = useMutation({
    mutationFn: (args: { recordId: number; taskId: string; labelId: string }) =>
      unwrap(
        api.PUT("/api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/classification", {
          params: { path: { project_id: pid, record_id: args.recordId, task_id: args.taskId } },
          body: { label_ids: [args.labelId] },
        }),
      ),
    onSuccess: refresh,
  });
  const skip = useMutation({
    mutationFn: (recordId: number) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/my-assignments/{assignment_id}/skip", {
          params: { path: { project_id: pid, assignment_id: aid } },
          body: { record_id: recordId },
        }),
      ),
    onSuccess: refresh,
  });
  const comment = useMutation({
    mutationFn: (text: string) =>
      unwrap(
        api.PUT("/api/v1/projects/{project_id}/my-assignments/{assignment_id}/comment", {
          params: { path: { project_id: pid, assignment_id: aid } },
          body: { comment: text },
        }),
      ),
    onSuccess: refresh,
  });
  return { label, skip, comment };
}

export const permissionsKey = (pid: string) => ["permissions", pid] as const;

/** The UI's own entry in the actions: the caller has a work queue (an annotator, whose home it is, or any member with
 * work assigned to them), so "My queue" shows; an owner or engineer without assigned work does not see it. */
export const WORK_QUEUE = "WORK_QUEUE";

/** The caller's role in the project and the actions it allows (gateway/policies.py's Action names, plus WORK_QUEUE). */
export function usePermissions(pid: string) {
  return useQuery({
    queryKey: permissionsKey(pid),
    enabled: Boolean(pid),
    queryFn: async () => {
      const path = { params: { path: { project_id: pid } } };
      const [permissions, mine] = await Promise.all([
        unwrap(api.GET("/api/v1/projects/{project_id}/permissions", path)),
        unwrap(api.GET("/api/v1/projects/{project_id}/my-assignments", path)),
      ]);
      const queue = permissions.role === "ANNOTATOR" || mine.length > 0;
      return { ...permissions, actions: queue ? [...permissions.actions, WORK_QUEUE] : permissions.actions };
    },
  });
}

/** The action a project page needs (pages not named: any member). */
export const PAGE_ACTIONS: Record<string, string> = {
  queue: WORK_QUEUE,
  team: "ASSIGN_WORK",
  overview: "BROWSE_DATA",
  "data-browser": "BROWSE_DATA",
  heuristics: "READ_HEURISTICS",
  "lookup-lists": "READ_HEURISTICS",
  "record-ide": "RUN_CODE",
  settings: "EDIT_PROJECT",
};

/** Whether the caller may use the page (true until the permissions are known). */
export function mayUse(actions: readonly string[] | undefined, page: string): boolean {
  const needed = PAGE_ACTIONS[page];
  return !needed || !actions || actions.includes(needed);
}
