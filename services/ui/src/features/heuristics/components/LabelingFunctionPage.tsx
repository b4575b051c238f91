import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { LazyCodeEditor } from "../../../shared/editor/LazyCodeEditor";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { useAttributes, useTasks, type Task } from "../../labeling/api/labeling";
import { useLookupLists } from "../../lookup-lists/api/lookupLists";
import {
  isFinalJob,
  useCancelRun,
  useDeleteHeuristics,
  useEmbeddings,
  useHeuristic,
  useHeuristicRuns,
  useRecordPool,
  useRunHeuristics,
  useSampleRun,
  useSelectHeuristics,
  useStartWeakSupervision,
  useTaskStatistics,
  useUpdateHeuristic,
  type Heuristic,
  type HeuristicRun,
} from "../api/heuristics";
import { TEMPLATES, pickRandom, userErrorLine } from "../code";
import { SAVE_STATE_TEXT, useAutosave } from "../hooks/useAutosave";
import { CopyButton } from "./CopyButton";
import { StateBadge, TypeBadge } from "./HeuristicState";
import { SampleTable } from "./SampleTable";
import { StatisticsTable } from "./StatisticsTable";
import "./heuristics.css";

/** One heuristic: inline name and description, code with autosave, run on 10, full runs with progress, statistics. */
export default function LabelingFunctionPage() {
  const { projectId = "", heuristicId = "" } = useParams();
  const heuristic = useHeuristic(projectId, heuristicId);
  const tasks = useTasks(projectId);
  if (heuristic.isPending || tasks.isPending) return <Loading what="the heuristic" />;
  if (heuristic.isError) return <ErrorBox error={heuristic.error} what="the heuristic" />;
  if (tasks.isError) return <ErrorBox error={tasks.error} what="the labeling tasks" />;
  const task = tasks.data.find((t) => t.id === heuristic.data.labeling_task_id);
  if (!task) return <ErrorBox error={new Error("its labeling task is gone")} what="the heuristic" />;
  return <HeuristicDetail key={heuristic.data.id} pid={projectId} heuristic={heuristic.data} task={task} />;
}

function HeuristicDetail({ pid, heuristic, task }: { pid: string; heuristic: Heuristic; task: Task }) {
  const hasCode = heuristic.type === "LABELING_FUNCTION" || heuristic.type === "ACTIVE_LEARNING";
  const [code, setCode] = useState(heuristic.source_code);
  const update = useUpdateHeuristic(pid, heuristic.id);
  const autosave = useAutosave(code, heuristic.source_code, (source_code) => update.mutateAsync({ source_code }));
  const [watchUntil, setWatchUntil] = useState(0);
  const stats = useTaskStatistics(pid, task.id, watchUntil);
  const mine = useMemo(() => (stats.data ?? []).filter((s) => s.source_id === heuristic.id), [stats.data, heuristic.id]);

  return (
    <main className="page" aria-labelledby="heuristic-name-label">
      <p className="small">
        <Link to={`/projects/${pid}/heuristics?task=${task.id}`}>← Back to the heuristics</Link>
      </p>
      <NameAndDescription pid={pid} heuristic={heuristic} />
      <div className="row wrap small">
        <TypeBadge type={heuristic.type} />
        <span>
          Task <strong>{task.name}</strong>
        </span>
        {heuristic.last_run && <StateBadge state={heuristic.last_run.state} />}
        {heuristic.last_run?.finished_at && <span className="muted">last run {new Date(heuristic.last_run.finished_at).toLocaleString()}</span>}
      </div>

      <div className="h-split spaced-top">
        <NamesToCopy pid={pid} task={task} />
        {heuristic.type === "ACTIVE_LEARNING" && <EmbeddingsToCopy pid={pid} />}
        {hasCode && (
          <section className="card stack" aria-labelledby="code-title">
            <div className="row between wrap">
              <h2 id="code-title">Code</h2>
              <div className="row">
                <span className="h-saved" role="status" data-testid="save-state">
                  {SAVE_STATE_TEXT[autosave.state]}
                </span>
                {heuristic.type === "LABELING_FUNCTION" && <TemplatePicker pid={pid} task={task} onPick={setCode} />}
              </div>
            </div>
            <LazyCodeEditor label="Code" value={code} onChange={setCode} onSave={() => void autosave.saveNow()} />
            <p className="small muted">
              Saved automatically after a short pause; <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>S</kbd> saves now. The function is called{" "}
              <code>lf(record)</code> (an active learner is a class); text attributes are spaCy Docs (<code>record["text"].text</code>).
            </p>
            {update.isError && (
              <p role="alert" className="form-error">
                {problemMessage(update.error)}
              </p>
            )}
          </section>
        )}
        <RunSection
          pid={pid}
          heuristic={heuristic}
          task={task}
          code={code}
          beforeRun={() => autosave.saveNow()}
          onRunEnded={() => setWatchUntil(Date.now() + 30_000)}
        />
        <section className="card" aria-labelledby="stats-title">
          <h2 id="stats-title">Statistics</h2>
          {stats.isError ? <ErrorBox error={stats.error} what="the statistics" /> : <StatisticsTable rows={mine} />}
        </section>
        <RunHistory pid={pid} heuristicId={heuristic.id} />
        <DangerZone pid={pid} heuristic={heuristic} taskId={task.id} />
      </div>
    </main>
  );
}

function NameAndDescription({ pid, heuristic }: { pid: string; heuristic: Heuristic }) {
  const update = useUpdateHeuristic(pid, heuristic.id);
  const [name, setName] = useState(heuristic.name);
  const [description, setDescription] = useState(heuristic.description);
  const saveName = () => {
    const trimmed = name.trim();
    if (!trimmed) setName(heuristic.name);
    else if (trimmed !== heuristic.name) update.mutate({ name: trimmed }, { onError: () => setName(heuristic.name) });
  };
  const saveDescription = () => {
    if (description !== heuristic.description) update.mutate({ description });
  };
  return (
    <header className="stack" style={{ gap: "0.2rem" }}>
      <label id="heuristic-name-label" className="sr-only" htmlFor="heuristic-name">
        Name
      </label>
      <input
        id="heuristic-name"
        className="h-inline-title mono"
        value={name}
        maxLength={200}
        onChange={(e) => setName(e.target.value)}
        onBlur={saveName}
        onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
      />
      <input
        aria-label="Description"
        className="h-inline-desc"
        value={description}
        placeholder="Add a description"
        maxLength={10000}
        onChange={(e) => setDescription(e.target.value)}
        onBlur={saveDescription}
        onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
      />
      {update.isError && (
        <p role="alert" className="form-error">
          {problemMessage(update.error)}
        </p>
      )}
    </header>
  );
}

function NamesToCopy({ pid, task }: { pid: string; task: Task }) {
  const attributes = useAttributes(pid);
  const lists = useLookupLists(pid);
  return (
    <section className="card stack" aria-label="Names to copy">
      <div className="row wrap">
        <span className="small muted">Attributes:</span>
        {(attributes.data ?? []).map((a) => (
          <CopyButton key={a.id} text={a.name} label={`Copy attribute ${a.name}`} />
        ))}
      </div>
      <div className="row wrap">
        <span className="small muted">Labels of {task.name}:</span>
        {task.labels.map((l) => (
          <CopyButton key={l.id} text={l.name} label={`Copy label ${l.name}`} />
        ))}
      </div>
      {(lists.data?.length ?? 0) > 0 && (
        <div className="row wrap">
          <span className="small muted">Lookup lists:</span>
          {(lists.data ?? []).map((l) => (
            <CopyButton key={l.id} text={`from knowledge import ${l.python_name}`} label={`Copy the import of ${l.name}`}>
              {l.python_name}
            </CopyButton>
          ))}
        </div>
      )}
    </section>
  );
}

function EmbeddingsToCopy({ pid }: { pid: string }) {
  const embeddings = useEmbeddings(pid);
  return (
    <section className="card" aria-labelledby="emb-title">
      <h2 id="emb-title">Embeddings</h2>
      {(embeddings.data?.length ?? 0) === 0 && <p className="small muted">No embeddings yet: add one in the settings.</p>}
      <div className="row wrap">
        {(embeddings.data ?? []).map((e) => (
          <span key={e.id} className="row">
            <CopyButton text={e.name} label={`Copy embedding ${e.name}`} />
            <span className="small muted">{e.state}</span>
          </span>
        ))}
      </div>
    </section>
  );
}

function TemplatePicker({ pid, task, onPick }: { pid: string; task: Task; onPick: (code: string) => void }) {
  const attributes = useAttributes(pid);
  const lists = useLookupLists(pid);
  return (
    <label className="row small">
      <span>Template</span>
      <select
        value=""
        onChange={(e) => {
          const tpl = TEMPLATES.find((t) => t.id === e.target.value);
          if (!tpl) return;
          const attribute =
            attributes.data?.find((a) => a.id === task.attribute_id)?.name ?? attributes.data?.find((a) => a.data_type === "TEXT")?.name ?? "text";
          onPick(tpl.code({ label: task.labels[0]?.name ?? "label", attribute, listName: lists.data?.[0]?.python_name ?? "" }));
        }}
      >
        <option value="">Insert a template…</option>
        {TEMPLATES.map((t) => (
          <option key={t.id} value={t.id}>
            {t.title}
          </option>
        ))}
      </select>
    </label>
  );
}

function RunSection({
  pid,
  heuristic,
  task,
  code,
  beforeRun,
  onRunEnded,
}: {
  pid: string;
  heuristic: Heuristic;
  task: Task;
  code: string;
  beforeRun: () => Promise<void>;
  onRunEnded: () => void;
}) {
  const client = useQueryClient();
  const attributes = useAttributes(pid);
  const pool = useRecordPool(pid);
  const sample = useSampleRun(pid, heuristic.id);
  const run = useRunHeuristics(pid);
  const cancel = useCancelRun(pid, heuristic.id);
  const select = useSelectHeuristics(pid);
  const weak = useStartWeakSupervision(pid);
  const [thenWeak, setThenWeak] = useState(false);
  const lastRun = heuristic.last_run ?? null;
  const job = useJob(lastRun?.job_id ?? null);
  const active = lastRun !== null && (lastRun.state === "QUEUED" || lastRun.state === "RUNNING");
  const defaultAttribute = attributes.data?.find((a) => a.id === task.attribute_id)?.name ?? attributes.data?.find((a) => a.data_type === "TEXT")?.name ?? "";
  const [attribute, setAttribute] = useState("");
  const shown = attribute || defaultAttribute;
  const records = useMemo(() => new Map((pool.data?.items ?? []).map((r) => [r.id, r])), [pool.data]);
  const jobState = job.data?.state;

  useEffect(() => {
    if (!isFinalJob(jobState)) return;
    void client.invalidateQueries({ queryKey: ["heuristics", pid] });
    void client.invalidateQueries({ queryKey: ["heuristic-statistics", pid] });
    onRunEnded();
    if (thenWeak && jobState === "done") {
      setThenWeak(false);
      weak.mutate({ taskId: task.id });
    } else if (thenWeak) {
      setThenWeak(false);
    }
    // run once per final state of the job
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jobState, lastRun?.job_id]);

  const startRun = async (withWeak: boolean) => {
    await beforeRun();
    if (withWeak && !heuristic.is_selected) await select.mutateAsync({ ids: [heuristic.id], selected: true });
    setThenWeak(withWeak);
    run.mutate([heuristic], { onError: () => setThenWeak(false) });
  };

  const runSample = () => {
    const ids = pool.data ? pickRandom(pool.data.items.map((r) => r.id), 10) : undefined;
    sample.mutate({ source_code: code, record_ids: ids });
  };

  return (
    <section className="card stack" aria-labelledby="run-title">
      <div className="row between wrap">
        <h2 id="run-title">Run</h2>
        <div className="row wrap">
          {heuristic.type === "LABELING_FUNCTION" && (
            <>
              <label className="row small">
                <span>Display attribute</span>
                <select value={shown} onChange={(e) => setAttribute(e.target.value)}>
                  {(attributes.data ?? []).map((a) => (
                    <option key={a.id} value={a.name}>
                      {a.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={runSample} disabled={sample.isPending}>
                {sample.isPending ? "Running on 10…" : "Run on 10"}
              </button>
            </>
          )}
          <button type="button" onClick={() => void startRun(false)} disabled={active || run.isPending}>
            Run
          </button>
          <button type="button" className="primary" onClick={() => void startRun(true)} disabled={active || run.isPending}>
            Run + weakly supervise
          </button>
        </div>
      </div>
      {sample.isError && (
        <p role="alert" className="form-error">
          {problemMessage(sample.error)}
        </p>
      )}
      {sample.data && <SampleTable sample={sample.data} records={records} attribute={shown} />}
      {lastRun && (
        <div className="stack" aria-label="Current run">
          {job.data && <JobProgress job={job.data} label={`Run of ${heuristic.name}`} />}
          {!job.data && (
            <p className="small">
              Last run: <StateBadge state={lastRun.state} />
            </p>
          )}
          {active && (
            <div>
              <button type="button" className="danger" onClick={() => cancel.mutate(lastRun.id)} disabled={cancel.isPending}>
                Cancel run
              </button>
            </div>
          )}
          {thenWeak && <p className="small muted">Weak supervision starts when the run has finished.</p>}
          {lastRun.error && <RunError error={lastRun.error} />}
          {lastRun.logs.length > 0 && (
            <details>
              <summary>Logs ({lastRun.logs.length} lines)</summary>
              <pre className="h-logs" aria-label="Run logs">
                {lastRun.logs.join("\n")}
              </pre>
            </details>
          )}
        </div>
      )}
    </section>
  );
}

function RunError({ error }: { error: string }) {
  const line = userErrorLine(error);
  return (
    <div role="alert" className="error-box">
      <strong>The run failed{line ? ` (line ${line})` : ""}.</strong>
      <pre className="h-error">{error}</pre>
    </div>
  );
}

function RunHistory({ pid, heuristicId }: { pid: string; heuristicId: string }) {
  const runs = useHeuristicRuns(pid, heuristicId);
  const [shown, setShown] = useState<HeuristicRun | null>(null);
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">Run history</h2>
      {runs.isError && <ErrorBox error={runs.error} what="the runs" />}
      {runs.data?.length === 0 && <p className="small muted">Not run yet.</p>}
      {runs.data && runs.data.length > 0 && (
        <table className="table compact" aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Started</th>
              <th scope="col">State</th>
              <th scope="col">Duration</th>
              <th scope="col">Code</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.map((r, i) => (
              <tr key={r.id}>
                <td>{runs.data.length - i}</td>
                <td>{new Date(r.started_at ?? r.created_at).toLocaleString()}</td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>{r.duration_s !== null && r.duration_s !== undefined ? `${r.duration_s.toFixed(1)} s` : "—"}</td>
                <td>
                  <button type="button" className="small" onClick={() => setShown(r)} aria-label={`Code and logs of run ${runs.data.length - i}`}>
                    View
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown && (
        <Dialog title="Run" onClose={() => setShown(null)}>
          <pre className="h-logs">{shown.source_code}</pre>
          {shown.error && <RunError error={shown.error} />}
          {shown.logs.length > 0 && <pre className="h-logs">{shown.logs.join("\n")}</pre>}
        </Dialog>
      )}
    </section>
  );
}

function DangerZone({ pid, heuristic, taskId }: { pid: string; heuristic: Heuristic; taskId: string }) {
  const remove = useDeleteHeuristics(pid);
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState(false);
  return (
    <section className="card danger-zone" aria-labelledby="hdanger-title">
      <h2 id="hdanger-title">Danger zone</h2>
      <p>Deleting the heuristic removes its runs, statistics and results.</p>
      <button type="button" className="danger" onClick={() => setConfirm(true)}>
        Delete heuristic
      </button>
      {confirm && (
        <Dialog title={`Delete ${heuristic.name}`} onClose={() => setConfirm(false)}>
          <p>Delete {heuristic.name} with its runs, statistics and results?</p>
          <div className="row end">
            <button type="button" onClick={() => setConfirm(false)}>
              Keep it
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => remove.mutate([heuristic.id], { onSuccess: () => navigate(`/projects/${pid}/heuristics?task=${taskId}`) })}
            >
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
