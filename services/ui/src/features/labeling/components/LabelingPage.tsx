import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { useMe, type User } from "../../auth/api/auth";
import {
  prefetchRecords,
  useAddSpan,
  useAttributes,
  useGoldStar,
  useRecordLabels,
  useRecordTokens,
  useRemoveLabel,
  useSetClassification,
  useTasks,
  type Label,
  type LabelRow,
  type Task,
} from "../api/labeling";
import { useDefaultSession, useServerSession, useSyncPosition } from "../api/sessions";
import { isTypingTarget, labelForKey } from "../hotkeys";
import { cycle } from "../labelSearch";
import { useLabelingSettings } from "../hooks/useLabelingSettings";
import { charRange, extendRange, moveRange, type TokenRange } from "../tokens";
import { LabelPicker } from "./LabelPicker";
import { RecordComments } from "./RecordComments";
import { RecordHistory } from "../../team/components/RecordHistory";
import { SessionMenu } from "./SessionMenu";
import { SpanText, type DrawnSpan } from "./SpanText";

const EXTRACTION = "INFORMATION_EXTRACTION";
const NONE: ReadonlySet<string> = new Set();
const MULTI = "MULTILABEL_CLASSIFICATION";

/** What Ctrl/⌘+Z takes back: a classification (its previous labels) or an added span. */
type UndoEntry =
  | { kind: "classification"; recordId: number; task: Task; previous: string[] }
  | { kind: "span"; recordId: number; rowId: string; label: string };

interface Selection {
  attribute: string;
  range: TokenRange;
}

function display(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/**
 * The labeling suite over a session: the default one (every record in id order, `/labeling`) or a server-side one
 * (`/labeling/:sessionId`, from a data-browser result, a slice or a heuristic); the position is `?pos=` in the URL.
 */
export default function LabelingPage() {
  const me = useMe();
  if (!me.data) return <Loading what="your session" />;
  return <Labeling user={me.data} />;
}

function Labeling({ user }: { user: User }) {
  const { projectId = "", sessionId } = useParams();
  const [search, setSearch] = useSearchParams();
  const client = useQueryClient();
  const defaultSession = useDefaultSession(projectId, sessionId === undefined);
  const serverSession = useServerSession(projectId, sessionId);
  const session = sessionId === undefined ? defaultSession : serverSession;
  const posParam = search.get("pos");
  const pos = Math.max(0, (posParam === null ? session.session?.position : Number.parseInt(posParam, 10)) || 0);
  const base = sessionId === undefined ? `/projects/${projectId}/labeling` : `/projects/${projectId}/labeling/${sessionId}`;
  const tasks = useTasks(projectId);
  const attributes = useAttributes(projectId);
  const [settings, updateSettings] = useLabelingSettings(user.id);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [showHelp, setShowHelp] = useState(false);
  // Where a keyboard selection starts (Shift+→): after the last labeled span, else the first token.
  const [caret, setCaret] = useState(0);
  // The span focused with Tab / Shift+Tab (Backspace removes it when it is the user's).
  const [focusedSpan, setFocusedSpan] = useState<string | null>(null);

  const records = session.records;
  const total = session.total;
  const record = records[pos] ?? undefined;
  const deleted = records[pos] === null;
  useSyncPosition(projectId, session.session, user.id, pos);
  const taskList = useMemo(() => tasks.data ?? [], [tasks.data]);
  const hasExtraction = taskList.some((t) => t.task_type === EXTRACTION);
  const labels = useRecordLabels(projectId, record?.id);
  const tokens = useRecordTokens(projectId, record?.id, hasExtraction);
  const setClassification = useSetClassification(projectId, user.id);
  const addSpan = useAddSpan(projectId, user.id);
  const removeLabel = useRemoveLabel(projectId);
  const goldStar = useGoldStar(projectId);
  const undoStack = useRef<UndoEntry[]>([]);

  // Load session pages until the current record and the two after it are known.
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = session;
  useEffect(() => {
    if (records.length <= pos + 2 && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [records.length, pos, hasNextPage, isFetchingNextPage, fetchNextPage]);

  // Prefetch the next two records' labels (and tokens).
  const nextIds = useMemo(() => records.slice(pos + 1, pos + 3).flatMap((r) => (r ? [r.id] : [])), [records, pos]);
  useEffect(() => {
    prefetchRecords(client, projectId, nextIds, hasExtraction);
  }, [client, projectId, nextIds, hasExtraction]);

  // A mark for measurements: the record's text is painted.
  useLayoutEffect(() => {
    if (!record) return;
    const id = requestAnimationFrame(() => performance.mark("record:painted", { detail: { recordId: record.id } }));
    return () => cancelAnimationFrame(id);
  }, [record]);

  const go = useCallback(
    (delta: number) => {
      const next = Math.max(0, Math.min(Math.max(total - 1, 0), pos + delta));
      if (next === pos) return;
      setSelection(null);
      setCaret(0);
      setFocusedSpan(null);
      setSearch({ pos: String(next) }, { replace: true });
    },
    [pos, total, setSearch],
  );

  const allRows = labels.data ?? [];
  const hidden = settings.hiddenSources;
  const rows = useMemo(() => allRows.filter((r) => !hidden.includes(r.source_type)), [allRows, hidden]);
  const mine = useCallback(
    (taskId: string) => allRows.filter((r) => r.labeling_task_id === taskId && r.source_type === "MANUAL" && r.created_by === user.id),
    [allRows, user.id],
  );

  const classify = useCallback(
    (task: Task, label: Label) => {
      if (!record) return;
      const current = mine(task.id).map((r) => r.label_id);
      let next: string[];
      if (task.task_type === MULTI) next = current.includes(label.id) ? current.filter((id) => id !== label.id) : [...current, label.id];
      else next = current.length === 1 && current[0] === label.id ? [] : [label.id];
      undoStack.current.push({ kind: "classification", recordId: record.id, task, previous: current });
      setClassification.mutate({ recordId: record.id, taskId: task.id, labelIds: next });
      if (settings.autoNext && next.length > 0 && task.task_type !== MULTI) go(1);
    },
    [record, mine, setClassification, settings.autoNext, go],
  );

  const labelSpan = useCallback(
    (task: Task, label: Label) => {
      if (!record || !selection) return;
      const recordId = record.id;
      addSpan.mutate(
        { recordId, taskId: task.id, labelId: label.id, tokenStart: selection.range.tokenStart, tokenEnd: selection.range.tokenEnd },
        { onSuccess: (span) => span.created && undoStack.current.push({ kind: "span", recordId, rowId: span.id, label: label.name }) },
      );
      setCaret(selection.range.tokenEnd);
      setSelection(null);
    },
    [record, selection, addSpan],
  );

  const classificationTasks = taskList.filter((t) => t.task_type !== EXTRACTION);
  const extractionTasksOf = useCallback(
    (attribute: string) => taskList.filter((t) => t.task_type === EXTRACTION && t.attribute === attribute),
    [taskList],
  );

  const undo = useCallback(() => {
    const entry = undoStack.current.pop();
    if (!entry) {
      toast.info("Nothing to undo");
      return;
    }
    if (entry.kind === "classification") {
      setClassification.mutate({ recordId: entry.recordId, taskId: entry.task.id, labelIds: entry.previous });
      toast.info(`Undid the ${entry.task.name} label`);
    } else {
      removeLabel.mutate({ recordId: entry.recordId, rowId: entry.rowId });
      toast.info(`Undid the ${entry.label} span`);
    }
  }, [setClassification, removeLabel]);

  /** Enter: accept the weak-supervision labels of the tasks the user has not labeled on this record. */
  const acceptSuggestions = useCallback(() => {
    if (!record) return;
    let accepted = 0;
    for (const task of taskList) {
      if (task.task_type === EXTRACTION || mine(task.id).length > 0) continue;
      const suggested = allRows.filter((r) => r.labeling_task_id === task.id && r.source_type === "WEAK_SUPERVISION").map((r) => r.label_id);
      if (suggested.length === 0) continue;
      const labelIds = task.task_type === MULTI ? [...new Set(suggested)] : suggested.slice(0, 1);
      undoStack.current.push({ kind: "classification", recordId: record.id, task, previous: [] });
      setClassification.mutate({ recordId: record.id, taskId: task.id, labelIds });
      accepted += 1;
    }
    if (accepted === 0) toast.info("No weak-supervision label to accept on this record");
    else if (settings.autoNext) go(1);
  }, [record, taskList, mine, allRows, setClassification, settings.autoNext, go]);

  const spanAttributes = useMemo(
    () => [...new Set(taskList.filter((t) => t.task_type === EXTRACTION && t.attribute).map((t) => t.attribute ?? ""))],
    [taskList],
  );

  const labelById = useMemo(() => new Map(taskList.flatMap((t) => t.labels.map((l) => [l.id, l] as const))), [taskList]);
  const taskById = useMemo(() => new Map(taskList.map((t) => [t.id, t] as const)), [taskList]);
  const visible = (attributes.data ?? []).filter((a) => a.visibility !== "HIDE" && a.visibility !== "HIDE_ON_LABELING_PAGE");
  const shownNames = visible.length > 0 ? visible.map((a) => a.name) : Object.keys(record?.data ?? {});
  const shownKey = shownNames.join("\u0000");
  // The spans drawn per attribute, and all of them in reading order (what Tab cycles through).
  const drawnSpans = useMemo(() => {
    const byAttribute = new Map<string, DrawnSpan[]>();
    for (const name of shownKey.split("\u0000")) {
      const doc = tokens.data?.[name];
      const spanTasks = extractionTasksOf(name);
      if (doc && spanTasks.length > 0) byAttribute.set(name, spansOf(rows, spanTasks, doc, labelById));
    }
    const ordered = [...byAttribute.values()].flatMap((list) => [...list].sort((a, b) => a.charStart - b.charStart || a.charEnd - b.charEnd));
    return { byAttribute, ordered };
  }, [shownKey, tokens.data, extractionTasksOf, rows, labelById]);

  // The keyboard model: ←/→ records, label hotkeys, Shift+←/→ extend a selection, Esc clears, ? shows the keys.
  // One listener for the page's life; it calls the handler of the latest commit (set before the browser paints), so a
  // key pressed right after a record appears acts on that record, never on the one before.
  const keyHandler = useRef<(event: KeyboardEvent) => void>(() => undefined);
  useEffect(() => {
    const listener = (event: KeyboardEvent) => keyHandler.current(event);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
  useLayoutEffect(() => {
    keyHandler.current = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target)) return;
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z" && !event.shiftKey) {
        event.preventDefault();
        undo();
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "Enter" && !selection && !(event.target instanceof HTMLButtonElement)) {
        event.preventDefault();
        acceptSuggestions();
        return;
      }
      if (event.key === "?") {
        setShowHelp((v) => !v);
        return;
      }
      if (event.key === "Escape") {
        setSelection(null);
        setShowHelp(false);
        setFocusedSpan(null);
        return;
      }
      const onPage = event.target === document.body || (event.target instanceof Element && event.target.closest("[aria-label=Record]") !== null);
      if (event.key === "Tab" && onPage && drawnSpans.ordered.length > 0) {
        event.preventDefault();
        const at = drawnSpans.ordered.findIndex((s) => s.id === focusedSpan);
        const next = cycle(at === -1 ? null : at, drawnSpans.ordered.length, event.shiftKey ? -1 : 1);
        setSelection(null);
        setFocusedSpan(next === null ? null : (drawnSpans.ordered[next]?.id ?? null));
        return;
      }
      if ((event.key === "Backspace" || event.key === "Delete") && focusedSpan && record) {
        event.preventDefault();
        const row = allRows.find((r) => r.id === focusedSpan);
        if (row && row.source_type === "MANUAL" && row.created_by === user.id && !row.id.startsWith("optimistic-")) {
          removeLabel.mutate({ recordId: record.id, rowId: row.id });
          const at = drawnSpans.ordered.findIndex((s) => s.id === focusedSpan);
          const after = drawnSpans.ordered.filter((s) => s.id !== focusedSpan);
          setFocusedSpan(after.length > 0 ? (after[Math.min(at, after.length - 1)]?.id ?? null) : null);
        } else toast.info("Only your own manual spans can be removed");
        return;
      }
      const arrow = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (arrow !== 0 && (event.shiftKey || selection)) {
        // With a selection, ←/→ move it and Shift+←/→ change its end; Shift+→ without one starts it at the caret.
        event.preventDefault();
        const attribute = selection?.attribute ?? spanAttributes[0];
        const doc = attribute ? tokens.data?.[attribute] : undefined;
        if (!attribute || !doc) return;
        if (!selection) {
          const start = Math.min(caret, doc.tokens.length - 1);
          const range = charRange(doc.tokens, start, start + 1);
          if (range && arrow === 1) setSelection({ attribute, range });
          return;
        }
        const range = event.shiftKey ? extendRange(doc.tokens, selection.range, arrow) : moveRange(doc.tokens, selection.range, arrow);
        setSelection({ attribute, range });
        return;
      }
      if (event.key === "ArrowRight") {
        event.preventDefault();
        go(1);
        return;
      }
      if (event.key === "ArrowLeft") {
        event.preventDefault();
        go(-1);
        return;
      }
      if (selection) {
        const candidates = extractionTasksOf(selection.attribute).flatMap((t) => t.labels.map((l) => ({ ...l, task: t, taskId: t.id })));
        const hit = labelForKey(event.key, candidates);
        if (hit) {
          event.preventDefault();
          labelSpan(hit.task, hit);
        }
        return;
      }
      const candidates = classificationTasks.flatMap((t) => t.labels.map((l) => ({ ...l, task: t, taskId: t.id })));
      const hit = labelForKey(event.key, candidates);
      if (hit) {
        event.preventDefault();
        classify(hit.task, hit);
      }
    };
  });

  if (session.error) return <ErrorBox error={session.error} what={sessionId ? "the labeling session" : "the records"} />;
  if (tasks.isError) return <ErrorBox error={tasks.error} what="the labeling tasks" />;
  if (session.isPending || tasks.isPending) return <Loading what="the labeling session" />;
  if (total === 0 && sessionId !== undefined)
    return (
      <main className="page">
        <h1>Labeling</h1>
        <p>
          The session {session.title} has no records. <Link to={`/projects/${projectId}/labeling`}>Label all records instead.</Link>
        </p>
      </main>
    );
  if (total === 0)
    return (
      <main className="page">
        <h1>Labeling</h1>
        <p>
          The project has no records yet. <Link to={`/projects/${projectId}/settings`}>Upload some in the settings.</Link>
        </p>
      </main>
    );

  const focused = focusedSpan ? drawnSpans.ordered.find((s) => s.id === focusedSpan) : undefined;
  const focusedIndex = focused ? drawnSpans.ordered.indexOf(focused) : -1;

  return (
    <main className="page labeling" aria-labelledby="labeling-title">
      <header className="page-head">
        <h1 id="labeling-title">Labeling</h1>
        <div className="row">
          <button type="button" onClick={() => go(-1)} disabled={pos === 0} aria-keyshortcuts="ArrowLeft">
            ← <span>Previous record</span>
          </button>
          <span className="muted" aria-live="polite" data-testid="position">
            {pos + 1} / {total}
            <span className="small"> in {session.title}</span>
          </span>
          <button type="button" onClick={() => go(1)} disabled={pos >= total - 1} aria-keyshortcuts="ArrowRight">
            <span>Next record</span> →
          </button>
          <SessionMenu projectId={projectId} current={session.session} />
          <button type="button" className="ghost" aria-label="Keyboard shortcuts" aria-keyshortcuts="?" onClick={() => setShowHelp((v) => !v)}>
            ?
          </button>
        </div>
      </header>

      {showHelp && <KeyHelp onClose={() => setShowHelp(false)} />}

      {deleted ? (
        <p role="alert" className="error-box">
          The record at position {pos + 1} of this session was deleted since the session was made. Go on with ← or →.
        </p>
      ) : !record && !session.hasNextPage && !session.isFetching ? (
        <p role="alert" className="error-box">
          There is no record at position {pos + 1} of this session ({records.length} records).{" "}
          <Link to={`${base}?pos=0`}>Go to the first record.</Link>
        </p>
      ) : !record ? (
        <Loading what="the record" />
      ) : (
        <>
          <section className="card record" role="region" aria-label="Record" data-record-id={record.id}>
            {shownNames.map((name) => {
              const value = record.data[name];
              const doc = tokens.data?.[name];
              const spanTasks = extractionTasksOf(name);
              return (
                <div key={name} className="attribute">
                  <div className="attribute-name mono">{name}</div>
                  {spanTasks.length > 0 && doc ? (
                    <SpanText
                      doc={doc}
                      spans={drawnSpans.byAttribute.get(name) ?? []}
                      selection={selection?.attribute === name ? selection.range : null}
                      lineBreaks={settings.lineBreaks}
                      swimLanes={settings.swimLanes}
                      focusedId={focusedSpan}
                      onSelect={(range) => {
                        setFocusedSpan(null);
                        setSelection(range ? { attribute: name, range } : null);
                      }}
                    />
                  ) : (
                    <div className={`record-text${settings.lineBreaks ? " pre" : ""}`}>{display(value)}</div>
                  )}
                </div>
              );
            })}
          </section>

          {selection && (
            <section className="card label-box" aria-label="Label the selection">
              <p className="small">
                Selected: <q>{tokens.data?.[selection.attribute]?.text.slice(selection.range.charStart, selection.range.charEnd)}</q>{" "}
                <span className="muted">(←/→ move it, Shift+←/→ change its end, a label&apos;s key labels it, Esc cancels)</span>
              </p>
              {extractionTasksOf(selection.attribute).map((task) => (
                <div key={task.id} role="group" aria-label={task.name} className="row wrap">
                  <span className="muted small">{task.name}</span>
                  <LabelPicker
                    taskName={task.name}
                    labels={task.labels}
                    pressed={NONE}
                    limit={settings.labelButtons}
                    searchFirst
                    onPick={(label) => labelSpan(task, label)}
                  />
                </div>
              ))}
            </section>
          )}

          {focused && (
            <p className="card span-focus" role="status" aria-label="Focused span">
              Span {focusedIndex + 1} of {drawnSpans.ordered.length}: <strong>{focused.label}</strong>
              <span className="muted small">(Tab / Shift+Tab: next / previous; Backspace removes your own; Esc leaves)</span>
            </p>
          )}

          <section className="card" aria-label="Labeling tasks">
            {classificationTasks.length === 0 && (
              <p className="muted">
                No classification task yet. <Link to={`/projects/${projectId}/settings`}>Add one in the settings.</Link>
              </p>
            )}
            {classificationTasks.map((task) => {
              const chosen = new Set(mine(task.id).map((r) => r.label_id));
              const starred = mine(task.id).some((r) => r.is_gold_star);
              return (
                <div key={task.id} role="group" aria-label={task.name} className="task-row">
                  <div className="task-name">
                    {task.name}
                    {task.attribute && <span className="muted small"> on {task.attribute}</span>}
                    {task.task_type === MULTI && <span className="muted small"> (several labels)</span>}
                  </div>
                  <div className="row wrap">
                    <LabelPicker
                      taskName={task.name}
                      labels={task.labels}
                      pressed={chosen}
                      limit={settings.labelButtons}
                      onPick={(label) => classify(task, label)}
                    />
                    {chosen.size > 0 && (
                      <button
                        type="button"
                        className="ghost star"
                        aria-label={`Gold star for ${task.name}`}
                        aria-pressed={starred}
                        title="Make your labels of this task the gold standard for this record"
                        onClick={() => goldStar.mutate({ recordId: record.id, taskId: task.id, on: !starred })}
                      >
                        {starred ? "★" : "☆"}
                      </button>
                    )}
                  </div>
                </div>
              );
            })}
          </section>

          <LabelTable
            rows={rows}
            userId={user.id}
            tokens={tokens.data}
            labelById={labelById}
            taskById={taskById}
            onRemove={(rowId) => removeLabel.mutate({ recordId: record.id, rowId })}
            onAccept={(task, label) => classify(task, label)}
          />

          <RecordComments projectId={projectId} recordId={record.id} userId={user.id} />
          <RecordHistory projectId={projectId} recordId={record.id} />

          <section className="row wrap settings-row" aria-label="Labeling settings">
            <label className="check">
              <input type="checkbox" checked={settings.autoNext} onChange={(e) => updateSettings({ autoNext: e.target.checked })} />
              Go to the next record after a label
            </label>
            <label className="check">
              <input type="checkbox" checked={settings.lineBreaks} onChange={(e) => updateSettings({ lineBreaks: e.target.checked })} />
              Show line breaks
            </label>
            <label className="check">
              <input type="checkbox" checked={settings.swimLanes} onChange={(e) => updateSettings({ swimLanes: e.target.checked })} />
              One lane per kind of span
            </label>
            <label className="check">
              Label buttons shown
              <input
                type="number"
                min={1}
                max={50}
                className="narrow"
                value={settings.labelButtons}
                onChange={(e) => updateSettings({ labelButtons: Math.max(1, Math.min(50, Number(e.target.value) || 1)) })}
              />
            </label>
            <span className="muted small">Show labels from:</span>
            {(["MANUAL", "WEAK_SUPERVISION", "INFORMATION_SOURCE"] as const).map((source) => (
              <label key={source} className="check">
                <input
                  type="checkbox"
                  checked={!hidden.includes(source)}
                  onChange={(e) =>
                    updateSettings({ hiddenSources: e.target.checked ? hidden.filter((h) => h !== source) : [...hidden, source] })
                  }
                />
                {SOURCE_NAMES[source]}
              </label>
            ))}
          </section>
        </>
      )}
    </main>
  );
}

function spansOf(rows: LabelRow[], spanTasks: Task[], doc: { tokens: import("../tokens").Token[] }, labelById: Map<string, Label>): DrawnSpan[] {
  const taskIds = new Set(spanTasks.map((t) => t.id));
  const taskNames = new Map(spanTasks.map((t) => [t.id, t.name] as const));
  const out: DrawnSpan[] = [];
  for (const row of rows) {
    if (!taskIds.has(row.labeling_task_id) || row.token_start == null || row.token_end == null) continue;
    const range = charRange(doc.tokens, row.token_start, row.token_end);
    if (!range) continue;
    const label = labelById.get(row.label_id);
    out.push({
      id: row.id,
      charStart: range.charStart,
      charEnd: range.charEnd,
      color: label?.color ?? "#6b7280",
      label: `${label?.name ?? "?"} (${row.source_type.toLowerCase().replace("_", " ")})`,
      manual: row.source_type === "MANUAL",
      lane: `${SOURCE_RANK[row.source_type] ?? 9}|${taskNames.get(row.labeling_task_id) ?? ""}|${label?.name ?? ""}`,
    });
  }
  return out;
}

const SOURCE_RANK: Record<string, number> = { MANUAL: 0, WEAK_SUPERVISION: 1, INFORMATION_SOURCE: 2, MODEL_CALLBACK: 3 };

const SOURCE_NAMES: Record<string, string> = {
  MANUAL: "Manual",
  WEAK_SUPERVISION: "Weak supervision",
  INFORMATION_SOURCE: "Heuristic",
  MODEL_CALLBACK: "Model callback",
};

function LabelTable({
  rows,
  userId,
  tokens,
  labelById,
  taskById,
  onRemove,
  onAccept,
}: {
  rows: LabelRow[];
  userId: string;
  tokens: Record<string, import("../tokens").TokenizedText> | undefined;
  labelById: Map<string, Label>;
  taskById: Map<string, Task>;
  onRemove: (rowId: string) => void;
  onAccept: (task: Task, label: Label) => void;
}) {
  if (rows.length === 0) return <p className="muted small">No labels on this record yet.</p>;
  return (
    <table className="table" aria-label="Labels on this record">
      <thead>
        <tr>
          <th scope="col">Source</th>
          <th scope="col">Task</th>
          <th scope="col">Label</th>
          <th scope="col">Span</th>
          <th scope="col">Confidence</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => {
          const task = taskById.get(row.labeling_task_id);
          const label = labelById.get(row.label_id);
          const doc = task?.attribute ? tokens?.[task.attribute] : undefined;
          const range = doc && row.token_start != null && row.token_end != null ? charRange(doc.tokens, row.token_start, row.token_end) : null;
          const spanText = range && doc ? doc.text.slice(range.charStart, range.charEnd) : "";
          const own = row.source_type === "MANUAL" && row.created_by === userId;
          return (
            <tr key={row.id}>
              <td>
                {SOURCE_NAMES[row.source_type] ?? row.source_type}
                {row.is_gold_star && <span aria-label="gold star"> ★</span>}
              </td>
              <td>{task?.name ?? "?"}</td>
              <td>
                <span className="chip" style={{ "--label-color": label?.color ?? "#6b7280" } as React.CSSProperties}>
                  {label?.name ?? "?"}
                </span>
              </td>
              <td>{spanText && <q>{spanText}</q>}</td>
              <td>{row.confidence != null && row.source_type !== "MANUAL" ? `${Math.round(row.confidence * 100)} %` : ""}</td>
              <td>
                {own && !row.id.startsWith("optimistic-") && (
                  <button
                    type="button"
                    className="ghost small"
                    aria-label={`Remove label ${label?.name ?? ""}${spanText ? ` on ${spanText}` : ""}`}
                    onKeyDown={(e) => (e.key === "Backspace" || e.key === "Delete") && onRemove(row.id)}
                    onClick={() => onRemove(row.id)}
                  >
                    Remove
                  </button>
                )}
                {row.source_type === "WEAK_SUPERVISION" && task && label && task.task_type !== EXTRACTION && (
                  <button type="button" className="ghost small" aria-label={`Accept ${label.name}`} onClick={() => onAccept(task, label)}>
                    Accept
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function KeyHelp({ onClose }: { onClose: () => void }) {
  return (
    <section className="card help" aria-label="Keyboard shortcuts">
      <div className="row between">
        <h2>Keyboard</h2>
        <button type="button" className="ghost" aria-label="Close keyboard shortcuts" onClick={onClose}>
          ×
        </button>
      </div>
      <dl className="keys">
        <dt>
          <kbd>←</kbd> <kbd>→</kbd>
        </dt>
        <dd>previous / next record</dd>
        <dt>label hotkey</dt>
        <dd>set (or unset) that label; with a text selection, label the selection</dd>
        <dt>
          <kbd>Shift</kbd>+<kbd>←</kbd>/<kbd>→</kbd>
        </dt>
        <dd>start a text selection (on a span-labeling task), then shrink / grow it by a token; ←/→ move it</dd>
        <dt>
          <kbd>Esc</kbd>
        </dt>
        <dd>cancel the selection, close this help</dd>
        <dt>
          <kbd>Tab</kbd>
        </dt>
        <dd>
          on the record: focus the next span (<kbd>Shift</kbd>+<kbd>Tab</kbd> the previous); <kbd>Backspace</kbd> removes the
          focused span (or, on a label&apos;s Remove button, that label)
        </dd>
        <dt>
          <kbd>Enter</kbd>
        </dt>
        <dd>accept the weak-supervision labels of the tasks you have not labeled</dd>
        <dt>
          <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Z</kbd>
        </dt>
        <dd>undo the last label</dd>
        <dt>
          <kbd>?</kbd>
        </dt>
        <dd>show or hide this list</dd>
      </dl>
    </section>
  );
}
