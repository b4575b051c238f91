import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { toast } from "../../../shared/toasts";
import type { Task } from "../../labeling/api/labeling";
import { ConfirmNeeded, useBulkLabel, useCreateHeuristic, useCreateSlice, useLabelingFunctionFromFilter } from "../api/browser";
import { apiFilter, type FilterGroup } from "../filter";

export function SaveSliceDialog({ pid, filter, onClose, onSaved }: { pid: string; filter: FilterGroup; onClose: () => void; onSaved: (id: string) => void }) {
  const [name, setName] = useState("");
  const [type, setType] = useState<"DYNAMIC_DEFAULT" | "STATIC_DEFAULT">("DYNAMIC_DEFAULT");
  const create = useCreateSlice(pid);
  return (
    <Dialog title="Save the filter as a slice" onClose={onClose}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(
            { name: name.trim(), type, filter },
            {
              onSuccess: (slice) => {
                toast.success(`Slice ${slice.name} saved (${slice.count ?? 0} records)`);
                onSaved(slice.id);
              },
            },
          );
        }}
      >
        <label className="field">
          <span>Name</span>
          <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset>
          <legend>Kind</legend>
          <label className="check">
            <input type="radio" name="slice-type" checked={type === "DYNAMIC_DEFAULT"} onChange={() => setType("DYNAMIC_DEFAULT")} />
            Dynamic: the filter, evaluated when used
          </label>
          <label className="check">
            <input type="radio" name="slice-type" checked={type === "STATIC_DEFAULT"} onChange={() => setType("STATIC_DEFAULT")} />
            Static: the records it selects now
          </label>
        </fieldset>
        {create.isError ? <p className="form-error" role="alert">{problemMessage(create.error)}</p> : null}
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>
            Save slice
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Label the selection (record by record) or every result (the bulk route, with a confirmation over 1,000 records). */
export function BulkLabelDialog({
  pid,
  tasks,
  filter,
  selection,
  total,
  onClose,
}: {
  pid: string;
  tasks: Task[];
  /** The result's filter (null: every record); undefined when the result is not a filter's (similar records). */
  filter: FilterGroup | null | undefined;
  selection: number[];
  total: number | null;
  onClose: () => void;
}) {
  const classification = tasks.filter((t) => t.task_type !== "INFORMATION_EXTRACTION");
  const [taskId, setTaskId] = useState(classification[0]?.id ?? "");
  const [labelId, setLabelId] = useState("");
  const [scope, setScope] = useState<"selection" | "all">(selection.length ? "selection" : "all");
  const [confirm, setConfirm] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const bulk = useBulkLabel(pid);
  const task = classification.find((t) => t.id === taskId);
  const chosen = labelId || task?.labels[0]?.id || "";
  const run = async () => {
    setError(null);
    if (scope === "selection" || filter === undefined) {
      setBusy(true);
      try {
        for (const recordId of selection) {
          await unwrap(
            api.PUT("/api/v1/projects/{project_id}/records/{record_id}/labeling-tasks/{task_id}/classification", {
              params: { path: { project_id: pid, record_id: recordId, task_id: taskId } },
              body: { label_ids: [chosen] },
            }),
          );
        }
        toast.success(`Labeled ${selection.length} records`);
        onClose();
      } catch (e) {
        setError(problemMessage(e));
      } finally {
        setBusy(false);
      }
      return;
    }
    bulk.mutate(
      { filter: filter ?? null, taskId, labelIds: [chosen], confirmCount: confirm },
      {
        onSuccess: (out) => {
          toast.success(`Labeled ${out.records.toLocaleString()} records`);
          onClose();
        },
        onError: (e) => {
          if (e instanceof ConfirmNeeded) setConfirm(e.affected);
          else setError(problemMessage(e));
        },
      },
    );
  };
  return (
    <Dialog title="Label records" onClose={onClose}>
      <div className="stack">
        {classification.length === 0 ? <p>The project has no classification task.</p> : null}
        <label className="field">
          <span>Task</span>
          <select value={taskId} onChange={(e) => (setTaskId(e.target.value), setLabelId(""), setConfirm(null))}>
            {classification.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Label</span>
          <select value={chosen} onChange={(e) => setLabelId(e.target.value)}>
            {task?.labels.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Records</legend>
          <label className="check">
            <input type="radio" name="bulk-scope" disabled={!selection.length} checked={scope === "selection"} onChange={() => setScope("selection")} />
            The selection ({selection.length})
          </label>
          <label className="check">
            <input type="radio" name="bulk-scope" disabled={filter === undefined} checked={scope === "all"} onChange={() => (setScope("all"), setConfirm(null))} />
            All results ({total?.toLocaleString() ?? "?"})
          </label>
        </fieldset>
        {confirm !== null ? (
          <p role="alert" className="notice">
            This labels <strong>{confirm.toLocaleString()}</strong> records. Press “Label {confirm.toLocaleString()} records” to confirm.
          </p>
        ) : null}
        {error ? <p className="form-error" role="alert">{error}</p> : null}
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={!chosen || busy || bulk.isPending} onClick={() => void run()}>
            {confirm !== null ? `Label ${confirm.toLocaleString()} records` : "Label"}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** Turn the attribute filter into a labeling function's source and save it as a heuristic. */
export function LabelingFunctionDialog({ pid, tasks, filter, onClose }: { pid: string; tasks: Task[]; filter: FilterGroup; onClose: () => void }) {
  const [taskId, setTaskId] = useState(tasks[0]?.id ?? "");
  const task = tasks.find((t) => t.id === taskId);
  const [label, setLabel] = useState("");
  const chosen = label || task?.labels[0]?.name || "";
  const make = useLabelingFunctionFromFilter(pid);
  const create = useCreateHeuristic(pid);
  const [createdId, setCreatedId] = useState<string | null>(null);
  return (
    <Dialog title="Labeling function from this filter" onClose={onClose}>
      <div className="stack">
        <label className="field">
          <span>Task</span>
          <select value={taskId} onChange={(e) => (setTaskId(e.target.value), setLabel(""), make.reset())}>
            {tasks.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Label it votes</span>
          <select value={chosen} onChange={(e) => (setLabel(e.target.value), make.reset())}>
            {task?.labels.map((l) => (
              <option key={l.id} value={l.name}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
        <button type="button" disabled={!chosen || make.isPending} onClick={() => make.mutate({ filter: apiFilter(filter) ?? filter, label: chosen })}>
          Write the function
        </button>
        {make.isError ? <p className="form-error" role="alert">{problemMessage(make.error)}</p> : null}
        {make.data ? (
          <pre className="mono small" aria-label="Labeling function source" style={{ maxHeight: 240, overflow: "auto" }}>
            {make.data.source_code}
          </pre>
        ) : null}
        {create.isError ? <p className="form-error" role="alert">{problemMessage(create.error)}</p> : null}
        {createdId ? (
          <p role="status">
            Saved. <Link to={`/projects/${pid}/heuristics`}>Open the heuristics</Link>
          </p>
        ) : null}
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            Close
          </button>
          <button
            type="button"
            className="primary"
            disabled={!make.data || create.isPending || createdId !== null}
            onClick={() =>
              make.data &&
              create.mutate(
                {
                  name: `lf_${chosen}_${Date.now().toString(36)}`.replace(/\W+/g, "_"),
                  description: "Made from a data browser filter",
                  labeling_task_id: taskId,
                  source_code: make.data.source_code,
                  type: "LABELING_FUNCTION",
                },
                { onSuccess: (h) => (setCreatedId(h.id), toast.success(`Labeling function ${h.name} saved`)) },
              )
            }
          >
            Save as heuristic
          </button>
        </div>
      </div>
    </Dialog>
  );
}
