import { Link, useParams } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { StateBadge } from "../../heuristics/components/HeuristicState";
import { useCalculatedAttributes } from "../api/attributes";
import "../../heuristics/components/heuristics.css";

/** The project's calculated attributes with their state; new attribute. */
export default function AttributesPage() {
  const { projectId = "" } = useParams();
  const attributes = useCalculatedAttributes(projectId);
  if (attributes.isPending) return <Loading what="the calculated attributes" />;
  if (attributes.isError) return <ErrorBox error={attributes.error} what="the calculated attributes" />;
  return (
    <main className="page" aria-labelledby="attrs-title">
      <header className="page-head">
        <h1 id="attrs-title">Calculated attributes</h1>
        <div className="row">
          <Link className="button" to={`/projects/${projectId}/record-ide`}>
            Record IDE
          </Link>
          <Link className="button primary" to={`/projects/${projectId}/attributes/new`}>
            New attribute
          </Link>
        </div>
      </header>
      {attributes.data.length === 0 ? (
        <p className="empty card">No calculated attributes yet: compute one from the others with Python.</p>
      ) : (
        <table className="table" aria-label="Calculated attributes">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {attributes.data.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link to={`/projects/${projectId}/attributes/${a.id}`}>{a.name}</Link>
                </td>
                <td>{a.data_type}</td>
                <td>
                  <StateBadge state={a.state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
