import { useState } from "react";
import { ErrorBox } from "../../../shared/ErrorBox";
import { usePermissions } from "../../assignments/api/assignments";
import { useTasks } from "../../labeling/api/labeling";
import { useRecordHistory, useTeamMembers, type HistoryEntry } from "../api/team";
import styles from "../team.module.css";

type Names = Map<string, string>;

function who(names: Names, id: string | null): string {
  if (!id) return "a removed user";
  return names.get(id) ?? "a former member";
}

function labelList(labels: HistoryEntry["old_labels"]): string {
  if (labels.length === 0) return "nothing";
  return labels
    .map((l) => (l.token_start != null ? `${l.name} [${l.token_start}–${l.token_end ?? l.token_start}]` : l.name))
    .join(", ");
}

/** One history entry in words: "ann@x set positive", "eng@x reverted ann@x's labels: positive → nothing" … */
export function describe(entry: HistoryEntry, names: Names, taskName: string): string {
  const annotator = who(names, entry.annotator_id);
  const actor = who(names, entry.changed_by);
  const theirs = entry.changed_by === entry.annotator_id ? "their" : `${annotator}'s`;
  const labels = `${labelList(entry.old_labels)} → ${labelList(entry.new_labels)}`;
  switch (entry.event) {
    case "GOLD_STAR_SET":
      return `${actor} made ${theirs} labels of ${taskName} (${labelList(entry.new_labels)}) the gold standard`;
    case "GOLD_STAR_WITHDRAWN":
      return `${actor} withdrew the gold star of ${theirs} labels of ${taskName}`;
    case "LABEL_DELETED":
      return `${actor} deleted a label of ${taskName}, which removed ${theirs}: ${labels}`;
    case "TASK_DELETED":
      return `${actor} deleted the task ${taskName}, which removed ${theirs} labels: ${labels}`;
    default:
      if (entry.via === "REVERT") return `${actor} reverted ${theirs} labels of ${taskName}: ${labels}`;
      if (entry.old_labels.length === 0) return `${annotator} set ${labelList(entry.new_labels)} (${taskName})`;
      if (entry.new_labels.length === 0) return `${annotator} removed ${labelList(entry.old_labels)} (${taskName})`;
      return `${annotator} changed ${taskName}: ${labels}`;
  }
}

/** The label history of a record, newest first, folded away until asked for; only for those who may see every
 * member's labels (owners, engineers, experts: READ_ALL_LABELS), nothing for an annotator. */
export function RecordHistory({ projectId, recordId }: { projectId: string; recordId: number }) {
  const permissions = usePermissions(projectId);
  if (!permissions.data?.actions.includes("READ_ALL_LABELS")) return null;
  return <History projectId={projectId} recordId={recordId} />;
}

function History({ projectId, recordId }: { projectId: string; recordId: number }) {
  const [open, setOpen] = useState(false);
  const history = useRecordHistory(projectId, recordId, open);
  const members = useTeamMembers(projectId);
  const tasks = useTasks(projectId);
  const names: Names = new Map((members.data ?? []).map((m) => [m.id, m.email]));
  const taskNames = new Map((tasks.data ?? []).map((t) => [t.id, t.name]));
  return (
    <section className="card" aria-label="Label history">
      <button type="button" className="ghost" aria-expanded={open} onClick={() => setOpen((v) => !v)}>
        {open ? "Hide" : "Show"} the label history of this record
      </button>
      {open && history.isError ? <ErrorBox error={history.error} what="the label history" /> : null}
      {open && history.data ? (
        history.data.length === 0 ? (
          <p className="muted small">No manual label of this record has changed yet.</p>
        ) : (
          <ol className={styles.history} aria-label="Label changes, newest first">
            {history.data.map((entry) => (
              <li key={entry.id}>
                <time dateTime={entry.created_at} className="muted small">
                  {new Date(entry.created_at).toLocaleString()}
                </time>{" "}
                {describe(entry, names, taskNames.get(entry.labeling_task_id) ?? "a deleted task")}{" "}
                <span className="muted small">via {entry.via}</span>
              </li>
            ))}
          </ol>
        )
      ) : null}
    </section>
  );
}
