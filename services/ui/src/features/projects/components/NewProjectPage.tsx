import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { problemMessage } from "../../../api/problem";
import { FINAL_STATES, useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { discardProject, projectKey, projectsKey, useCreateProject, useProjects, useUploadRecords } from "../api/projects";

const TOKENIZERS = [
  { value: "en", label: "English (en)" },
  { value: "de", label: "German (de)" },
  { value: "fr", label: "French (fr)" },
  { value: "es", label: "Spanish (es)" },
  { value: "xx", label: "Multi-language (xx)" },
  { value: "en_core_web_sm", label: "English, spaCy model (en_core_web_sm, if installed)" },
];

/** New project: name (unique, checked as typed), description, tokenizer and a file of records; progress arrives live. */
export function NewProjectPage() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const projects = useProjects();
  const create = useCreateProject();
  const upload = useUploadRecords();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [tokenizer, setTokenizer] = useState("en");
  const [file, setFile] = useState<File | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const projectId = useRef<string | null>(null);
  const job = useJob(upload.data?.id ?? null);

  const trimmed = name.trim();
  const taken = projects.data?.some((p) => p.name.toLowerCase() === trimmed.toLowerCase()) ?? false;
  const busy = create.isPending || upload.isPending || (job.data !== undefined && !FINAL_STATES.has(job.data.state));

  useEffect(() => {
    const state = job.data?.state;
    const id = projectId.current;
    if (!state || !id) return;
    if (state === "done") {
      void client.invalidateQueries({ queryKey: projectKey(id) });
      void client.invalidateQueries({ queryKey: projectsKey });
      navigate(`/projects/${id}/settings`);
    } else if (state === "failed" || state === "cancelled") {
      projectId.current = null;
      setFailure(job.data?.error ?? `the upload was ${state}`);
      void discardProject(id).catch(() => undefined);
    }
  }, [job.data, navigate, client]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!file || !trimmed || taken) return;
    setFailure(null);
    upload.reset();
    let id: string | null = null;
    try {
      const project = await create.mutateAsync({ name: trimmed, description, tokenizer });
      id = project.id;
      projectId.current = id;
      await upload.mutateAsync({ projectId: id, file });
    } catch (error) {
      setFailure(problemMessage(error));
      projectId.current = null;
      if (id) await discardProject(id).catch(() => undefined);
    }
  }

  return (
    <main className="page narrow" aria-labelledby="new-project-title">
      <h1 id="new-project-title">New project</h1>
      <form className="card stack" onSubmit={submit}>
        <label className="field">
          <span>Project name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            maxLength={200}
            aria-invalid={taken}
            aria-describedby="name-hint"
          />
        </label>
        <p id="name-hint" className={taken ? "form-error small" : "muted small"}>
          {taken ? `A project named "${trimmed}" exists already; choose another name.` : "The name must be unique."}
        </p>
        <label className="field">
          <span>Description</span>
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} maxLength={10000} />
        </label>
        <label className="field">
          <span>Tokenizer</span>
          <select value={tokenizer} onChange={(e) => setTokenizer(e.target.value)}>
            {TOKENIZERS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>File</span>
          <input
            type="file"
            accept=".csv,.tsv,.txt,.json,.jsonl,.ndjson,.xlsx"
            required
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <p className="muted small">
          CSV, JSON, JSONL or XLSX. Columns become attributes; a column named <code>__task</code> holds labels of a
          labeling task named <code>task</code>.
        </p>
        {job.data && <JobProgress job={job.data} />}
        {failure && (
          <p role="alert" className="form-error">
            The upload failed: {failure}
          </p>
        )}
        <div className="row end">
          <button type="button" onClick={() => navigate("/projects")}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !file || !trimmed || taken}>
            Upload
          </button>
        </div>
      </form>
    </main>
  );
}
