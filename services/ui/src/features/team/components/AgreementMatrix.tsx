import { pairOf, type Agreement } from "../api/team";
import styles from "../team.module.css";

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(0)} %`;
}

/** A cell's background: from white (no agreement) to indigo (full agreement). */
function shade(ratio: number): string {
  const alpha = Math.max(0, Math.min(1, ratio)) * 0.45;
  return `rgba(79, 70, 229, ${alpha.toFixed(2)})`;
}

/** The annotator × annotator agreement of one task: percent agreement and Cohen's kappa per pair, on the records both
 * labeled (from GET …/metrics/agreement). A table, so that a screen reader reads each pair by its row and column. */
export function AgreementMatrix({ agreement, taskName }: { agreement: Agreement; taskName: string }) {
  const people = agreement.annotators;
  if (people.length < 2) {
    return <p className="muted small">No record of {taskName} is labeled by two or more annotators yet.</p>;
  }
  const overall = agreement.overall;
  return (
    <figure className="spaced-top" style={{ margin: 0 }}>
      <table className={styles.matrix} aria-label={`Agreement matrix of ${taskName}`}>
        <thead>
          <tr>
            <th scope="col">
              <span className="sr-only">Annotator</span>
            </th>
            {people.map((p) => (
              <th key={p.user_id} scope="col">
                {p.email}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {people.map((row) => (
            <tr key={row.user_id}>
              <th scope="row">{row.email}</th>
              {people.map((col) => {
                if (col.user_id === row.user_id) {
                  return (
                    <td key={col.user_id} className={styles.self} aria-label={`${row.email} with themselves`}>
                      —
                    </td>
                  );
                }
                const pair = pairOf(agreement, row.user_id, col.user_id);
                if (!pair || pair.records === 0 || pair.percent_agreement == null) {
                  return (
                    <td key={col.user_id} aria-label={`${row.email} and ${col.email}: no record labeled by both`} className="muted">
                      ·
                    </td>
                  );
                }
                const kappa = pair.cohen_kappa == null ? "κ undefined" : `κ ${pair.cohen_kappa.toFixed(2)}`;
                return (
                  <td
                    key={col.user_id}
                    style={{ background: shade(pair.percent_agreement) }}
                    aria-label={`${row.email} and ${col.email}: ${percent(pair.percent_agreement)} agreement, ${kappa}, on ${pair.records} records`}
                    title={`${pair.records} records both labeled, ${pair.units} units`}
                  >
                    {percent(pair.percent_agreement)}
                    <span className={styles.kappa}>{kappa}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <figcaption className="small muted">
        {overall.records} records labeled by two or more annotators
        {overall.percent_agreement != null ? `; overall ${percent(overall.percent_agreement)} agreement` : ""}
        {overall.krippendorff_alpha != null ? `, Krippendorff's α ${overall.krippendorff_alpha.toFixed(2)}` : ""}
        {overall.mean_cohen_kappa != null ? `, mean Cohen's κ ${overall.mean_cohen_kappa.toFixed(2)}` : ""}
        {agreement.unit === "token" ? " (units: tokens)" : ""}.
      </figcaption>
    </figure>
  );
}
