import { useState } from "react";
import type { Schemas } from "../../../api/client";
import { Dialog } from "../../../shared/Dialog";
import type { RecordOutcome, SampleResult } from "../api/heuristics";
import { showValue, userErrorLine } from "../code";

type RecordItem = Schemas["RecordOut"];

/** The value of a record's attribute as text (spaCy Docs arrive as their text). */
export function recordValue(record: RecordItem | undefined, attribute: string): string {
  if (!record) return "(record not loaded)";
  return showValue(record.data[attribute]);
}

/** A sample run's outcome: record value → result, printed output and the user's error with its line. */
export function SampleTable({
  sample,
  records,
  attribute,
  resultName = "Result",
}: {
  sample: SampleResult;
  records: ReadonlyMap<number, RecordItem>;
  attribute: string;
  resultName?: string;
}) {
  const [details, setDetails] = useState<RecordOutcome | null>(null);
  if (sample.error) {
    const line = userErrorLine(sample.error);
    return (
      <div role="alert" className="error-box">
        <strong>The code could not run{line ? ` (line ${line})` : ""}.</strong>
        <pre className="h-error">{sample.error}</pre>
      </div>
    );
  }
  return (
    <>
      <p className="small muted">
        {sample.records.length} records in {sample.duration_s.toFixed(2)} s
      </p>
      <table className="table compact" aria-label="Sample results">
        <thead>
          <tr>
            <th scope="col">Record ({attribute})</th>
            <th scope="col">{resultName}</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {sample.records.map((r) => {
            const line = userErrorLine(r.error);
            return (
              <tr key={r.record_id}>
                <td>
                  <div className="h-value">{recordValue(records.get(r.record_id), attribute)}</div>
                </td>
                <td>
                  {r.error ? (
                    <span className="form-error">
                      Error{line ? ` in line ${line}` : ""}: {r.error.trim().split("\n").at(-1)}
                    </span>
                  ) : (
                    <strong className="mono">{showValue(r.result)}</strong>
                  )}
                </td>
                <td>
                  <button type="button" className="small" aria-label={`Details of record ${r.record_id}`} onClick={() => setDetails(r)}>
                    Details
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {details && (
        <Dialog title={`Record ${details.record_id}`} onClose={() => setDetails(null)}>
          <dl className="stack">
            {Object.entries(records.get(details.record_id)?.data ?? {}).map(([key, value]) => (
              <div key={key}>
                <dt className="attribute-name">{key}</dt>
                <dd className="h-value">{showValue(value)}</dd>
              </div>
            ))}
          </dl>
          <h3>{resultName}</h3>
          <pre className="mono">{showValue(details.result)}</pre>
          {details.stdout && (
            <>
              <h3>Printed output</h3>
              <pre className="h-logs">{details.stdout}</pre>
            </>
          )}
          {details.error && (
            <>
              <h3>Error</h3>
              <pre className="h-error">{details.error}</pre>
            </>
          )}
        </Dialog>
      )}
    </>
  );
}
