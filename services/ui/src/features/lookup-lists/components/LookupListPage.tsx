import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { CopyButton } from "../../heuristics/components/CopyButton";
import {
  useAddTerms,
  useDeleteList,
  useDeleteTerm,
  useImportLine,
  useLookupList,
  usePasteTerms,
  useTerms,
  useUpdateList,
  useUpdateTerm,
  useUploadCsv,
  type LookupList,
} from "../api/lookupLists";
import { filterTerms, termsCsv } from "../terms";
import { TermsGrid } from "./TermsGrid";
import "../../heuristics/components/heuristics.css";

/** One lookup list: name, description, Python name and import line to copy, the terms grid, paste, CSV in and out. */
export default function LookupListPage() {
  const { projectId = "", listId = "" } = useParams();
  const list = useLookupList(projectId, listId);
  if (list.isPending) return <Loading what="the lookup list" />;
  if (list.isError) return <ErrorBox error={list.error} what="the lookup list" />;
  return <ListDetail key={list.data.id} pid={projectId} list={list.data} />;
}

function ListDetail({ pid, list }: { pid: string; list: LookupList }) {
  const terms = useTerms(pid, list.id);
  const importLine = useImportLine(pid, list.id);
  const update = useUpdateList(pid, list.id);
  const addTerms = useAddTerms(pid, list.id);
  const updateTerm = useUpdateTerm(pid, list.id);
  const deleteTerm = useDeleteTerm(pid, list.id);
  const remove = useDeleteList(pid);
  const navigate = useNavigate();
  const [name, setName] = useState(list.name);
  const [description, setDescription] = useState(list.description);
  const [term, setTerm] = useState("");
  const [comment, setComment] = useState("");
  const [query, setQuery] = useState("");
  const shown = useMemo(() => filterTerms(terms.data ?? [], query), [terms.data, query]);
  const line = importLine.data?.snippet ?? `from knowledge import ${list.python_name}`;

  function add(event: FormEvent) {
    event.preventDefault();
    if (!term.trim()) return;
    addTerms.mutate([{ value: term.trim(), comment: comment.trim() || null, blacklisted: false }], {
      onSuccess: () => {
        setTerm("");
        setComment("");
      },
    });
  }

  function download() {
    const blob = new Blob([termsCsv(terms.data ?? [])], { type: "text/csv" });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = `${list.python_name}.csv`;
    a.click();
    URL.revokeObjectURL(url);
  }

  return (
    <main className="page" aria-labelledby="list-name-label">
      <p className="small">
        <Link to={`/projects/${pid}/lookup-lists`}>← Back to the lookup lists</Link>
      </p>
      <header className="stack" style={{ gap: "0.2rem" }}>
        <label id="list-name-label" className="sr-only" htmlFor="list-name">
          List name
        </label>
        <input
          id="list-name"
          className="h-inline-title"
          value={name}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
          onBlur={() => name.trim() && name.trim() !== list.name && update.mutate({ name: name.trim() })}
          onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
        />
        <input
          aria-label="Description"
          className="h-inline-desc"
          value={description}
          placeholder="Add a description"
          maxLength={10000}
          onChange={(e) => setDescription(e.target.value)}
          onBlur={() => description !== list.description && update.mutate({ description })}
          onKeyDown={(e) => e.key === "Enter" && e.currentTarget.blur()}
        />
      </header>
      <section className="card stack spaced-top" aria-label="Use in a labeling function">
        <div className="row wrap">
          <span className="small muted">Python variable:</span>
          <CopyButton text={list.python_name} label="Copy the Python variable name" />
          <span className="small muted">Import:</span>
          <CopyButton text={line} label="Copy the import line" />
        </div>
        <p className="small muted">
          {list.term_count.toLocaleString()} terms; blacklisted terms stay in the list but are not imported.
        </p>
      </section>

      <section className="card stack spaced-top" aria-labelledby="terms-title">
        <div className="row between wrap">
          <h2 id="terms-title">Terms</h2>
          <div className="row wrap">
            <PasteTerms pid={pid} listId={list.id} />
            <CsvUpload pid={pid} listId={list.id} />
            <button type="button" onClick={download} disabled={!terms.data}>
              Download CSV
            </button>
          </div>
        </div>
        <form className="row wrap" onSubmit={add} aria-label="Add a term">
          <label className="field grow">
            <span>New term</span>
            <input value={term} onChange={(e) => setTerm(e.target.value)} maxLength={2000} />
          </label>
          <label className="field grow">
            <span>Comment (optional)</span>
            <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
          </label>
          <button type="submit" className="primary align-end" disabled={!term.trim() || addTerms.isPending}>
            Add term
          </button>
        </form>
        <label className="field">
          <span>Search terms</span>
          <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </label>
        {terms.isError && <ErrorBox error={terms.error} what="the terms" />}
        {terms.isPending ? (
          <Loading what="the terms" />
        ) : (
          <>
            <p className="small muted" data-testid="terms-count">
              {shown.length.toLocaleString()} of {(terms.data?.length ?? 0).toLocaleString()} terms
            </p>
            <TermsGrid
              terms={shown}
              onUpdate={(t, change) => updateTerm.mutate({ termId: t.id, ...change })}
              onDelete={(t) => deleteTerm.mutate(t.id)}
            />
          </>
        )}
      </section>

      <section className="card danger-zone spaced-top" aria-labelledby="ldanger-title">
        <h2 id="ldanger-title">Danger zone</h2>
        <button
          type="button"
          className="danger"
          onClick={() => {
            if (window.confirm(`Delete the lookup list ${list.name} with its terms?`)) {
              remove.mutate(list.id, { onSuccess: () => navigate(`/projects/${pid}/lookup-lists`) });
            }
          }}
        >
          Delete list
        </button>
      </section>
    </main>
  );
}

function PasteTerms({ pid, listId }: { pid: string; listId: string }) {
  const paste = usePasteTerms(pid, listId);
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const [delimiter, setDelimiter] = useState("\\n");
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Paste terms
      </button>
    );
  return (
    <form
      className="stack card"
      aria-label="Paste terms"
      onSubmit={(e) => {
        e.preventDefault();
        const split = delimiter === "\\n" ? "\n" : delimiter === "\\t" ? "\t" : delimiter;
        paste.mutate({ text, delimiter: split }, { onSuccess: () => (setText(""), setOpen(false)) });
      }}
    >
      <label className="field">
        <span>Pasted terms</span>
        <textarea value={text} onChange={(e) => setText(e.target.value)} rows={5} maxLength={5_000_000} />
      </label>
      <label className="field">
        <span>Split on (\n for lines, \t for tabs)</span>
        <input value={delimiter} onChange={(e) => setDelimiter(e.target.value)} maxLength={10} className="mono" />
      </label>
      <div className="row end">
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={!text.trim() || !delimiter || paste.isPending}>
          Add pasted terms
        </button>
      </div>
    </form>
  );
}

function CsvUpload({ pid, listId }: { pid: string; listId: string }) {
  const upload = useUploadCsv(pid, listId);
  return (
    <label className="button">
      Upload CSV
      <input
        type="file"
        accept=".csv,text/csv"
        className="sr-only"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) upload.mutate(file);
          e.target.value = "";
        }}
      />
    </label>
  );
}
