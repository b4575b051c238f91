import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../../api/client";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";

/** The installation's configuration (read-only): limits, installed spaCy pipelines and embedding models. */
export default function ConfigPage() {
  const config = useQuery({ queryKey: ["config"], queryFn: () => unwrap(api.GET("/api/v1/config")) });
  if (config.isPending) return <Loading what="the configuration" />;
  if (config.isError) return <ErrorBox error={config.error} what="the configuration" />;
  const { limits, spacy_pipelines: pipelines, embedding_models: models } = config.data;
  return (
    <main className="page" aria-labelledby="config-title">
      <header className="page-head">
        <h1 id="config-title">Configuration</h1>
      </header>
      <p className="muted small">
        Set by the operator through environment variables (see docs/configuration.md); shown here read-only.
      </p>
      <section className="card" aria-labelledby="limits-title">
        <h2 id="limits-title">Limits</h2>
        <table className="table compact" aria-label="Limits">
          <thead>
            <tr>
              <th scope="col">Setting</th>
              <th scope="col">Value</th>
              <th scope="col">Meaning</th>
            </tr>
          </thead>
          <tbody>
            {limits.map((limit) => (
              <tr key={limit.name}>
                <td className="mono small">{limit.name}</td>
                <td>{typeof limit.value === "number" ? limit.value.toLocaleString() : limit.value}</td>
                <td className="small">{limit.meaning}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card" aria-labelledby="pipelines-title">
        <h2 id="pipelines-title">spaCy pipelines</h2>
        {pipelines.error && <p className="form-error">The tokenizer could not be asked: {pipelines.error}</p>}
        {!pipelines.error && pipelines.items.length === 0 && (
          <p className="muted">
            No pipeline package is installed: projects use blank pipelines (any language code, e.g. <code>en</code>). Install one
            with <code>python -m spacy download en_core_web_sm</code> where the tokenizer runs.
          </p>
        )}
        <ul aria-label="Installed spaCy pipelines">
          {pipelines.items.map((name) => (
            <li key={name} className="mono">
              {name}
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="models-title">
        <h2 id="models-title">Embedding models</h2>
        {models.error && <p className="form-error">The embedder could not be asked: {models.error}</p>}
        <ul aria-label="Embedding models">
          {models.items.map((name) => (
            <li key={name} className="mono">
              {name}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}
