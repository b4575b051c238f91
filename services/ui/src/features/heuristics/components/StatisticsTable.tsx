import type { HeuristicStat } from "../api/heuristics";
import { percent } from "../code";

/** A heuristic's statistics per label: est. precision and recall, coverage, hits, conflicts and overlaps. */
export function StatisticsTable({ rows }: { rows: HeuristicStat[] }) {
  const labelled = rows.filter((r) => r.label_name !== null);
  if (labelled.length === 0) {
    const status = rows[0]?.status ?? "never_run";
    return <p className="small muted">No statistics yet ({status.replace(/_/g, " ")}).</p>;
  }
  return (
    <table className="table compact" aria-label="Statistics">
      <thead>
        <tr>
          <th scope="col">Label</th>
          <th scope="col">Est. precision</th>
          <th scope="col">Est. recall</th>
          <th scope="col">Coverage</th>
          <th scope="col">Hits</th>
          <th scope="col">Conflicts</th>
          <th scope="col">Overlaps</th>
        </tr>
      </thead>
      <tbody>
        {labelled.map((r) => (
          <tr key={r.label_id ?? "none"}>
            <td>{r.label_name}</td>
            <td>{percent(r.est_precision)}</td>
            <td>{percent(r.est_recall)}</td>
            <td>{r.record_coverage.toLocaleString()}</td>
            <td>{r.total_hits.toLocaleString()}</td>
            <td>{r.source_conflicts.toLocaleString()}</td>
            <td>{r.source_overlaps.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
