import { useEffect, useState } from "react";
import { useParams } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useTasks } from "../../labeling/api/labeling";
import { useMyAssignments, useNextRecord, useQueueActions, type MyAssignment } from "../api/assignments";

/** An annotator's home: their assignments with progress, and the next record of the chosen one to label with the
 * keyboard (a label's hotkey labels it, "s" skips it). */
export default function QueuePage() {
  const { projectId = "" } = useParams();
  const mine = useMyAssignments(projectId);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  if (mine.isPending) return <Loading what="your queue" />;
  if (mine.isError) return <ErrorBox error={mine.error} what="your queue" />;
  const current = mine.data.find((a) => a.id === chosen) ?? mine.data[0];
  return (
    <main className="page" aria-labelledby="queue-title">
      <h1 id="queue-title">My queue</h1>
      {mine.data.length === 0 ? (
        <p>No work is assigned to you in this project yet.</p>
      ) : (
        <>
          <ul aria-label="My assignments">
            {mine.data.map((a) => (
              <li key={a.id}>
                <button type="button" className={a.id === current?.id ? "" : "ghost"} onClick={() => setChosen(a.id)}>
                  {a.name}
                </button>{" "}
                <span aria-label={`progress of ${a.name}`}>
                  {a.done} / {a.assigned} done
                </span>
                {a.skipped > 0 ? <span className="muted small"> ({a.skipped} skipped)</span> : null}
              </li>
            ))}
          </ul>
          {current ? <Queue projectId={projectId} assignment={current} /> : null}
        </>
      )}
    </main>
  );
}

function Queue({ projectId, assignment }: { projectId: string; assignment: MyAssignment }) {
  const [includeSkipped, setIncludeSkipped] = useState(false);
  const next = useNextRecord(projectId, assignment.id, includeSkipped);
  const tasks = useTasks(projectId);
  const actions = useQueueActions(projectId, assignment.id);
  const [comment, setComment] = useState(assignment.comment ?? "");
  const task = tasks.data?.find((t) => t.id === assignment.labeling_task_id) ?? tasks.data?.[0];
  const record = next.data?.record;

  useEffect(() => {
    if (!record || !task) return;
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
      if (event.key === "s") {
        actions.skip.mutate(record.id, { onSuccess: () => void next.refetch() });
        return;
      }
      const label = task.labels.find((l) => l.hotkey === event.key);
      if (label) {
        actions.label.mutate(
          { recordId: record.id, taskId: task.id, labelId: label.id },
          { onSuccess: () => void next.refetch() },
        );
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [record, task, actions.label, actions.skip, next]);

  if (next.isPending || tasks.isPending) return <Loading what="the next record" />;
  if (next.isError) return <ErrorBox error={next.error} what="the next record" />;
  return (
    <section aria-label="Next record">
      {record ? (
        <>
          <dl aria-label="Record">
            {Object.entries(record.data).map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{String(value)}</dd>
              </div>
            ))}
          </dl>
          {task ? (
            <div className="row" aria-label={`Labels of ${task.name}`}>
              {task.labels.map((label) => (
                <button
                  key={label.id}
                  type="button"
                  onClick={() =>
                    actions.label.mutate(
                      { recordId: record.id, taskId: task.id, labelId: label.id },
                      { onSuccess: () => void next.refetch() },
                    )
                  }
                >
                  {label.name} {label.hotkey ? <kbd>{label.hotkey}</kbd> : null}
                </button>
              ))}
              <button type="button" className="ghost" onClick={() => actions.skip.mutate(record.id, { onSuccess: () => void next.refetch() })}>
                Skip <kbd>s</kbd>
              </button>
            </div>
          ) : (
            <p>The project has no labeling task yet.</p>
          )}
        </>
      ) : (
        <p>
          All done.{" "}
          {assignment.skipped > 0 && !includeSkipped ? (
            <button type="button" onClick={() => setIncludeSkipped(true)}>
              Revisit skipped records
            </button>
          ) : null}
        </p>
      )}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (comment.trim()) actions.comment.mutate(comment.trim());
        }}
      >
        <label>
          Comment to the engineer
          <textarea value={comment} maxLength={10000} onChange={(e) => setComment(e.target.value)} />
        </label>
        <button type="submit">Send comment</button>
      </form>
    </section>
  );
}
