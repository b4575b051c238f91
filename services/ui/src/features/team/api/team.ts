import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import { myAssignmentsKey, permissionsKey } from "../../assignments/api/assignments";

export type Assignment = Schemas["AssignmentOut"];
export type AnnotatorProgress = Schemas["AnnotatorProgress"];
export type AssignmentInput = Schemas["AssignmentIn"];
export type AssignmentPatch = Schemas["AssignmentPatch"];
export type Member = Schemas["MemberOut"];
export type Agreement = Schemas["AgreementOut"];
export type HistoryEntry = Schemas["HistoryEntryOut"];

export const assignmentsKey = (pid: string) => ["assignments", pid] as const;
export const labelHistoryKey = (pid: string, recordId: number) => ["label-history", pid, recordId] as const;

/** The project's work assignments with each annotator's progress (engineers and owners). */
export function useAssignments(pid: string) {
  return useQuery({
    queryKey: assignmentsKey(pid),
    queryFn: () => unwrap(api.GET("/api/v1/projects/{project_id}/assignments", { params: { path: { project_id: pid } } })),
  });
}

/** The project's members (whom work can be assigned to). */
export { useMembers as useTeamMembers } from "../../browser/api/browser";

/** Assign, switch the bias guard, withdraw, and revert one annotator's labels of an assignment. */
export function useAssignmentActions(pid: string) {
  const client = useQueryClient();
  const refresh = () => {
    void client.invalidateQueries({ queryKey: assignmentsKey(pid) });
    void client.invalidateQueries({ queryKey: myAssignmentsKey(pid) });
    void client.invalidateQueries({ queryKey: permissionsKey(pid) }); // "My queue" shows once one has work
  };
  const create = useMutation({
    mutationFn: (body: AssignmentInput) =>
      unwrap(api.POST("/api/v1/projects/{project_id}/assignments", { params: { path: { project_id: pid } }, body })),
    onSuccess: refresh,
  });
  const setBiasGuard = useMutation({
    mutationFn: (args: { id: string; on: boolean }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/assignments/{assignment_id}", {
          params: { path: { project_id: pid, assignment_id: args.id } },
          body: { bias_guard: args.on },
        }),
      ),
    onSuccess: refresh,
  });
  const edit = useMutation({
    mutationFn: (args: { id: string; patch: AssignmentPatch }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/assignments/{assignment_id}", {
          params: { path: { project_id: pid, assignment_id: args.id } },
          body: args.patch,
        }),
      ),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: (id: string) =>
      unwrap(
        api.DELETE("/api/v1/projects/{project_id}/assignments/{assignment_id}", {
          params: { path: { project_id: pid, assignment_id: id } },
        }),
      ),
    onSuccess: refresh,
  });
  const revert = useMutation({
    mutationFn: (args: { id: string; annotatorId: string }) =>
      unwrap(
        api.POST("/api/v1/projects/{project_id}/assignments/{assignment_id}/revert", {
          params: { path: { project_id: pid, assignment_id: args.id } },
          body: { annotator_id: args.annotatorId },
        }),
      ),
    onSuccess: () => {
      refresh();
      void client.invalidateQueries({ queryKey: ["metrics", pid] });
      void client.invalidateQueries({ queryKey: ["labels", pid] });
      void client.invalidateQueries({ queryKey: ["label-history", pid] });
    },
  });
  return { create, setBiasGuard, edit, remove, revert };
}

/** Every change of manual labels on a record (who set, changed, removed or gold-starred which label, when). */
export function useRecordHistory(pid: string, recordId: number, enabled: boolean) {
  return useQuery({
    queryKey: labelHistoryKey(pid, recordId),
    enabled,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/projects/{project_id}/records/{record_id}/label-history", {
          params: { path: { project_id: pid, record_id: recordId }, query: { limit: 200 } },
        }),
      ),
  });
}

/** Record ids typed by the engineer ("1, 2 5-7"): the ids, or the first piece that is not one. */
export function parseRecordIds(text: string): { ids: number[] } | { error: string } {
  const ids: number[] = [];
  for (const piece of text.split(/[\s,;]+/).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(piece);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from || to - from > 100_000) return { error: `${piece} is not a range of at most 100,000 ids` };
      for (let id = from; id <= to; id += 1) ids.push(id);
    } else if (/^\d+$/.test(piece)) {
      ids.push(Number(piece));
    } else {
      return { error: `${piece} is not a record id` };
    }
  }
  if (ids.length === 0) return { error: "give at least one record id" };
  return { ids: [...new Set(ids)] };
}

/** The agreement of a pair of annotators, by their ids in either order. */
export function pairOf(agreement: Agreement, a: string, b: string): Agreement["pairs"][number] | undefined {
  return agreement.pairs.find((p) => (p.annotator_a === a && p.annotator_b === b) || (p.annotator_a === b && p.annotator_b === a));
}

/** An assignment's edited name and due count ("" : every assigned record) as a patch of what changed, or what is wrong. */
export function assignmentEdit(
  current: { name: string; dueCount: number | null },
  name: string,
  due: string,
): { patch: AssignmentPatch } | { error: string } {
  const patch: AssignmentPatch = {};
  const trimmed = name.trim();
  if (!trimmed) return { error: "Give the assignment a name." };
  if (trimmed.length > 200) return { error: "The name is at most 200 characters." };
  if (trimmed !== current.name) patch.name = trimmed;
  if (due.trim()) {
    const count = Number(due);
    if (!Number.isInteger(count) || count < 1) return { error: "The due count is a whole number of records, 1 or more." };
    if (count !== current.dueCount) patch.due_count = count;
  }
  if (Object.keys(patch).length === 0) return { error: "Nothing changed." };
  return { patch };
}

/** The due count every annotator of an assignment shares, or null when they differ (or there is none). */
export function sharedDueCount(assignment: Pick<Assignment, "annotators">): number | null {
  const counts = new Set(assignment.annotators.map((p) => p.due_count));
  return counts.size === 1 ? [...counts][0] ?? null : null;
}
