import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../../../api/client";
import type { EditValue } from "../values";

export type RecordEdit = Schemas["RecordEditOut"];
export type RemovedSpan = Schemas["RemovedSpanOut"];

/** PATCH a record's values: ``dryRun`` answers the review (old → new, the spans that go) and stores nothing. */
export function useEditRecord(pid: string, recordId: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ values, dryRun }: { values: Record<string, EditValue>; dryRun: boolean }) =>
      unwrap(
        api.PATCH("/api/v1/projects/{project_id}/records/{record_id}", {
          params: { path: { project_id: pid, record_id: recordId } },
          body: { values, dry_run: dryRun },
        }),
      ),
    onSuccess: (result) => {
      if (!result.applied) return;
      // the record's values, labels and tokens changed: every view of them reloads
      void client.invalidateQueries({ queryKey: ["browser", pid] });
      void client.invalidateQueries({ queryKey: ["labels", pid, recordId] });
      void client.invalidateQueries({ queryKey: ["tokens", pid, recordId] });
    },
  });
}
