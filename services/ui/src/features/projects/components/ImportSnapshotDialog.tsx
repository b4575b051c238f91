import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { projectsKey, useImportSnapshot } from "../api/projects";

function projectIdOf(result: Record<string, unknown> | undefined, fallback: string | null | undefined): string | null {
  const value = result?.project_id;
  return typeof value === "string" ? value : (fallback ?? null);
}

/** Import a snapshot (ours or the original refinery's project export, .zip or .json) as a new project. */
export function ImportSnapshotDialog({ onClose }: { onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const importing = useImportSnapshot();
  const job = useJob(importing.data?.id ?? null);
  const navigate = useNavigate();
  const client = useQueryClient();
  const state = job.data?.state;

  useEffect(() => {
    if (state === "done" && job.data) {
      void client.invalidateQueries({ queryKey: projectsKey });
      const id = projectIdOf(job.data.result, job.data.project_id);
      if (id) navigate(`/projects/${id}/settings`);
      onClose();
    }
  }, [state, job.data, navigate, onClose, client]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (file) importing.mutate({ file, name: name.trim() });
  }

  return (
    <Dialog title="Import snapshot" onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span>Snapshot file</span>
          <input type="file" accept=".zip,.json" required onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <label className="field">
          <span>New project name (optional)</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="the snapshot's name" />
        </label>
        {importing.isError && (
          <p role="alert" className="form-error">
            {problemMessage(importing.error)}
          </p>
        )}
        {job.data && <JobProgress job={job.data} />}
        <div className="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!file || importing.isPending || state === "running"}>
            Import
          </button>
        </div>
      </form>
    </Dialog>
  );
}
