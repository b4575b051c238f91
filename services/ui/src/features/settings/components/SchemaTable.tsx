import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { useSetPrimaryKey, useSetVisibility, type Attribute } from "../api/embeddings";

const VISIBILITY: Record<string, string> = {
  DO_NOT_HIDE: "Shown",
  HIDE_ON_DATA_BROWSER: "Hidden in the data browser",
  HIDE_ON_LABELING_PAGE: "Hidden on the labeling page",
  HIDE: "Hidden",
};

/** The data schema: each attribute's type and state, its place in the primary key (checked unique by the server) and visibility. */
export function SchemaTable({ projectId, attributes }: { projectId: string; attributes: Attribute[] }) {
  const visibility = useSetVisibility(projectId);
  const primaryKey = useSetPrimaryKey(projectId);
  return (
    <>
      <table className="table compact" aria-label="Attributes">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Primary key</th>
            <th scope="col">State</th>
            <th scope="col">Visibility</th>
          </tr>
        </thead>
        <tbody>
          {attributes.map((a) => (
            <tr key={a.id}>
              <td className="mono">{a.name}</td>
              <td>{a.data_type}</td>
              <td>
                <input
                  type="checkbox"
                  aria-label={`${a.name} is part of the primary key`}
                  checked={a.is_primary_key}
                  disabled={primaryKey.isPending}
                  onChange={(e) =>
                    primaryKey.mutate(
                      { attributeId: a.id, on: e.target.checked },
                      { onSuccess: () => toast.info(e.target.checked ? `The primary key with ${a.name} is unique` : `${a.name} left the primary key`) },
                    )
                  }
                />
              </td>
              <td>{a.state}</td>
              <td>
                <select
                  aria-label={`Visibility of ${a.name}`}
                  value={a.visibility}
                  onChange={(e) =>
                    visibility.mutate(
                      { attributeId: a.id, visibility: e.target.value },
                      { onError: (error) => toast.error(`Visibility not changed: ${problemMessage(error)}`) },
                    )
                  }
                >
                  {Object.entries(VISIBILITY).map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {primaryKey.isError && (
        <p role="alert" className="form-error">
          The primary key was not changed: {problemMessage(primaryKey.error)}
        </p>
      )}
    </>
  );
}
