import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import type { Task } from "../../labeling/api/labeling";
import { useConfidenceHistogram, useConfusionMatrix, useLabelDistribution } from "../api/metrics";
import styles from "../overview.module.css";
import { ConfidenceHistogramChart, ConfusionMatrixChart, LabelDistributionChart } from "./Charts";

/** The overview's charts (a lazy chunk): label distribution, confidence histogram and confusion matrix of a task. */
export default function OverviewCharts({ pid, sliceId, task }: { pid: string; sliceId: string | null; task: Task }) {
  const scope = { pid, sliceId };
  const distribution = useLabelDistribution(scope, task.id);
  const histogram = useConfidenceHistogram(scope, task.id);
  const confusion = useConfusionMatrix(scope, task.id);
  const failed = distribution.error ?? histogram.error ?? confusion.error;
  if (failed) return <ErrorBox error={failed} what="the charts" />;
  if (!distribution.data || !histogram.data || !confusion.data) return <Loading what="the charts" />;
  return (
    <div className={styles.charts} data-testid="overview-charts">
      <LabelDistributionChart data={distribution.data} />
      <ConfidenceHistogramChart data={histogram.data} />
      <ConfusionMatrixChart data={confusion.data} labels={task.labels.map((l) => l.name)} />
    </div>
  );
}
