import { Suspense, useState } from "react";
import { useParams } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { preloadable } from "../../../shared/preloadable";
import { useSlices } from "../../browser/api/browser";
import { useAttributes, useTasks } from "../../labeling/api/labeling";
import { useAgreement, useHeuristicFigures, useProgress } from "../api/metrics";
import { useConfidenceHistogram, useConfusionMatrix, useLabelDistribution } from "../api/metrics";
import styles from "../overview.module.css";
import WeakSupervisionQuality from "./WeakSupervisionQuality";
import { AgreementMatrix } from "../../team/components/AgreementMatrix";

const OverviewCharts = preloadable(() => import("./OverviewCharts"));
// The chart chunk loads with the page, not after the tasks arrived (one round trip less before the charts show), and
// the charts then render without a suspense (see preloadable).
void OverviewCharts.preload();

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

/** The project's overview: progress cards, the heuristics on the slice and the charts of a task; refreshed live. */
export default function OverviewPage() {
  const { projectId = "" } = useParams();
  const tasks = useTasks(projectId);
  const attributes = useAttributes(projectId);
  const slices = useSlices(projectId);
  const [attribute, setAttribute] = useState("");
  const [taskId, setTaskId] = useState("");
  const [sliceId, setSliceId] = useState("");
  const scope = { pid: projectId, sliceId: sliceId || null };
  const shownTasks = (tasks.data ?? []).filter((t) => (attribute === "" ? true : attribute === "-" ? t.attribute === null : t.attribute === attribute));
  const task = shownTasks.find((t) => t.id === taskId) ?? shownTasks[0];
  const progress = useProgress(scope);
  const figures = useHeuristicFigures(scope, task?.id);
  const agreement = useAgreement(scope, task?.id);
  // The charts' data is asked for here, beside the chunk's download; the charts read it from the query cache.
  useLabelDistribution(scope, task?.id);
  useConfidenceHistogram(scope, task?.id);
  useConfusionMatrix(scope, task?.id);
  const taskProgress = progress.data?.tasks.find((t) => t.labeling_task_id === task?.id);
  const targets = [...new Set((tasks.data ?? []).map((t) => t.attribute))];

  if (tasks.isError) return <ErrorBox error={tasks.error} what="the labeling tasks" />;
  if (tasks.isPending || attributes.isPending) return <Loading what="the overview" />;
  return (
    <main className="page" aria-labelledby="overview-title">
      <div className="page-head">
        <h1 id="overview-title">Overview</h1>
      </div>
      <div className={styles.filters} role="group" aria-label="Overview filters">
        <label className="field">
          <span>Target attribute</span>
          <select value={attribute} onChange={(e) => (setAttribute(e.target.value), setTaskId(""))}>
            <option value="">all</option>
            {targets.map((t) => (
              <option key={t ?? "-"} value={t ?? "-"}>
                {t ?? "full record"}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Labeling task</span>
          <select value={task?.id ?? ""} onChange={(e) => setTaskId(e.target.value)}>
            {shownTasks.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Slice</span>
          <select value={sliceId} onChange={(e) => setSliceId(e.target.value)}>
            <option value="">all records</option>
            {(slices.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
      </div>
      {progress.isError ? <ErrorBox error={progress.error} what="the progress" /> : null}
      <div className={`${styles.cards} spaced-top`}>
        <section className="card" aria-label="Records">
          <div className="muted small">Records{sliceId ? " in the slice" : ""}</div>
          <div className={styles.figure} data-testid="records-figure">
            {progress.data?.records.toLocaleString("en-US") ?? "…"}
          </div>
        </section>
        <section className="card" aria-label="Manually labeled">
          <div className="muted small">Manually labeled</div>
          <div className={styles.figure} data-testid="manual-figure">
            {taskProgress ? taskProgress.manually_labeled.toLocaleString("en-US") : "…"}
          </div>
          <div className="small muted">{taskProgress ? percent(taskProgress.manually_labeled_ratio) : ""}</div>
        </section>
        <section className="card" aria-label="Weakly supervised">
          <div className="muted small">Weakly supervised</div>
          <div className={styles.figure} data-testid="weak-figure">
            {taskProgress ? taskProgress.weakly_supervised.toLocaleString("en-US") : "…"}
          </div>
          <div className="small muted">{taskProgress ? percent(taskProgress.weakly_supervised_ratio) : ""}</div>
        </section>
        <section className="card" aria-label="Heuristics' hits">
          <div className="muted small">Heuristics' hits</div>
          <div className={styles.figure} data-testid="hits-figure">
            {figures.data ? figures.data.reduce((sum, f) => sum + f.hits, 0).toLocaleString("en-US") : "…"}
          </div>
          <div className="small muted">{figures.data ? `${figures.data.length} heuristics` : ""}</div>
        </section>
      </div>
      {task ? <WeakSupervisionQuality pid={projectId} taskId={task.id} /> : null}
      {figures.data?.length ? (
        <table className="table compact spaced-top" aria-label="Heuristics on the slice">
          <thead>
            <tr>
              <th scope="col">Heuristic</th>
              <th scope="col">Coverage</th>
              <th scope="col">Hits</th>
              <th scope="col">Overlaps</th>
              <th scope="col">Conflicts</th>
            </tr>
          </thead>
          <tbody>
            {figures.data.map((f) => (
              <tr key={f.heuristic_id}>
                <th scope="row">{f.name}</th>
                <td>{f.coverage}</td>
                <td>{f.hits}</td>
                <td>{f.overlaps}</td>
                <td>{f.conflicts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="spaced-top">
        {task ? (
          <Suspense fallback={<Loading what="the charts" />}>
            <OverviewCharts pid={projectId} sliceId={sliceId || null} task={task} />
          </Suspense>
        ) : (
          <p className="muted">The project has no labeling task{attribute ? " on this attribute" : ""}.</p>
        )}
      </div>
      {agreement.data ? (
        <p className="small muted" aria-label="Inter-annotator agreement">
          Inter-annotator agreement
          {agreement.data.overall.records > 0
            ? `: ${percent(agreement.data.overall.percent_agreement ?? 0)} on ${agreement.data.overall.records} records labeled by two or more annotators` +
              (agreement.data.overall.krippendorff_alpha != null ? `, Krippendorff's α ${agreement.data.overall.krippendorff_alpha.toFixed(2)}` : "")
            : ": no record is labeled by two or more annotators yet."}
        </p>
      ) : null}
      {agreement.data && task && agreement.data.annotators.length > 1 ? <AgreementMatrix agreement={agreement.data} taskName={task.name} /> : null}
    </main>
  );
}
