import { useState } from "react";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { toast } from "../../../shared/toasts";
import type { Attribute } from "../../labeling/api/labeling";
import { useEditRecord, type RecordEdit } from "../api/recordEdit";
import { changedValues, fieldText, isEditable } from "../values";
import "./record-edit.css";

function shown(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function Field({ attribute, value, error, onChange }: { attribute: Attribute; value: string; error?: string; onChange: (text: string) => void }) {
  const label = `${attribute.name} (${attribute.data_type.toLowerCase()}${attribute.is_primary_key ? ", primary key" : ""})`;
  const common = { "aria-label": `Value of ${attribute.name}`, "aria-invalid": error ? true : undefined, value };
  return (
    <label className="re-field">
      <span>{label}</span>
      {attribute.data_type === "TEXT" ? (
        <textarea {...common} rows={Math.min(8, Math.max(2, Math.ceil(value.length / 80)))} onChange={(e) => onChange(e.target.value)} />
      ) : attribute.data_type === "BOOLEAN" ? (
        <select {...common} onChange={(e) => onChange(e.target.value)}>
          {attribute.is_primary_key ? null : <option value="">— (no value)</option>}
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : (
        <input {...common} inputMode={attribute.data_type === "CATEGORY" ? undefined : "decimal"} onChange={(e) => onChange(e.target.value)} />
      )}
      {error ? <span className="form-error small">{attribute.name}: {error}</span> : null}
    </label>
  );
}

function Review({ review }: { review: RecordEdit }) {
  return (
    <div className="stack">
      <table className="table compact small" aria-label="Changed values">
        <thead>
          <tr>
            <th scope="col">Attribute</th>
            <th scope="col">Old</th>
            <th scope="col">New</th>
          </tr>
        </thead>
        <tbody>
          {review.changes.map((c) => (
            <tr key={c.attribute}>
              <th scope="row">{c.attribute}</th>
              <td className="re-old">{shown(c.old)}</td>
              <td className="re-new">{shown(c.new)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {review.removed_spans.length ? (
        <section aria-label="Labels this edit removes">
          <h3 className="small">
            {review.removed_spans.length} {review.removed_spans.length === 1 ? "label" : "labels"} will be removed (their words change)
          </h3>
          <ul className="small re-spans">
            {review.removed_spans.map((s) => (
              <li key={s.id}>
                <strong>{s.label}</strong> on “{s.text}” · {s.task} ({s.source_type === "MANUAL" ? "manual" : "weak supervision"})
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <p className="small muted">No label is removed{review.kept_spans ? ` (${review.kept_spans} spans keep their words)` : ""}.</p>
      )}
      <p className="small muted">Not redone by this edit: {review.stale}.</p>
    </div>
  );
}

/** Edit a record's uploaded values: the fields, then a review of old → new and the labels it removes, then save. */
export function EditRecordDialog({
  pid,
  recordId,
  data,
  attributes,
  onClose,
}: {
  pid: string;
  recordId: number;
  data: Record<string, unknown>;
  attributes: Attribute[];
  onClose: () => void;
}) {
  const editable = attributes.filter(isEditable);
  const [drafts, setDrafts] = useState<Record<string, string>>(() => Object.fromEntries(editable.map((a) => [a.name, fieldText(data[a.name])])));
  const [review, setReview] = useState<RecordEdit | null>(null);
  const [error, setError] = useState<string | null>(null);
  const edit = useEditRecord(pid, recordId);
  const { values, errors } = changedValues(editable, data, drafts);
  const changed = Object.keys(values).length;

  const ask = (dryRun: boolean) => {
    setError(null);
    edit.mutate(
      { values, dryRun },
      {
        onSuccess: (result) => {
          if (dryRun) return setReview(result);
          toast.success(`Record ${recordId} saved${result.removed_spans.length ? `, ${result.removed_spans.length} labels removed` : ""}`);
          onClose();
        },
        onError: (e) => setError(problemMessage(e)),
      },
    );
  };

  return (
    <Dialog title={review ? `Review the edit of record ${recordId}` : `Edit record ${recordId}`} onClose={onClose}>
      <div className="stack">
        {review ? (
          <Review review={review} />
        ) : (
          <form
            className="stack"
            aria-label={`Values of record ${recordId}`}
            onSubmit={(e) => {
              e.preventDefault();
              if (changed && !Object.keys(errors).length) ask(true);
            }}
          >
            {editable.length ? null : <p className="muted">This record has no uploaded values to edit.</p>}
            {editable.map((a) => (
              <Field key={a.id} attribute={a} value={drafts[a.name] ?? ""} error={errors[a.name]} onChange={(text) => setDrafts({ ...drafts, [a.name]: text })} />
            ))}
          </form>
        )}
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row end">
          <button type="button" className="ghost" onClick={review ? () => setReview(null) : onClose}>
            {review ? "Back to editing" : "Cancel"}
          </button>
          {review ? (
            <button type="button" className="primary" disabled={edit.isPending || !review.changes.length} onClick={() => ask(false)}>
              Save
            </button>
          ) : (
            <button type="button" className="primary" disabled={edit.isPending || !changed || Boolean(Object.keys(errors).length)} onClick={() => ask(true)}>
              Review changes
            </button>
          )}
        </div>
      </div>
    </Dialog>
  );
}
