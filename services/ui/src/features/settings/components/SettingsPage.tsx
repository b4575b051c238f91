import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useNavigate, useParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { useAttributes, useTasks } from "../../labeling/api/labeling";
import { useProject, useUploadRecords, type Project } from "../../projects/api/projects";
import { DeleteProjectDialog } from "../../projects/components/DeleteProjectDialog";
import { useChangeTokenizer, useProjectJobs, useUpdateProject } from "../api/settings";
import { EmbeddingsSection } from "./EmbeddingsSection";
import { SchemaTable } from "./SchemaTable";
import { TasksSection } from "./TasksSection";

/** Project settings: data schema, records upload and tokenization progress, labeling tasks and labels, danger zone. */
export default function SettingsPage() {
  const { projectId = "" } = useParams();
  const project = useProject(projectId);
  const attributes = useAttributes(projectId);
  const tasks = useTasks(projectId);
  const jobs = useProjectJobs(projectId);
  const [deleting, setDeleting] = useState(false);
  const navigate = useNavigate();
  const closeDelete = useCallback(() => {
    setDeleting(false);
  }, []);

  if (project.isPending) return <Loading what="the project" />;
  if (project.isError) return <ErrorBox error={project.error} what="the project" />;
  const tokenizing = jobs.data?.find((j) => j.kind === "tokenize_project");

  return (
    <main className="page" aria-labelledby="settings-title">
      <header className="page-head">
        <h1 id="settings-title">Settings</h1>
      </header>

      <ProjectMeta project={project.data} />

      <section className="card" aria-labelledby="schema-title">
        <h2 id="schema-title">Data schema</h2>
        {attributes.isError && <ErrorBox error={attributes.error} what="the attributes" />}
        {attributes.data?.length === 0 && <p className="muted">No attributes yet: upload records below.</p>}
        {attributes.data && attributes.data.length > 0 && (
          <SchemaTable projectId={projectId} attributes={attributes.data} />
        )}
        <p className="small muted">
          {project.data.record_count?.toLocaleString() ?? 0} records · tokenizer <code>{project.data.tokenizer}</code>
        </p>
        {tokenizing && <JobProgress job={tokenizing} label="Tokenization" />}
        <AddRecords projectId={projectId} />
      </section>

      <section className="card" aria-labelledby="export-title">
        <h2 id="export-title">Tokenizer, export and snapshot</h2>
        <TokenizerForm projectId={projectId} current={project.data.tokenizer} />
        <div className="row wrap">
          <span className="small">Download the records with their labels:</span>
          {(["json", "jsonl", "csv"] as const).map((format) => (
            <a key={format} className="button" href={`/api/v1/projects/${projectId}/export?format=${format}`} download>
              Export {format.toUpperCase()}
            </a>
          ))}
          <a className="button" href={`/api/v1/projects/${projectId}/snapshot`} download>
            Download snapshot
          </a>
        </div>
      </section>

      <EmbeddingsSection projectId={projectId} attributes={attributes.data ?? []} />

      {tasks.isError && <ErrorBox error={tasks.error} what="the labeling tasks" />}
      {tasks.data && <TasksSection pid={projectId} tasks={tasks.data} attributes={attributes.data ?? []} />}

      <section className="card danger-zone" aria-labelledby="danger-title">
        <h2 id="danger-title">Danger zone</h2>
        <p>Deleting the project removes its records, labels, heuristics and embeddings for good.</p>
        <button type="button" className="danger" onClick={() => setDeleting(true)}>
          Delete project
        </button>
      </section>
      {deleting && (
        <DeleteProjectDialog
          project={project.data}
          onClose={() => {
            closeDelete();
            navigate("/projects");
          }}
        />
      )}
    </main>
  );
}

function ProjectMeta({ project }: { project: Project }) {
  const update = useUpdateProject(project.id);
  const [name, setName] = useState(project.name);
  const [description, setDescription] = useState(project.description);
  useEffect(() => {
    setName(project.name);
    setDescription(project.description);
  }, [project.name, project.description]);
  const changed = name.trim() !== project.name || description !== project.description;

  function submit(event: FormEvent) {
    event.preventDefault();
    update.mutate({ name: name.trim(), description });
  }

  return (
    <form className="card stack" onSubmit={submit} aria-labelledby="meta-title">
      <h2 id="meta-title">Project</h2>
      <label className="field">
        <span>Project name</span>
        <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
      </label>
      <label className="field">
        <span>Description</span>
        <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} maxLength={10000} />
      </label>
      <div className="row end">
        <button type="submit" className="primary" disabled={!changed || update.isPending}>
          Save
        </button>
      </div>
    </form>
  );
}

function AddRecords({ projectId }: { projectId: string }) {
  const upload = useUploadRecords();
  const job = useJob(upload.data?.id ?? null);
  const [file, setFile] = useState<File | null>(null);
  return (
    <form
      className="row wrap spaced-top"
      onSubmit={(e) => {
        e.preventDefault();
        if (file) upload.mutate({ projectId, file });
      }}
    >
      <label className="field">
        <span>Add records from a file</span>
        <input type="file" accept=".csv,.tsv,.txt,.json,.jsonl,.ndjson,.xlsx" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <button type="submit" className="align-end" disabled={!file || upload.isPending}>
        Upload records
      </button>
      {upload.isError && (
        <p role="alert" className="form-error">
          {problemMessage(upload.error)}
        </p>
      )}
      {job.data && <JobProgress job={job.data} />}
    </form>
  );
}

function TokenizerForm({ projectId, current }: { projectId: string; current: string }) {
  const change = useChangeTokenizer(projectId);
  const [value, setValue] = useState(current);
  return (
    <form
      className="row wrap"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim() && value.trim() !== current) change.mutate(value.trim());
      }}
    >
      <label className="field">
        <span>Tokenizer (spaCy language code or installed model)</span>
        <input value={value} onChange={(e) => setValue(e.target.value)} maxLength={100} className="mono" />
      </label>
      <button type="submit" className="align-end" disabled={change.isPending || !value.trim() || value.trim() === current}>
        Change tokenizer
      </button>
    </form>
  );
}
