import { useState } from "react";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { useDeleteSlice, useOutlierSlice, type Embedding, type Slice } from "../api/browser";
import styles from "../browser.module.css";

const TYPE_NAMES: Record<string, string> = {
  DYNAMIC_DEFAULT: "dynamic",
  STATIC_DEFAULT: "static",
  STATIC_OUTLIER: "outlier",
};

/** The saved slices: open one (its filter), show its details, copy a link to it, delete it; make an outlier slice. */
export function SlicesPane({
  pid,
  slices,
  active,
  embeddings,
  onOpen,
}: {
  pid: string;
  slices: Slice[];
  active: string | null;
  embeddings: Embedding[];
  onOpen: (slice: Slice | null) => void;
}) {
  const [info, setInfo] = useState<string | null>(null);
  const remove = useDeleteSlice(pid);
  const outliers = useOutlierSlice(pid);
  const usable = embeddings.filter((e) => e.type === "ON_ATTRIBUTE" && e.state === "FINISHED");
  const [embeddingId, setEmbeddingId] = useState("");
  const share = (slice: Slice) => {
    const url = `${window.location.origin}/projects/${pid}/data-browser?slice=${slice.id}`;
    void navigator.clipboard?.writeText(url).then(
      () => toast.success(`Link to slice ${slice.name} copied`),
      () => toast.info(url),
    );
    if (!navigator.clipboard) toast.info(url);
  };
  return (
    <section aria-labelledby="slices-title" className={styles.section}>
      <h2 id="slices-title">Slices</h2>
      {slices.length === 0 ? <p className="muted small">No slices yet: save a filter as one.</p> : null}
      <ul className={styles.slices} aria-label="Slices">
        {slices.map((slice) => (
          <li key={slice.id} className={slice.id === active ? styles.activeSlice : undefined}>
            <div className="row between">
              <button type="button" className="ghost" aria-pressed={slice.id === active} onClick={() => onOpen(slice.id === active ? null : slice)}>
                {slice.name}
              </button>
              <span className="small muted">
                {TYPE_NAMES[slice.type] ?? slice.type} · {slice.count ?? "?"}
                {slice.outdated ? " · outdated" : ""}
              </span>
            </div>
            <div className="row">
              <button type="button" className="ghost small" aria-expanded={info === slice.id} aria-label={`Info on slice ${slice.name}`} onClick={() => setInfo(info === slice.id ? null : slice.id)}>
                info
              </button>
              <button type="button" className="ghost small" aria-label={`Share a link to slice ${slice.name}`} onClick={() => share(slice)}>
                share
              </button>
              <button
                type="button"
                className="ghost small"
                aria-label={`Delete slice ${slice.name}`}
                onClick={() => {
                  if (!window.confirm(`Delete slice ${slice.name}? Its records stay.`)) return;
                  remove.mutate(slice.id, {
                    onSuccess: () => {
                      toast.success(`Slice ${slice.name} deleted`);
                      if (slice.id === active) onOpen(null);
                    },
                    onError: (e) => toast.error(`The slice was not deleted: ${problemMessage(e)}`),
                  });
                }}
              >
                delete
              </button>
            </div>
            {info === slice.id ? (
              <dl className={`small ${styles.info}`}>
                <dt>Type</dt>
                <dd>{TYPE_NAMES[slice.type] ?? slice.type}</dd>
                <dt>Records</dt>
                <dd>{slice.count ?? "unknown"}</dd>
                <dt>Created</dt>
                <dd>{new Date(slice.created_at).toLocaleString()}</dd>
                <dt>Updated</dt>
                <dd>{new Date(slice.updated_at).toLocaleString()}</dd>
                {slice.outdated !== null ? (
                  <>
                    <dt>Outdated</dt>
                    <dd>{slice.outdated ? "yes: its filter selects other records now" : "no"}</dd>
                  </>
                ) : null}
                {slice.problem ? (
                  <>
                    <dt>Problem</dt>
                    <dd>{slice.problem}</dd>
                  </>
                ) : null}
              </dl>
            ) : null}
          </li>
        ))}
      </ul>
      {usable.length ? (
        <div className="row wrap">
          <select aria-label="Embedding for the outlier slice" value={embeddingId || usable[0]?.id} onChange={(e) => setEmbeddingId(e.target.value)}>
            {usable.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            disabled={outliers.isPending}
            onClick={() =>
              outliers.mutate(embeddingId || usable[0]?.id || "", {
                onSuccess: () => toast.success("Outlier slice saved"),
                onError: (e) => toast.error(`No outlier slice: ${problemMessage(e)}`),
              })
            }
          >
            Outlier slice
          </button>
        </div>
      ) : null}
    </section>
  );
}
