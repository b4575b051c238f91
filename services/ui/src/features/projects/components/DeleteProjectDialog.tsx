import { useState, type FormEvent } from "react";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { toast } from "../../../shared/toasts";
import { useDeleteProject, type Project } from "../api/projects";

/** Deleting a project needs its name typed in: the project and everything in it are removed. */
export function DeleteProjectDialog({ project, onClose }: { project: Project; onClose: () => void }) {
  const [typed, setTyped] = useState("");
  const remove = useDeleteProject();
  const matches = typed === project.name;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!matches) return;
    remove.mutate(project.id, {
      onSuccess: () => {
        toast.info(`Deleting project ${project.name}…`);
        onClose();
      },
    });
  }

  return (
    <Dialog title={`Delete ${project.name}`} onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <p>
          This deletes the project with all its records, labels and heuristics. Type <strong>{project.name}</strong> to
          confirm.
        </p>
        <label className="field">
          <span>Project name to confirm</span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
        </label>
        {remove.isError && (
          <p role="alert" className="form-error">
            {problemMessage(remove.error)}
          </p>
        )}
        <div className="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={!matches || remove.isPending}>
            Delete project
          </button>
        </div>
      </form>
    </Dialog>
  );
}
