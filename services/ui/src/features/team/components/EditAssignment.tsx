import { useState, type FormEvent } from "react";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { assignmentEdit, sharedDueCount, useAssignmentActions, type Assignment } from "../api/team";

/** Rename an assignment or set every annotator's due count, after it was made; the API's objection shows in the form. */
export function EditAssignment({ projectId, assignment }: { projectId: string; assignment: Assignment }) {
  const { edit } = useAssignmentActions(projectId);
  const due = sharedDueCount(assignment);
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(assignment.name);
  const [dueText, setDueText] = useState(due === null ? "" : String(due));
  const [error, setError] = useState<string | null>(null);
  if (!open) {
    return (
      <button
        type="button"
        className="ghost"
        onClick={() => {
          setName(assignment.name);
          setDueText(due === null ? "" : String(due));
          setError(null);
          setOpen(true);
        }}
      >
        Edit {assignment.name}
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const made = assignmentEdit({ name: assignment.name, dueCount: due }, name, dueText);
    if ("error" in made) return setError(made.error);
    edit.mutate(
      { id: assignment.id, patch: made.patch },
      {
        onSuccess: (saved) => {
          toast.success(`Saved the assignment ${saved.name}`);
          setOpen(false);
        },
        onError: (e) => setError(problemMessage(e)),
      },
    );
  };
  return (
    <form className="row wrap" aria-label={`Edit assignment ${assignment.name}`} onSubmit={submit} noValidate>
      <label className="field">
        <span>New name</span>
        <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
      </label>
      <label className="field">
        <span>Due per annotator</span>
        <input type="number" min={1} value={dueText} onChange={(e) => setDueText(e.target.value)} />
      </label>
      <button type="submit" disabled={edit.isPending}>
        Save
      </button>
      <button type="button" className="ghost" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error ? (
        <p role="alert" className="error-box">
          {error}
        </p>
      ) : null}
    </form>
  );
}
