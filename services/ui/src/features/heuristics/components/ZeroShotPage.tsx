import { useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api, unwrap } from "../../../api/client";
import { problemMessage } from "../../../api/problem";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useAttributes, useTasks } from "../../labeling/api/labeling";
import { useMutation } from "@tanstack/react-query";
import { pickRandom, pythonIdentifier, showValue } from "../code";
import { useRecordPool, useRunHeuristics } from "../api/heuristics";
import "./heuristics.css";

interface Prediction {
  label: string | null;
  scores: { name: string; confidence: number }[];
}

/** The embedder's playground answer (typed `Any`), read defensively: each label's confidence and the chosen label. */
export function asPrediction(value: unknown): Prediction {
  const v = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const raw = v.labels ?? v.scores ?? v.confidences;
  let scores: Prediction["scores"] = [];
  if (Array.isArray(raw)) {
    scores = raw.flatMap((item) => {
      if (typeof item !== "object" || item === null) return [];
      const r = item as Record<string, unknown>;
      const name = typeof r.name === "string" ? r.name : typeof r.label === "string" ? r.label : null;
      const confidence = typeof r.confidence === "number" ? r.confidence : typeof r.score === "number" ? r.score : null;
      return name !== null && confidence !== null ? [{ name, confidence }] : [];
    });
  } else if (typeof raw === "object" && raw !== null) {
    scores = Object.entries(raw as Record<string, unknown>).flatMap(([name, c]) => (typeof c === "number" ? [{ name, confidence: c }] : []));
  }
  const label = typeof v.label === "string" ? v.label : typeof v.prediction === "string" ? v.prediction : null;
  return { label, scores: scores.sort((a, b) => b.confidence - a.confidence) };
}

/** A zero-shot heuristic: model, labels to include, confidence threshold, a free-text playground and run on 10. */
export default function ZeroShotPage() {
  const { projectId = "" } = useParams();
  const [params] = useSearchParams();
  const tasks = useTasks(projectId);
  const attributes = useAttributes(projectId);
  const pool = useRecordPool(projectId);
  const [createError, setCreateError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const run = useRunHeuristics(projectId);
  const navigate = useNavigate();
  const classification = (tasks.data ?? []).filter((t) => t.task_type !== "INFORMATION_EXTRACTION");
  const [taskId, setTaskId] = useState(params.get("task") ?? "");
  const task = classification.find((t) => t.id === taskId) ?? classification[0];
  const [model, setModel] = useState("all-MiniLM-L6-v2");
  const [excluded, setExcluded] = useState<Set<string>>(new Set());
  const [threshold, setThreshold] = useState("");
  const [text, setText] = useState("");
  const [name, setName] = useState("zero_shot");
  const textAttributes = (attributes.data ?? []).filter((a) => a.data_type === "TEXT");
  const [attribute, setAttribute] = useState("");
  const chosenAttribute = attribute || (textAttributes.find((a) => a.id === task?.attribute_id)?.name ?? textAttributes[0]?.name ?? "");
  const config = useMemo(
    () => ({
      model,
      attribute: chosenAttribute || null,
      excluded_labels: [...excluded],
      min_confidence: threshold === "" ? null : Number(threshold),
      labeling_task_id: task?.id ?? "",
    }),
    [model, chosenAttribute, excluded, threshold, task],
  );
  const playground = useMutation({
    mutationFn: async (input: string) =>
      asPrediction(await unwrap(api.POST("/api/v1/projects/{project_id}/zero-shot/playground", { params: { path: { project_id: projectId } }, body: { ...config, text: input } }))),
  });
  // the playground's answer (or error) is of the settings it was asked with: changed settings clear it
  const resetPlayground = playground.reset;
  useEffect(() => resetPlayground(), [config, resetPlayground]);
  const sample = useMutation({
    mutationFn: async (signal: AbortSignal) => {
      const records = pickRandom(pool.data?.items ?? [], 10);
      const out: { value: string; prediction: Prediction }[] = [];
      for (const r of records) {
        if (signal.aborted) break;
        const value = showValue(r.data[chosenAttribute]);
        const answer = await unwrap(
          api.POST("/api/v1/projects/{project_id}/zero-shot/playground", { params: { path: { project_id: projectId } }, body: { ...config, text: value } }),
        );
        out.push({ value, prediction: asPrediction(answer) });
      }
      return out;
    },
  });
  const [abort, setAbort] = useState<AbortController | null>(null);

  if (tasks.isPending) return <Loading what="the labeling tasks" />;
  if (tasks.isError) return <ErrorBox error={tasks.error} what="the labeling tasks" />;
  if (!task) return <p className="page">Zero-shot needs a classification task with at least two labels.</p>;

  return (
    <main className="page" aria-labelledby="zs-title">
      <p className="small">
        <Link to={`/projects/${projectId}/heuristics?task=${task.id}`}>← Back to the heuristics</Link>
      </p>
      <h1 id="zs-title">New zero-shot heuristic</h1>
      <section className="card stack spaced-top" aria-label="Zero-shot settings">
        <div className="row wrap">
          <label className="field">
            <span>Labeling task</span>
            <select value={task.id} onChange={(e) => setTaskId(e.target.value)}>
              {classification.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Input attribute</span>
            <select value={chosenAttribute} onChange={(e) => setAttribute(e.target.value)}>
              {textAttributes.map((a) => (
                <option key={a.id} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          </label>
          <label className="field grow">
            <span>Model</span>
            <input value={model} onChange={(e) => setModel(e.target.value)} className="mono" maxLength={300} />
          </label>
          <label className="field">
            <span>Required confidence (0–1, empty: default)</span>
            <input type="number" min={0} max={1} step={0.05} value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </label>
        </div>
        <fieldset className="row wrap boxed">
          <legend className="small">Labels to include</legend>
          {task.labels.map((l) => (
            <label key={l.id} className="check">
              <input
                type="checkbox"
                checked={!excluded.has(l.name)}
                onChange={() =>
                  setExcluded((s) => {
                    const next = new Set(s);
                    if (next.has(l.name)) next.delete(l.name);
                    else next.add(l.name);
                    return next;
                  })
                }
              />
              {l.name}
            </label>
          ))}
        </fieldset>
      </section>
      <section className="card stack spaced-top" aria-labelledby="zs-play-title">
        <h2 id="zs-play-title">Playground</h2>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim()) playground.mutate(text);
          }}
        >
          <label className="field grow">
            <span>Any text</span>
            <input value={text} onChange={(e) => setText(e.target.value)} placeholder="Enter any text and press Enter" maxLength={100000} />
          </label>
          <button type="submit" className="align-end" disabled={!text.trim() || playground.isPending}>
            Try
          </button>
        </form>
        {playground.isError && (
          <p role="alert" className="form-error">
            {problemMessage(playground.error)}
          </p>
        )}
        {playground.data && <PredictionView prediction={playground.data} />}
        <div className="row">
          <button
            type="button"
            disabled={sample.isPending || !pool.data}
            onClick={() => {
              const controller = new AbortController();
              setAbort(controller);
              sample.mutate(controller.signal);
            }}
          >
            {sample.isPending ? "Running on 10…" : "Run on 10"}
          </button>
          {sample.isPending && (
            <button type="button" className="danger" onClick={() => abort?.abort()}>
              Cancel
            </button>
          )}
          <span className="small muted">A model that is not downloaded yet takes a while the first time.</span>
        </div>
        {sample.isError && (
          <p role="alert" className="form-error">
            {problemMessage(sample.error)}
          </p>
        )}
        {sample.data && (
          <table className="table compact" aria-label="Sample results">
            <thead>
              <tr>
                <th scope="col">Record ({chosenAttribute})</th>
                <th scope="col">Label</th>
                <th scope="col">Confidences</th>
              </tr>
            </thead>
            <tbody>
              {sample.data.map((row, i) => (
                <tr key={i}>
                  <td>
                    <div className="h-value">{row.value}</div>
                  </td>
                  <td>{row.prediction.label ?? "—"}</td>
                  <td className="small">{row.prediction.scores.map((s) => `${s.name} ${(s.confidence * 100).toFixed(0)} %`).join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card row wrap spaced-top" aria-label="Create">
        <label className="field grow">
          <span>Heuristic name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} className="mono" maxLength={200} />
        </label>
        <button
          type="button"
          className="primary align-end"
          disabled={!name.trim() || creating}
          onClick={async () => {
            setCreating(true);
            setCreateError(null);
            try {
              const created = await unwrap(
                api.POST("/api/v1/projects/{project_id}/zero-shot/heuristics", {
                  params: { path: { project_id: projectId } },
                  body: { ...config, name: pythonIdentifier(name), description: `zero-shot with ${model}` },
                }),
              );
              const id = typeof created === "object" && created !== null && "id" in created ? String((created as { id: unknown }).id) : "";
              if (id) {
                // the run exists before the heuristic's page first asks for its last run (a failed start: the toast)
                await run.mutateAsync([{ id, type: "ZERO_SHOT" }]).catch(() => undefined);
                navigate(`/projects/${projectId}/heuristics/${id}`);
              }
            } catch (error) {
              setCreateError(problemMessage(error));
            } finally {
              setCreating(false);
            }
          }}
        >
          Create and run
        </button>
        {createError && (
          <p role="alert" className="form-error">
            {createError}
          </p>
        )}
      </section>
    </main>
  );
}

function PredictionView({ prediction }: { prediction: Prediction }) {
  return (
    <div className="stack" aria-label="Prediction">
      <p>
        Label: <strong>{prediction.label ?? "none (below the required confidence)"}</strong>
      </p>
      <table className="table compact" aria-label="Confidence per label">
        <tbody>
          {prediction.scores.map((s) => (
            <tr key={s.name}>
              <td>{s.name}</td>
              <td>
                <progress max={1} value={s.confidence} aria-label={`Confidence of ${s.name}`} /> {(s.confidence * 100).toFixed(1)} %
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
