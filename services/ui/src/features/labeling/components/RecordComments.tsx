import { useState, type FormEvent, type KeyboardEvent } from "react";
import { useAddRecordComment, useDeleteComment, useRecordComments } from "../api/comments";

/** The comments on the record: read, add (Shift+Enter submits; private or shared) and delete one's own. */
export function RecordComments({ projectId, recordId, userId }: { projectId: string; recordId: number; userId: string }) {
  const comments = useRecordComments(projectId, recordId);
  const add = useAddRecordComment(projectId);
  const remove = useDeleteComment(projectId);
  const [body, setBody] = useState("");
  const [isPrivate, setPrivate] = useState(false);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    const text = body.trim();
    if (!text) return;
    add.mutate({ recordId, body: text, isPrivate }, { onSuccess: () => setBody("") });
  }

  function onKey(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      submit();
    }
  }

  const list = comments.data ?? [];
  return (
    <section className="card comments" aria-labelledby="comments-title">
      <h2 id="comments-title">Comments{list.length > 0 ? ` (${list.length})` : ""}</h2>
      {list.length === 0 && !comments.isPending && <p className="muted small">No comments on this record.</p>}
      <ul className="plain" aria-label="Comments on this record">
        {list.map((comment) => (
          <li key={comment.id} className={comment.is_private ? "comment private" : "comment"}>
            <div className="row between small muted">
              <span>
                {new Date(comment.created_at).toLocaleString()}
                {comment.is_private ? " · private" : ""}
              </span>
              {comment.created_by === userId && (
                <button
                  type="button"
                  className="ghost small"
                  aria-label={`Delete comment ${comment.body.slice(0, 40)}`}
                  onClick={() => remove.mutate({ recordId, commentId: comment.id })}
                >
                  Delete
                </button>
              )}
            </div>
            {comment.body}
          </li>
        ))}
      </ul>
      <form className="stack" onSubmit={submit}>
        <label className="field">
          <span>New comment</span>
          <textarea rows={2} value={body} maxLength={100_000} onChange={(e) => setBody(e.target.value)} onKeyDown={onKey} />
        </label>
        <div className="row between">
          <label className="check">
            <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} />
            Private (only you see it)
          </label>
          <button type="submit" disabled={!body.trim() || add.isPending}>
            Add comment
          </button>
        </div>
      </form>
    </section>
  );
}
