import { useEffect, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { LazyCodeEditor } from "../../../shared/editor/LazyCodeEditor";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useSessionRecords } from "../../labeling/api/labeling";
import { showValue, userErrorLine } from "../../heuristics/code";
import { useRecordIde } from "../api/attributes";
import "../../heuristics/components/heuristics.css";

const STORAGE = "refinery.recordIde.code";
const DEFAULT_CODE = `# record is the current record: text attributes are spaCy Docs
print(record)
`;

interface Entry {
  recordId: number;
  stdout: string;
  result: unknown;
  error: string | null;
}

/** Python against the labeling session's current record: Shift+Enter runs, the output pane keeps every run. */
export default function RecordIdePage() {
  const { projectId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const records = useSessionRecords(projectId);
  const ide = useRecordIde(projectId);
  const [code, setCode] = useState(() => window.localStorage.getItem(STORAGE) ?? DEFAULT_CODE);
  const [output, setOutput] = useState<Entry[]>([]);
  const pos = Math.max(0, Number(params.get("pos") ?? "0") || 0);
  const loaded = records.data?.pages.flatMap((p) => p.items) ?? [];
  const record = loaded[pos];
  const hasMore = records.hasNextPage;

  useEffect(() => {
    window.localStorage.setItem(STORAGE, code);
  }, [code]);

  useEffect(() => {
    if (pos >= loaded.length && hasMore && !records.isFetchingNextPage) void records.fetchNextPage();
  }, [pos, loaded.length, hasMore, records]);

  const go = (next: number) => setParams({ pos: String(Math.max(0, next)) }, { replace: true });
  const run = () => {
    if (!record) return;
    ide.mutate(
      { recordId: record.id, code },
      { onSuccess: (out) => setOutput((o) => [...o, { recordId: record.id, stdout: out.stdout, result: out.result, error: out.error }]) },
    );
  };

  if (records.isPending) return <Loading what="the records" />;
  if (records.isError) return <ErrorBox error={records.error} what="the records" />;
  const atEnd = pos >= loaded.length - 1 && !hasMore;

  return (
    <main className="page" aria-labelledby="ide-title">
      <header className="page-head">
        <h1 id="ide-title">Record IDE</h1>
        <div className="row">
          <button type="button" onClick={() => go(pos - 1)} disabled={pos === 0}>
            Previous record
          </button>
          <span className="small" data-testid="ide-position">
            Record {pos + 1}
            {record ? ` (id ${record.id})` : ""}
          </span>
          <button type="button" onClick={() => go(pos + 1)} disabled={atEnd}>
            Next record
          </button>
          <Link to={`/projects/${projectId}/labeling?pos=${pos}`}>View labeling</Link>
          <Link to={`/projects/${projectId}/attributes`}>Calculated attributes</Link>
        </div>
      </header>
      {record && (
        <details className="card">
          <summary>Record data</summary>
          <dl className="stack">
            {Object.entries(record.data).map(([key, value]) => (
              <div key={key}>
                <dt className="attribute-name">{key}</dt>
                <dd className="h-value">{showValue(value)}</dd>
              </div>
            ))}
          </dl>
        </details>
      )}
      <section className="card stack spaced-top" aria-labelledby="ide-code-title">
        <div className="row between">
          <h2 id="ide-code-title">Code</h2>
          <span className="small muted">
            <kbd>Shift</kbd>+<kbd>Enter</kbd> runs it on this record
          </span>
        </div>
        <LazyCodeEditor label="Code" value={code} onChange={setCode} onRun={run} minHeight="10rem" />
        <div className="row">
          <button type="button" className="primary" onClick={run} disabled={!record || ide.isPending}>
            {ide.isPending ? "Running…" : "Run"}
          </button>
          <button type="button" onClick={() => setOutput([])} disabled={output.length === 0}>
            Clear output
          </button>
        </div>
        {ide.isError && (
          <p role="alert" className="form-error">
            {problemMessage(ide.error)}
          </p>
        )}
      </section>
      <section className="card spaced-top" aria-labelledby="ide-out-title">
        <h2 id="ide-out-title">Output</h2>
        <pre className="h-logs h-output" aria-label="Output of the runs" aria-live="polite" data-testid="ide-output">
          {output
            .map((e) => {
              const line = userErrorLine(e.error);
              const head = `>>> record ${e.recordId}`;
              const body = e.stdout.replace(/\n$/, "");
              const error = e.error ? `Error${line ? ` in line ${line}` : ""}:\n${e.error}` : "";
              return [head, body, error].filter(Boolean).join("\n");
            })
            .join("\n")}
        </pre>
      </section>
    </main>
  );
}
