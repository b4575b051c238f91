import { useCallback, useState } from "react";
import { Link } from "react-router";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useProjects, type Project } from "../api/projects";
import { DeleteProjectDialog } from "./DeleteProjectDialog";
import { ImportSnapshotDialog } from "./ImportSnapshotDialog";
import { ProjectCard } from "./ProjectCard";
import { SampleProjectsMenu } from "./SampleProjectsMenu";

export function ProjectsPage() {
  const projects = useProjects();
  const [deleting, setDeleting] = useState<Project | null>(null);
  const [importing, setImporting] = useState(false);
  const closeImport = useCallback(() => setImporting(false), []);
  const closeDelete = useCallback(() => setDeleting(null), []);

  return (
    <main className="page" aria-labelledby="projects-title">
      <header className="page-head">
        <h1 id="projects-title">Projects</h1>
        <div className="row">
          <Link className="button primary" to="/projects/new">
            New project
          </Link>
          <button type="button" onClick={() => setImporting(true)}>
            Import snapshot
          </button>
          <SampleProjectsMenu />
        </div>
      </header>
      {projects.isPending && <Loading what="projects" />}
      {projects.isError && <ErrorBox error={projects.error} what="the projects" />}
      {projects.data?.length === 0 && (
        <section className="card empty">
          <h2>Start your first project</h2>
          <p>
            Upload a CSV, JSON, JSONL or XLSX file of records with <strong>New project</strong>, or bring a project
            export of refinery with <strong>Import snapshot</strong>.
          </p>
        </section>
      )}
      <div className="project-grid">
        {projects.data?.map((project) => <ProjectCard key={project.id} project={project} onDelete={setDeleting} />)}
      </div>
      {deleting && <DeleteProjectDialog project={deleting} onClose={closeDelete} />}
      {importing && <ImportSnapshotDialog onClose={closeImport} />}
    </main>
  );
}
