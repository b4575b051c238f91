import { useEffect, useRef, useState } from "react";
import type { Term } from "../api/lookupLists";
import { rowWindow } from "../terms";

const ROW = 38;

/** Every term of a list in a virtualized grid: only the rows in view are in the DOM, however many terms there are. */
export function TermsGrid({
  terms,
  onUpdate,
  onDelete,
}: {
  terms: readonly Term[];
  onUpdate: (term: Term, change: { value?: string; comment?: string | null; blacklisted?: boolean }) => void;
  onDelete: (term: Term) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 416 });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(() => setScroll((s) => ({ ...s, height: el.clientHeight })));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const win = rowWindow(terms.length, ROW, scroll.top, scroll.height);
  return (
    <div role="table" aria-label="Terms" aria-rowcount={terms.length + 1}>
      <div className="h-terms-head" role="row">
        <span role="columnheader">Term</span>
        <span role="columnheader">Comment</span>
        <span role="columnheader">Blacklisted</span>
        <span role="columnheader">Actions</span>
      </div>
      <div ref={box} className="h-terms" onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}>
        <div style={{ height: win.total }} role="rowgroup">
          {terms.slice(win.start, win.end).map((term, i) => (
            <TermRow key={term.id} term={term} index={win.start + i} onUpdate={onUpdate} onDelete={onDelete} />
          ))}
        </div>
      </div>
    </div>
  );
}

function TermRow({
  term,
  index,
  onUpdate,
  onDelete,
}: {
  term: Term;
  index: number;
  onUpdate: (term: Term, change: { value?: string; comment?: string | null; blacklisted?: boolean }) => void;
  onDelete: (term: Term) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(term.value);
  const [comment, setComment] = useState(term.comment ?? "");
  return (
    <div className="h-term-row" role="row" aria-rowindex={index + 2} style={{ top: index * ROW, height: ROW }}>
      {editing ? (
        <>
          <span role="cell">
            <input type="text" aria-label={`New value of ${term.value}`} value={value} onChange={(e) => setValue(e.target.value)} maxLength={2000} />
          </span>
          <span role="cell">
            <input type="text" aria-label={`Comment of ${term.value}`} value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
          </span>
        </>
      ) : (
        <>
          <span role="cell" className="mono" title={term.value}>
            {term.value}
          </span>
          <span role="cell" className="small muted">
            {term.comment}
          </span>
        </>
      )}
      <span role="cell">
        <input
          type="checkbox"
          aria-label={`Blacklist ${term.value}`}
          checked={term.blacklisted}
          onChange={() => onUpdate(term, { blacklisted: !term.blacklisted })}
        />
      </span>
      <span role="cell" className="row">
        {editing ? (
          <button
            type="button"
            className="small"
            aria-label={`Save ${term.value}`}
            onClick={() => {
              setEditing(false);
              onUpdate(term, { value: value.trim(), comment: comment.trim() || null });
            }}
          >
            Save
          </button>
        ) : (
          <button type="button" className="small" aria-label={`Edit ${term.value}`} onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        <button type="button" className="small ghost danger" aria-label={`Delete ${term.value}`} onClick={() => onDelete(term)}>
          Delete
        </button>
      </span>
    </div>
  );
}
