import { useState } from "react";
import { problemFrom, problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { toast } from "../../../shared/toasts";
import type { Attribute, Task } from "../../labeling/api/labeling";
import type { Heuristic, Slice } from "../api/browser";
import { sliceFilter, type FilterGroup } from "../filter";

type Rows = "all" | "slice" | "result";
type Format = "json" | "jsonl" | "csv" | "xlsx";
const SOURCES = ["MANUAL", "WEAK_SUPERVISION"] as const;

export interface ExportRequest {
  format: Format;
  filter: FilterGroup | null;
  attributes: string[] | null;
  task_ids: string[] | null;
  sources: (typeof SOURCES)[number][] | null;
  heuristic_ids: string[] | null;
}

/** The POST /export body of the dialog's choices: everything chosen is sent as null (no restriction). */
export function exportRequest(args: {
  format: Format;
  rows: Rows;
  filter: FilterGroup | null;
  sliceId: string | null;
  attributes: string[];
  allAttributes: string[];
  tasks: string[];
  allTasks: string[];
  sources: string[];
  heuristics?: string[];
}): ExportRequest {
  const filter =
    args.rows === "result"
      ? args.filter
      : args.rows === "slice" && args.sliceId
        ? sliceFilter(args.sliceId)
        : null;
  const every = (chosen: string[], all: string[]) => all.every((x) => chosen.includes(x));
  const sources = SOURCES.filter((s) => args.sources.includes(s));
  return {
    format: args.format,
    filter,
    attributes: every(args.attributes, args.allAttributes) ? null : args.attributes,
    task_ids: every(args.tasks, args.allTasks) ? null : args.tasks,
    sources: sources.length === SOURCES.length ? null : sources,
    // only the heuristics of exported tasks (the API refuses others); none chosen: no heuristic columns
    heuristic_ids: args.heuristics?.length ? args.heuristics : null,
  };
}

function CheckList({ legend, items, chosen, onChange }: { legend: string; items: { id: string; name: string }[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      <div className="row wrap">
        {items.map((item) => (
          <label key={item.id} className="check small">
            <input
              type="checkbox"
              checked={chosen.includes(item.id)}
              onChange={(e) => onChange(e.target.checked ? [...chosen, item.id] : chosen.filter((id) => id !== item.id))}
            />
            {item.name}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** Export all records, a slice or the current result, as JSON, JSONL, CSV or XLSX, with chosen columns; downloads it. */
export function ExportDialog({
  pid,
  filter,
  slice,
  slices,
  attributes,
  tasks,
  heuristics,
  onClose,
}: {
  pid: string;
  filter: FilterGroup | null;
  slice: Slice | null;
  slices: Slice[];
  attributes: Attribute[];
  tasks: Task[];
  heuristics: Heuristic[];
  onClose: () => void;
}) {
  const exportable = attributes.filter((a) => a.data_type !== "EMBEDDING_LIST");
  const [rows, setRows] = useState<Rows>(filter ? "result" : "all");
  const [sliceId, setSliceId] = useState(slice?.id ?? slices[0]?.id ?? "");
  const [format, setFormat] = useState<Format>("json");
  const [chosenAttributes, setAttributes] = useState(exportable.map((a) => a.name));
  const [chosenTasks, setTasks] = useState(tasks.map((t) => t.id));
  const [sources, setSources] = useState<string[]>([...SOURCES]);
  const [chosenHeuristics, setHeuristics] = useState<string[]>([]);
  const offered = heuristics.filter((h) => chosenTasks.includes(h.labeling_task_id));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const body = exportRequest({
        format,
        rows,
        filter,
        sliceId,
        attributes: chosenAttributes,
        allAttributes: exportable.map((a) => a.name),
        tasks: chosenTasks,
        allTasks: tasks.map((t) => t.id),
        sources,
        heuristics: chosenHeuristics.filter((id) => offered.some((h) => h.id === id)),
      });
      // A streamed file: fetched as a blob (openapi-fetch would parse it as JSON), then saved through a link.
      const response = await fetch(`/api/v1/projects/${encodeURIComponent(pid)}/export`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) {
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep the text
        }
        throw problemFrom(response.status, parsed);
      }
      const blob = await response.blob();
      const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? `export.${format}`;
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      toast.success(`Exported ${name}`);
      onClose();
    } catch (e) {
      setError(problemMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Export records" onClose={onClose}>
      <div className="stack">
        <fieldset>
          <legend>Rows</legend>
          <label className="check">
            <input type="radio" name="export-rows" checked={rows === "all"} onChange={() => setRows("all")} />
            All records
          </label>
          <label className="check">
            <input type="radio" name="export-rows" checked={rows === "slice"} disabled={!slices.length} onChange={() => setRows("slice")} />
            A slice
          </label>
          {rows === "slice" ? (
            <select aria-label="Slice to export" value={sliceId} onChange={(e) => setSliceId(e.target.value)}>
              {slices.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          ) : null}
          <label className="check">
            <input type="radio" name="export-rows" checked={rows === "result"} disabled={!filter} onChange={() => setRows("result")} />
            The current result
          </label>
        </fieldset>
        <fieldset>
          <legend>Format</legend>
          <div className="row">
            {(["json", "jsonl", "csv", "xlsx"] as const).map((f) => (
              <label key={f} className="check">
                <input type="radio" name="export-format" checked={format === f} onChange={() => setFormat(f)} />
                {f.toUpperCase()}
              </label>
            ))}
          </div>
        </fieldset>
        <CheckList legend="Attributes" items={exportable.map((a) => ({ id: a.name, name: a.name }))} chosen={chosenAttributes} onChange={setAttributes} />
        <CheckList legend="Tasks" items={tasks} chosen={chosenTasks} onChange={setTasks} />
        <CheckList
          legend="Label sources"
          items={[
            { id: "MANUAL", name: "manual" },
            { id: "WEAK_SUPERVISION", name: "weak supervision" },
          ]}
          chosen={sources}
          onChange={setSources}
        />
        {offered.length ? (
          <CheckList
            legend="Heuristics' votes as columns"
            items={offered.map((h) => ({ id: h.id, name: h.name }))}
            chosen={chosenHeuristics}
            onChange={setHeuristics}
          />
        ) : null}
        {error ? <p className="form-error" role="alert">{error}</p> : null}
        <div className="row end">
          <button type="button" className="ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={busy} onClick={() => void download()}>
            Download
          </button>
        </div>
      </div>
    </Dialog>
  );
}
