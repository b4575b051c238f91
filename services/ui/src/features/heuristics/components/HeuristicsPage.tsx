import { useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useAttributes, useTasks, type Task } from "../../labeling/api/labeling";
import { useLookupLists } from "../../lookup-lists/api/lookupLists";
import { pct, qualityHeadline } from "../../overview/quality";
import {
  useCreateHeuristic,
  useDeleteHeuristics,
  useHeuristics,
  useLatestWeakSupervision,
  useMembers,
  useRunHeuristics,
  useSelectHeuristics,
  useStartWeakSupervision,
  useTaskStatistics,
  type Heuristic,
  type HeuristicStat,
  type HeuristicType,
  type WsRun,
} from "../api/heuristics";
import { TEMPLATES, perLabel, percent, pythonIdentifier } from "../code";
import { StateBadge, TypeBadge } from "./HeuristicState";
import "./heuristics.css";

/** Heuristics of a project: a tab per labeling task, cards with per-label estimates, bulk actions, weak supervision. */
export default function HeuristicsPage() {
  const { projectId = "" } = useParams();
  const tasks = useTasks(projectId);
  const heuristics = useHeuristics(projectId);
  const [params, setParams] = useSearchParams();
  const [creating, setCreating] = useState<HeuristicType | null>(null);

  if (tasks.isPending || heuristics.isPending) return <Loading what="the heuristics" />;
  if (tasks.isError) return <ErrorBox error={tasks.error} what="the labeling tasks" />;
  if (heuristics.isError) return <ErrorBox error={heuristics.error} what="the heuristics" />;
  const taskId = params.get("task") ?? tasks.data[0]?.id;
  const task = tasks.data.find((t) => t.id === taskId);

  return (
    <main className="page" aria-labelledby="heuristics-title">
      <header className="page-head">
        <h1 id="heuristics-title">Heuristics</h1>
        <div className="row wrap">
          <button type="button" className="primary" onClick={() => setCreating("LABELING_FUNCTION")} disabled={!task}>
            New labeling function
          </button>
          <button type="button" onClick={() => setCreating("ACTIVE_LEARNING")} disabled={!task}>
            New active learner
          </button>
          <Link className="button" to={`/projects/${projectId}/heuristics/zero-shot${task ? `?task=${task.id}` : ""}`}>
            New zero-shot
          </Link>
          <Link className="button" to={`/projects/${projectId}/lookup-lists`}>
            Lookup lists
          </Link>
          <Link className="button" to={`/projects/${projectId}/attributes`}>
            Attribute calculation
          </Link>
        </div>
      </header>
      {tasks.data.length === 0 ? (
        <p className="empty card">
          Heuristics label records by code (labeling functions, with templates for keywords, regular expressions and lookup
          lists), by a model trained on your manual labels (active learners) or by a zero-shot model. First add a labeling
          task in the <Link to={`/projects/${projectId}/settings`}>settings</Link>.
        </p>
      ) : (
        <>
          <div className="h-tabs" role="tablist" aria-label="Labeling tasks">
            {tasks.data.map((t) => (
              <button
                key={t.id}
                type="button"
                role="tab"
                aria-selected={t.id === task?.id}
                onClick={() => setParams({ task: t.id }, { replace: true })}
              >
                {t.name}
              </button>
            ))}
          </div>
          {task && <TaskHeuristics pid={projectId} task={task} heuristics={heuristics.data.filter((h) => h.labeling_task_id === task.id)} />}
        </>
      )}
      {creating && task && <NewHeuristicDialog pid={projectId} type={creating} task={task} tasks={tasks.data} onClose={() => setCreating(null)} />}
    </main>
  );
}

function TaskHeuristics({ pid, task, heuristics }: { pid: string; task: Task; heuristics: Heuristic[] }) {
  const stats = useTaskStatistics(pid, task.id);
  const select = useSelectHeuristics(pid);
  const remove = useDeleteHeuristics(pid);
  const run = useRunHeuristics(pid);
  const weak = useStartWeakSupervision(pid);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const selected = heuristics.filter((h) => h.is_selected);
  const allSelected = heuristics.length > 0 && selected.length === heuristics.length;
  const statsOf = useMemo(() => {
    const map = new Map<string, HeuristicStat[]>();
    for (const row of stats.data ?? []) map.set(row.source_id, [...(map.get(row.source_id) ?? []), row]);
    return map;
  }, [stats.data]);

  return (
    <section aria-label={`Heuristics of ${task.name}`} role="tabpanel">
      <div className="h-toolbar" role="toolbar" aria-label="Heuristic actions">
        <label className="check">
          <input
            type="checkbox"
            checked={allSelected}
            disabled={heuristics.length === 0 || select.isPending}
            onChange={() => select.mutate({ ids: heuristics.map((h) => h.id), selected: !allSelected })}
          />
          Select all
        </label>
        <span className="small muted">{selected.length} selected</span>
        <button type="button" disabled={selected.length === 0 || run.isPending} onClick={() => run.mutate(selected)}>
          Run selected
        </button>
        <button type="button" className="danger" disabled={selected.length === 0} onClick={() => setConfirmDelete(true)}>
          Delete selected
        </button>
        <button
          type="button"
          className="primary"
          disabled={selected.length === 0 || weak.isPending}
          onClick={() => weak.mutate({ taskId: task.id, heuristicIds: selected.map((h) => h.id) })}
        >
          Weak supervision
        </button>
      </div>
      <LastWeakSupervision pid={pid} taskId={task.id} heuristics={heuristics} />
      {stats.isError && <ErrorBox error={stats.error} what="the statistics" />}
      {heuristics.length === 0 ? (
        <p className="empty card">No heuristics for {task.name} yet: write a labeling function, start from a template or add an active learner.</p>
      ) : (
        <div className="h-grid">
          {heuristics.map((h) => (
            <HeuristicCard
              key={h.id}
              pid={pid}
              heuristic={h}
              stats={statsOf.get(h.id) ?? []}
              onToggle={() => select.mutate({ ids: [h.id], selected: !h.is_selected })}
            />
          ))}
        </div>
      )}
      {confirmDelete && (
        <Dialog title="Delete heuristics" onClose={() => setConfirmDelete(false)}>
          <p>
            Delete {selected.length} heuristic{selected.length === 1 ? "" : "s"} ({selected.map((h) => h.name).join(", ")}) with their runs,
            statistics and results?
          </p>
          <div className="row end">
            <button type="button" onClick={() => setConfirmDelete(false)}>
              Keep them
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => remove.mutate(selected.map((h) => h.id), { onSettled: () => setConfirmDelete(false) })}
            >
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

function HeuristicCard({ pid, heuristic, stats, onToggle }: { pid: string; heuristic: Heuristic; stats: HeuristicStat[]; onToggle: () => void }) {
  const status = heuristic.last_run?.state ?? stats[0]?.status ?? "never_run";
  const rows = perLabel(stats);
  const titleId = `h-${heuristic.id}`;
  return (
    <article className="card h-card" aria-labelledby={titleId}>
      <div className="row between">
        <label className="check">
          <input type="checkbox" checked={heuristic.is_selected} onChange={onToggle} aria-label={`Select ${heuristic.name}`} />
          <TypeBadge type={heuristic.type} />
        </label>
        <StateBadge state={status} />
      </div>
      <h2 id={titleId}>
        <Link to={`/projects/${pid}/heuristics/${heuristic.id}`}>{heuristic.name}</Link>
      </h2>
      {heuristic.description && <p className="small muted">{heuristic.description}</p>}
      {rows.length > 0 ? (
        <table className="table compact" aria-label={`Estimates of ${heuristic.name}`}>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Est. precision</th>
              <th scope="col">Coverage</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.label_id ?? "none"}>
                <td>{r.label_name}</td>
                <td>{percent(r.est_precision)}</td>
                <td>{r.record_coverage.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="small muted" data-testid="heuristic-status">
          {statusText(stats[0]?.status ?? (heuristic.last_run ? "no_hits" : "never_run"))}
          {stats[0]?.status === "last_run_failed" && stats[0].last_run_error ? `: ${stats[0].last_run_error}` : ""}
        </p>
      )}
      {rows.length > 0 && stats[0]?.status === "last_run_failed" ? (
        <p className="small form-error" data-testid="heuristic-status">
          {statusText("last_run_failed")}: the figures are of its earlier results
        </p>
      ) : null}
    </article>
  );
}

/** What a heuristic's statistics status means for its card (every heuristic is listed, with or without figures). */
function statusText(status: string): string {
  switch (status) {
    case "no_hits":
      return "0 hits: its results label no record.";
    case "never_run":
      return "Never run.";
    case "running":
      return "Running…";
    case "last_run_failed":
      return "Its last run failed";
    case "no_results":
      return "No results posted yet.";
    default:
      return "No statistics yet.";
  }
}

function LastWeakSupervision({ pid, taskId, heuristics }: { pid: string; taskId: string; heuristics: Heuristic[] }) {
  const run = useLatestWeakSupervision(pid, taskId);
  const members = useMembers(pid);
  if (run.isPending) return null;
  if (run.isError) return <ErrorBox error={run.error} what="the last weak-supervision run" />;
  if (!run.data) return <p className="small muted">Weak supervision has not run for this task yet.</p>;
  return <WsPanel run={run.data} heuristics={heuristics} members={members.data ?? []} />;
}

function number(value: unknown): string {
  return typeof value === "number" ? value.toLocaleString() : "—";
}

function WsPanel({ run, heuristics, members }: { run: WsRun; heuristics: Heuristic[]; members: { id: string; display_name: string; email: string }[] }) {
  const ids = Array.isArray(run.options.heuristic_ids) ? run.options.heuristic_ids.filter((x): x is string => typeof x === "string") : [];
  const names = ids.map((id) => heuristics.find((h) => h.id === id)?.name ?? "(deleted)");
  const who = members.find((m) => m.id === run.created_by);
  return (
    <section className="card" aria-labelledby="ws-title" style={{ marginBottom: "1rem" }}>
      <h2 id="ws-title">Last weak supervision</h2>
      <dl className="stats" aria-label="Last weak-supervision run">
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge state={run.state} />
          </dd>
        </div>
        <div>
          <dt>Heuristics</dt>
          <dd title={names.join(", ")}>{ids.length}</dd>
        </div>
        <div>
          <dt>Records</dt>
          <dd>{number(run.summary.records)}</dd>
        </div>
        <div>
          <dt>Labels created</dt>
          <dd data-testid="ws-labels-written">{number(run.summary.labels_written)}</dd>
        </div>
        <div>
          <dt>Accuracy (cross-validated)</dt>
          <dd data-testid="ws-accuracy" title={run.quality ? qualityHeadline(run.quality) : undefined}>
            {run.quality?.available ? `${pct(run.quality.accuracy)} on ${run.quality.manual_labels} labels` : "—"}
          </dd>
        </div>
        <div>
          <dt>By</dt>
          <dd>{who ? who.display_name || who.email : "—"}</dd>
        </div>
        <div>
          <dt>When</dt>
          <dd>{new Date(run.finished_at ?? run.created_at).toLocaleString()}</dd>
        </div>
      </dl>
      {names.length > 0 && <p className="small muted">Heuristics: {names.join(", ")}</p>}
      {run.error && (
        <p role="alert" className="form-error">
          {run.error}
        </p>
      )}
    </section>
  );
}

function NewHeuristicDialog({ pid, type, task, tasks, onClose }: { pid: string; type: HeuristicType; task: Task; tasks: Task[]; onClose: () => void }) {
  const create = useCreateHeuristic(pid);
  const attributes = useAttributes(pid);
  const lists = useLookupLists(pid);
  const navigate = useNavigate();
  const [taskId, setTaskId] = useState(task.id);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [template, setTemplate] = useState("");
  const [labelName, setLabelName] = useState("");
  const chosen = tasks.find((t) => t.id === taskId) ?? task;
  const isLf = type === "LABELING_FUNCTION";

  function submit(event: React.FormEvent) {
    event.preventDefault();
    const attribute = attributes.data?.find((a) => a.id === chosen.attribute_id)?.name ?? attributes.data?.find((a) => a.data_type === "TEXT")?.name ?? "text";
    const label = chosen.labels.find((l) => l.name === labelName)?.name ?? chosen.labels[0]?.name ?? "label";
    const tpl = TEMPLATES.find((t) => t.id === template);
    const source_code = isLf ? (tpl?.code({ label, attribute, listName: lists.data?.[0]?.python_name ?? "" }) ?? `def lf(record):\n    return None\n`) : "";
    create.mutate(
      { labeling_task_id: chosen.id, name: pythonIdentifier(name), description, source_code, type },
      { onSuccess: (h) => navigate(`/projects/${pid}/heuristics/${h.id}`) },
    );
  }

  return (
    <Dialog title={isLf ? "New labeling function" : "New active learner"} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span>Labeling task</span>
          <select value={taskId} onChange={(e) => setTaskId(e.target.value)}>
            {tasks.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{isLf ? "Function name" : "Class name"}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} className="mono" />
          {name && pythonIdentifier(name) !== name && <span className="small muted">saved as {pythonIdentifier(name)}</span>}
        </label>
        <label className="field">
          <span>Description</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10000} />
        </label>
        {isLf && (
          <label className="field">
            <span>Template</span>
            <select value={template} onChange={(e) => setTemplate(e.target.value)}>
              <option value="">Empty function</option>
              {TEMPLATES.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.title}
                </option>
              ))}
            </select>
          </label>
        )}
        {isLf && template && (
          <label className="field">
            <span>Label the template returns</span>
            <select value={labelName} onChange={(e) => setLabelName(e.target.value)}>
              {chosen.labels.map((l) => (
                <option key={l.id} value={l.name}>
                  {l.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {create.isError && (
          <p role="alert" className="form-error">
            {problemMessage(create.error)}
          </p>
        )}
        <div className="row end">
          <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>
            Create
          </button>
        </div>
      </form>
    </Dialog>
  );
}
