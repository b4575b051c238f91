import { memo } from "react";
import type { Attribute, Task } from "../../labeling/api/labeling";
import type { Comment, FoundRecord } from "../api/browser";
import { highlightPieces } from "../highlight";
import styles from "../browser.module.css";

const MAX_CHARS = 1200;

function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** One result: its visible attributes (filter hits highlighted), a label table per task and its comments. */
export const ResultCard = memo(function ResultCard({
  record,
  position,
  attributes,
  tasks,
  comments,
  selected,
  score,
  onToggle,
  onSimilar,
  onLabelFromHere,
  onEdit = null,
}: {
  record: FoundRecord;
  position: number;
  attributes: Attribute[];
  tasks: Task[];
  comments: Comment[];
  selected: boolean;
  score?: number;
  onToggle: (id: number, on: boolean) => void;
  onSimilar: ((id: number) => void) | null;
  onLabelFromHere: (position: number) => void;
  onEdit?: ((record: FoundRecord) => void) | null;
}) {
  const labelName = new Map(tasks.flatMap((t) => t.labels.map((l) => [l.id, l.name] as const)));
  const rows = tasks
    .map((task) => {
      const mine = record.labels.filter((l) => l.labeling_task_id === task.id);
      const manual = mine.filter((l) => l.source_type === "MANUAL" && l.is_valid_manual_label);
      const weak = mine.filter((l) => l.source_type === "WEAK_SUPERVISION");
      return { task, manual, weak };
    })
    .filter((row) => row.manual.length || row.weak.length);
  return (
    <article className={`${styles.card} card`} aria-label={`Record ${record.id}`} data-record-id={record.id}>
      <header className="row between">
        <label className="check small">
          <input type="checkbox" checked={selected} onChange={(e) => onToggle(record.id, e.target.checked)} />
          <span>
            #{position + 1} · record {record.id}
            {score !== undefined ? ` · similarity ${score.toFixed(3)}` : ""}
          </span>
          <span className="sr-only"> selected</span>
        </label>
        <span className="row">
          {onSimilar ? (
            <button type="button" className="ghost small" aria-label={`Find records similar to record ${record.id}`} onClick={() => onSimilar(record.id)}>
              Find similar
            </button>
          ) : null}
          {onEdit ? (
            <button type="button" className="ghost small" aria-label={`Edit record ${record.id}`} onClick={() => onEdit(record)}>
              Edit
            </button>
          ) : null}
          <button type="button" className="ghost small" aria-label={`Continue labeling from record ${record.id}`} onClick={() => onLabelFromHere(position)}>
            Label from here
          </button>
        </span>
      </header>
      <div className={styles.cardBody}>
        <dl className={styles.attrs}>
          {attributes.map((a) => {
            const text = show(record.data[a.name]);
            const clipped = text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text;
            const ranges = record.highlights?.[a.name] ?? [];
            return (
              <div key={a.id} className={styles.attr}>
                <dt>{a.name}</dt>
                <dd>
                  {ranges.length
                    ? highlightPieces(clipped, ranges).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))
                    : clipped}
                </dd>
              </div>
            );
          })}
        </dl>
        {rows.length ? (
          <table className="table compact small" aria-label={`Labels of record ${record.id}`}>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Manual</th>
                <th scope="col">Weak supervision</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ task, manual, weak }) => (
                <tr key={task.id}>
                  <th scope="row">{task.name}</th>
                  <td>{manual.map((l) => `${labelName.get(l.label_id) ?? "?"}${l.is_gold_star ? " ★" : ""}`).join(", ") || "—"}</td>
                  <td>
                    {weak.map((l) => `${labelName.get(l.label_id) ?? "?"}${l.confidence !== null ? ` (${l.confidence.toFixed(2)})` : ""}`).join(", ") ||
                      "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="small muted">No labels yet.</p>
        )}
        {comments.length ? (
          <ul className={`small ${styles.comments}`} aria-label={`Comments on record ${record.id}`}>
            {comments.map((c) => (
              <li key={c.id}>💬 {c.body}</li>
            ))}
          </ul>
        ) : null}
      </div>
    </article>
  );
});
