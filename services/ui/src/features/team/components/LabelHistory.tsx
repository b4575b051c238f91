import { useState } from "react";
import { useNavigate } from "react-router";
import { problemMessage } from "../../../api/problem";
import { ErrorBox } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { usePermissions } from "../../assignments/api/assignments";
import { useCreateSession } from "../../browser/api/browser";
import { useProjectHistory, viaText, type HistoryFilter } from "../api/history";
import type { HistoryEntry, Member } from "../api/team";
import styles from "../team.module.css";

function labelList(labels: HistoryEntry["old_labels"]): string {
  if (labels.length === 0) return "nothing";
  return labels.map((l) => (l.token_start != null ? `${l.name} [${l.token_start}–${l.token_end ?? l.token_start}]` : l.name)).join(", ");
}

/** The event of an entry in words. */
export function eventText(entry: Pick<HistoryEntry, "event" | "via">): string {
  switch (entry.event) {
    case "GOLD_STAR_SET":
      return "gold star set";
    case "GOLD_STAR_WITHDRAWN":
      return "gold star withdrawn";
    case "LABEL_DELETED":
      return "label deleted";
    case "TASK_DELETED":
      return "task deleted";
    default:
      return entry.via === "REVERT" ? "reverted" : "labels";
  }
}

/** The project's label history on the Team page (who labeled what), newest first, paged, filterable by annotator and
 * task; only for those who may read every member's labels (owners, engineers, experts). */
export function LabelHistory({ projectId, members, taskNames }: { projectId: string; members: Member[]; taskNames: Map<string, string> }) {
  const permissions = usePermissions(projectId);
  if (!permissions.data?.actions.includes("READ_ALL_LABELS")) return null;
  return <HistoryTable projectId={projectId} members={members} taskNames={taskNames} />;
}

function HistoryTable({ projectId, members, taskNames }: { projectId: string; members: Member[]; taskNames: Map<string, string> }) {
  const [filter, setFilter] = useState<HistoryFilter>({ annotatorId: "", taskId: "" });
  const history = useProjectHistory(projectId, filter);
  const createSession = useCreateSession(projectId);
  const navigate = useNavigate();
  const names = new Map(members.map((m) => [m.id, m.email]));
  const who = (id: string | null) => (id ? (names.get(id) ?? "a former member") : "a removed user");
  const entries = history.data?.pages.flat() ?? [];
  const open = (recordId: number) =>
    createSession.mutate(
      { name: `Record ${recordId}`, record_ids: [recordId], position: 0, sort: [] },
      {
        onSuccess: (session) => navigate(`/projects/${projectId}/labeling/${session.id}?pos=0`),
        onError: (e) => toast.error(`Could not open record ${recordId}: ${problemMessage(e)}`),
      },
    );
  return (
    <section aria-labelledby="label-history-title" className="spaced-top">
      <h2 id="label-history-title">Label history</h2>
      <div className="row wrap">
        <label className="field">
          <span>Annotator</span>
          <select value={filter.annotatorId} onChange={(e) => setFilter((f) => ({ ...f, annotatorId: e.target.value }))}>
            <option value="">every annotator</option>
            {members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.email}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Task</span>
          <select value={filter.taskId} onChange={(e) => setFilter((f) => ({ ...f, taskId: e.target.value }))}>
            <option value="">every task</option>
            {[...taskNames].map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {history.isError ? <ErrorBox error={history.error} what="the label history" /> : null}
      {history.isSuccess && entries.length === 0 ? <p className="muted">No manual label has changed yet{filter.annotatorId || filter.taskId ? " (with these filters)" : ""}.</p> : null}
      {entries.length > 0 ? (
        <table className="table compact spaced-top" aria-label="Label history, newest first">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Annotator</th>
              <th scope="col">Record</th>
              <th scope="col">Task</th>
              <th scope="col">Labels (old → new)</th>
              <th scope="col">Event</th>
              <th scope="col">How</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>
                  <time dateTime={entry.created_at} className="small">
                    {new Date(entry.created_at).toLocaleString()}
                  </time>
                </td>
                <th scope="row" className={styles.rowHead}>
                  {who(entry.annotator_id)}
                  {entry.changed_by !== entry.annotator_id ? <span className="muted small"> (by {who(entry.changed_by)})</span> : null}
                </th>
                <td>
                  <button type="button" className="ghost small" disabled={createSession.isPending} onClick={() => open(entry.record_id)}>
                    Open record {entry.record_id}
                  </button>
                </td>
                <td>{taskNames.get(entry.labeling_task_id) ?? "a deleted task"}</td>
                <td>
                  {labelList(entry.old_labels)} → {labelList(entry.new_labels)}
                </td>
                <td>{eventText(entry)}</td>
                <td>{viaText(entry.via)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {history.hasNextPage ? (
        <button type="button" className="ghost spaced-top" disabled={history.isFetchingNextPage} onClick={() => void history.fetchNextPage()}>
          {history.isFetchingNextPage ? "Loading…" : "Show older changes"}
        </button>
      ) : null}
    </section>
  );
}
