import "../../../shared/menu.css";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { projectsKey, useImportSample, useProjects, useSampleProjects, type SampleProject } from "../api/projects";

/** The "Sample projects" menu: the snapshots the installation offers, each imported as a new project on a click. */
export function SampleProjectsMenu() {
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<SampleProject | null>(null);
  const samples = useSampleProjects(open);
  const menuId = useId();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    ref.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const close = (event: MouseEvent) => !ref.current?.contains(event.target as Node) && setOpen(false);
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open, samples.data]);

  function onMenuKey(event: React.KeyboardEvent) {
    if (event.key === "Escape") setOpen(false);
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const items = [...(ref.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
  }

  return (
    <div className="menu-anchor" ref={ref}>
      <button type="button" aria-haspopup="menu" aria-expanded={open} aria-controls={menuId} onClick={() => setOpen((v) => !v)}>
        Sample projects ▾
      </button>
      {open && (
        <div id={menuId} role="menu" aria-label="Sample projects" className="menu card" onKeyDown={onMenuKey}>
          {samples.isPending && <p className="muted small">Loading…</p>}
          {samples.isError && <p className="form-error small">{problemMessage(samples.error)}</p>}
          {samples.data?.length === 0 && (
            <p className="muted small">No sample projects here (an operator puts snapshots into REFINERY_SAMPLE_PROJECTS_DIR).</p>
          )}
          {samples.data?.map((sample) => (
            <button
              key={sample.name}
              type="button"
              role="menuitem"
              className="menu-item"
              onClick={() => {
                setChosen(sample);
                setOpen(false);
              }}
            >
              {sample.title} <span className="muted small">{Math.max(1, Math.round(sample.size_bytes / 1024)).toLocaleString()} KB</span>
            </button>
          ))}
        </div>
      )}
      {chosen && <ImportSampleDialog sample={chosen} onClose={() => setChosen(null)} />}
    </div>
  );
}

function ImportSampleDialog({ sample, onClose }: { sample: SampleProject; onClose: () => void }) {
  const [name, setName] = useState(sample.title);
  const projects = useProjects();
  const importing = useImportSample();
  const job = useJob(importing.data?.id ?? null);
  const navigate = useNavigate();
  const client = useQueryClient();
  const state = job.data?.state;
  const trimmed = name.trim();
  const taken = projects.data?.some((p) => p.name === trimmed) ?? false;

  useEffect(() => {
    if (state === "done" && job.data) {
      void client.invalidateQueries({ queryKey: projectsKey });
      const id = typeof job.data.result?.project_id === "string" ? job.data.result.project_id : job.data.project_id;
      if (id) navigate(`/projects/${id}/settings`);
      onClose();
    }
  }, [state, job.data, navigate, onClose, client]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (trimmed && !taken) importing.mutate({ name: sample.name, projectName: trimmed });
  }

  return (
    <Dialog title={`Sample project ${sample.title}`} onClose={onClose}>
      <form onSubmit={submit} className="stack">
        <label className="field">
          <span>New project name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} aria-invalid={taken} />
        </label>
        {taken && <p className="form-error small">A project named &quot;{trimmed}&quot; exists already; choose another name.</p>}
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
          <button type="submit" className="primary" disabled={!trimmed || taken || importing.isPending || (state !== undefined && state !== "failed")}>
            Create project
          </button>
        </div>
      </form>
    </Dialog>
  );
}
