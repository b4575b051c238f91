import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useCreateList, useDeleteList, useLookupLists, type LookupList } from "../api/lookupLists";
import "../../heuristics/components/heuristics.css";

/** The project's lookup lists: cards with term counts and the Python name, new list, delete. */
export default function LookupListsPage() {
  const { projectId = "" } = useParams();
  const lists = useLookupLists(projectId);
  const create = useCreateList(projectId);
  const remove = useDeleteList(projectId);
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [deleting, setDeleting] = useState<LookupList | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name: name.trim(), description }, { onSuccess: (list) => navigate(`/projects/${projectId}/lookup-lists/${list.id}`) });
  }

  if (lists.isPending) return <Loading what="the lookup lists" />;
  if (lists.isError) return <ErrorBox error={lists.error} what="the lookup lists" />;
  return (
    <main className="page" aria-labelledby="lists-title">
      <header className="page-head">
        <h1 id="lists-title">Lookup lists</h1>
        <Link to={`/projects/${projectId}/heuristics`}>Heuristics</Link>
      </header>
      <form className="card row wrap" onSubmit={submit} aria-label="New lookup list">
        <label className="field grow">
          <span>List name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <label className="field grow">
          <span>List description</span>
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={10000} />
        </label>
        <button type="submit" className="primary align-end" disabled={!name.trim() || create.isPending}>
          Create list
        </button>
        {create.isError && (
          <p role="alert" className="form-error">
            {problemMessage(create.error)}
          </p>
        )}
      </form>
      {lists.data.length === 0 ? (
        <p className="empty card">
          No lookup lists yet. A lookup list is a list of terms (names, keywords) that a labeling function imports with{" "}
          <code>from knowledge import …</code>.
        </p>
      ) : (
        <div className="h-grid spaced-top">
          {lists.data.map((list) => (
            <article key={list.id} className="card h-card" aria-labelledby={`list-${list.id}`}>
              <h2 id={`list-${list.id}`}>
                <Link to={`/projects/${projectId}/lookup-lists/${list.id}`}>{list.name}</Link>
              </h2>
              {list.description && <p className="small muted">{list.description}</p>}
              <p className="small">
                <code>{list.python_name}</code> · {list.term_count.toLocaleString()} terms
              </p>
              <div className="row end">
                <button type="button" className="ghost danger small" onClick={() => setDeleting(list)} aria-label={`Delete ${list.name}`}>
                  Delete
                </button>
              </div>
            </article>
          ))}
        </div>
      )}
      {deleting && (
        <Dialog title={`Delete ${deleting.name}`} onClose={() => setDeleting(null)}>
          <p>
            Delete the list with its {deleting.term_count.toLocaleString()} terms? Labeling functions that import{" "}
            <code>{deleting.python_name}</code> will fail.
          </p>
          <div className="row end">
            <button type="button" onClick={() => setDeleting(null)}>
              Keep it
            </button>
            <button type="button" className="danger" onClick={() => remove.mutate(deleting.id, { onSettled: () => setDeleting(null) })}>
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </main>
  );
}
