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
  level?: string | null;
  f1?: number | null;
  f1_interval_95?: number[] | null;
  span_f1?: number | null;
  tokens?: number | null;
}

export function pct(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : `${(value * 100).toFixed(1)} %`;
}

/** The headline: accuracy with its interval and the labels behind it (extraction tasks: token-level F1), or the reason
 * there is none. */
export function qualityHeadline(q: QualityFigures): string {
  if (q.available && q.level === "token") return tokenHeadline(q);
  if (!q.available || q.accuracy === null || q.accuracy === undefined) {
    return `No quality figure: ${q.reason ?? "not estimated"}.`.replace(/\.\.$/, ".");
  }
  const [low, high] = q.accuracy_interval_95 ?? [];
  const interval = low !== undefined && high !== undefined ? ` (95 % interval ${pct(low)} – ${pct(high)})` : "";
  const folds = q.folds ? `, ${q.folds}-fold cross-validation` : "";
  return `Accuracy ${pct(q.accuracy)}${interval} on ${q.manual_labels.toLocaleString("en-US")} manual labels the model was not fitted on${folds}.`;
}

/** An extraction run: token-level F1 with its interval, the labeled records and tokens behind it, span-level F1. */
function tokenHeadline(q: QualityFigures): string {
  const [low, high] = q.f1_interval_95 ?? [];
  const interval = low !== undefined && high !== undefined ? ` (95 % interval ${pct(low)} – ${pct(high)})` : "";
  const folds = q.folds ? `, ${q.folds}-fold cross-validation` : " (the model reads no manual label)";
  const tokens = q.tokens !== null && q.tokens !== undefined ? ` (${q.tokens.toLocaleString("en-US")} tokens)` : "";
  return `Token-level F1 ${pct(q.f1)}${interval} on ${q.manual_labels.toLocaleString("en-US")} manually labeled records${tokens} the model was not fitted on${folds}; span-level F1 ${pct(q.span_f1)}.`;
}
