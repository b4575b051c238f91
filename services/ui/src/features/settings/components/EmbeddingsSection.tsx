import "./settings-extra.css";
import { useId, useState, type FormEvent } from "react";
import { problemMessage } from "../../../api/problem";
import { ErrorBox } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { useCreateEmbedding, useDeleteEmbedding, useEmbeddingModels, useEmbeddings, type Attribute } from "../api/embeddings";

const GRANULARITY = { ON_ATTRIBUTE: "Attribute (classification)", ON_TOKEN: "Token (extraction)" } as const;

/** Embeddings: the list with state and progress, add (attribute, model, granularity, filter attributes), delete. */
export function EmbeddingsSection({ projectId, attributes }: { projectId: string; attributes: Attribute[] }) {
  const embeddings = useEmbeddings(projectId);
  const remove = useDeleteEmbedding(projectId);
  const [adding, setAdding] = useState(false);
  return (
    <section className="card" aria-labelledby="embeddings-title">
      <div className="row between">
        <h2 id="embeddings-title">Embeddings</h2>
        <button type="button" onClick={() => setAdding((v) => !v)} aria-expanded={adding}>
          Add embedding
        </button>
      </div>
      {embeddings.isError && <ErrorBox error={embeddings.error} what="the embeddings" />}
      {embeddings.data?.length === 0 && <p className="muted small">No embeddings yet: they power similarity search, outliers and active learning.</p>}
      {embeddings.data && embeddings.data.length > 0 && (
        <table className="table compact" aria-label="Embeddings">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Granularity</th>
              <th scope="col">Model</th>
              <th scope="col">Filter attributes</th>
              <th scope="col">Dimensions</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {embeddings.data.map((e) => (
              <tr key={e.id}>
                <td className="mono">{e.name}</td>
                <td>{e.type === "ON_TOKEN" ? "token" : "attribute"}</td>
                <td className="mono small">{e.model}</td>
                <td className="small">{e.filter_attributes.join(", ")}</td>
                <td>{e.dimensions ?? ""}</td>
                <td>
                  <span data-testid="embedding-state">{e.state}</span>
                  {(e.state === "RUNNING" || e.state === "QUEUED") && e.progress != null && (
                    <progress max={100} value={Math.round(e.progress * 100)} aria-label={`${e.name} progress`} />
                  )}
                  {e.error && <span className="form-error small"> {e.error}</span>}
                </td>
                <td>
                  <button
                    type="button"
                    className="ghost small"
                    aria-label={`Delete embedding ${e.name}`}
                    onClick={() => {
                      if (window.confirm(`Delete embedding ${e.name}? Similarity search and active learners using it stop working.`))
                        remove.mutate(e.id, { onError: (error) => toast.error(`Not deleted: ${problemMessage(error)}`) });
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {adding && <AddEmbedding projectId={projectId} attributes={attributes} onDone={() => setAdding(false)} />}
    </section>
  );
}

function AddEmbedding({ projectId, attributes, onDone }: { projectId: string; attributes: Attribute[]; onDone: () => void }) {
  const texts = attributes.filter((a) => a.data_type === "TEXT");
  const [attribute, setAttribute] = useState(texts[0]?.name ?? "");
  const [model, setModel] = useState("");
  const [type, setType] = useState<keyof typeof GRANULARITY>("ON_ATTRIBUTE");
  const [filters, setFilters] = useState<string[]>([]);
  const models = useEmbeddingModels();
  const create = useCreateEmbedding(projectId);
  const listId = useId();
  const chosenModel = model.trim() || models.data?.[0]?.name || "";

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(
      { attribute, model: chosenModel, type, filter_attributes: filters },
      {
        onSuccess: (started) => {
          toast.info(`Embedding ${started.embedding.name} is being computed`);
          onDone();
        },
      },
    );
  }

  return (
    <form className="stack add-embedding" onSubmit={submit} aria-label="Add embedding">
      <div className="row wrap">
        <label className="field">
          <span>Target attribute</span>
          <select value={attribute} onChange={(e) => setAttribute(e.target.value)} required>
            {texts.map((a) => (
              <option key={a.id} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Granularity</span>
          <select value={type} onChange={(e) => setType(e.target.value as keyof typeof GRANULARITY)}>
            {Object.entries(GRANULARITY).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Model</span>
          <input list={listId} value={model} placeholder={models.data?.[0]?.name ?? "a model name"} onChange={(e) => setModel(e.target.value)} maxLength={300} />
          <datalist id={listId}>
            {models.data?.map((m) => (
              <option key={m.name} value={m.name}>
                {m.platform}
              </option>
            ))}
          </datalist>
        </label>
      </div>
      <fieldset className="row wrap boxed">
        <legend className="small">Filter attributes (similarity search can filter by them)</legend>
        {attributes
          .filter((a) => a.name !== attribute)
          .map((a) => (
            <label key={a.id} className="check">
              <input
                type="checkbox"
                checked={filters.includes(a.name)}
                onChange={(e) => setFilters(e.target.checked ? [...filters, a.name] : filters.filter((f) => f !== a.name))}
              />
              {a.name}
            </label>
          ))}
      </fieldset>
      {create.isError && (
        <p role="alert" className="form-error">
          {problemMessage(create.error)}
        </p>
      )}
      <div className="row end">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={!attribute || !chosenModel || create.isPending}>
          Compute embedding
        </button>
      </div>
    </form>
  );
}
