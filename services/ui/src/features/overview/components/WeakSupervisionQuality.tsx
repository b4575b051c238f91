import { ErrorBox } from "../../../shared/ErrorBox";
import { useWeakSupervisionQuality } from "../api/quality";
import { pct, qualityHeadline } from "../quality";

/** The overview's quality card: the latest finished weak-supervision run's accuracy and per-label precision / recall,
 * cross-validated on the manual labels (never on labels the model was fitted on), or why there is no figure. */
export default function WeakSupervisionQuality({ pid, taskId }: { pid: string; taskId: string }) {
  const quality = useWeakSupervisionQuality(pid, taskId);
  if (quality.isError) return <ErrorBox error={quality.error} what="the weak-supervision quality" />;
  const q = quality.data;
  const tokens = q?.level === "token"; // extraction: per-label figures count tokens, with their F1
  return (
    <section className="card spaced-top" aria-label="Weak-supervision quality" data-testid="ws-quality">
      <div className="muted small">Weak-supervision quality (cross-validated on manual labels)</div>
      {!q ? (
        <p className="small muted">…</p>
      ) : (
        <>
          <p data-testid="ws-quality-headline" data-available={String(q.available)}>
            {qualityHeadline(q)}
          </p>
          {q.available && q.per_label?.length ? (
            <table className="table compact" aria-label="Quality per label">
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col">Precision</th>
                  <th scope="col">Recall</th>
                  {tokens ? <th scope="col">F1</th> : null}
                  <th scope="col">{tokens ? "Manual tokens" : "Manual labels"}</th>
                </tr>
              </thead>
              <tbody>
                {(q.per_label ?? []).map((row) => (
                  <tr key={row.label_id}>
                    <th scope="row">{row.label_name}</th>
                    <td>{pct(row.precision)}</td>
                    <td>{pct(row.recall)}</td>
                    {tokens ? <td>{pct(row.f1)}</td> : null}
                    <td>{row.support.toLocaleString("en-US")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {q.note ? <p className="small muted">{q.note}</p> : null}
          {q.run_id ? (
            <p className="small muted">
              Run of {q.finished_at ? new Date(q.finished_at).toLocaleString() : "—"}, model {q.model ?? "—"}
              {q.picked ? ` → ${q.picked}` : ""}
              {q.coverage !== null && q.coverage !== undefined ? `; it labels ${pct(q.coverage)} of the held-out labeled records` : ""}.
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}
