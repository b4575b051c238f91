/** Words for the overview's weak-supervision quality card: figures measured on manual labels the model was not fitted
 * on (k-fold), or why there is no figure. Never a training-set figure. */

export interface QualityFigures {
  available: boolean;
  reason?: string | null;
  manual_labels: number;
  folds?: number | null;
  accuracy?: number | null;
  accuracy_interval_95?: number[] | null;
  coverage?: number | null;
}

export function pct(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : `${(value * 100).toFixed(1)} %`;
}

/** The headline: accuracy with its interval and the labels behind it, or the reason there is none. */
export function qualityHeadline(q: QualityFigures): string {
  if (!q.available || q.accuracy === null || q.accuracy === undefined) {
    return `No quality figure: ${q.reason ?? "not estimated"}.`.replace(/\.\.$/, ".");
  }
  const [low, high] = q.accuracy_interval_95 ?? [];
  const interval = low !== undefined && high !== undefined ? ` (95 % interval ${pct(low)} – ${pct(high)})` : "";
  const folds = q.folds ? `, ${q.folds}-fold cross-validation` : "";
  return `Accuracy ${pct(q.accuracy)}${interval} on ${q.manual_labels.toLocaleString("en-US")} manual labels the model was not fitted on${folds}.`;
}
