import { Link } from "react-router";
import { percent, type Project } from "../api/projects";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function ProjectCard({ project, onDelete }: { project: Project; onDelete: (project: Project) => void }) {
  const records = project.record_count ?? 0;
  const target = records > 0 ? `/projects/${project.id}/labeling` : `/projects/${project.id}/settings`;
  return (
    <article className="card project-card" aria-labelledby={`project-${project.id}`}>
      <h2 id={`project-${project.id}`}>
        <Link to={target}>{project.name}</Link>
      </h2>
      <p className="description">{project.description || <span className="muted">No description</span>}</p>
      <dl className="stats">
        <div>
          <dt>Records</dt>
          <dd>{records.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Manually labeled</dt>
          <dd>{percent(project.manually_labeled ?? 0, records)}</dd>
        </div>
        <div>
          <dt>Weakly supervised</dt>
          <dd>{percent(project.weakly_supervised ?? 0, records)}</dd>
        </div>
      </dl>
      <p className="muted small">
        Created by {project.created_by_name ?? "a deleted user"} on {dateFormat.format(new Date(project.created_at))}
      </p>
      <div className="row">
        <Link className="button primary" to={target} aria-label={`Continue project ${project.name}`}>
          Continue project
        </Link>
        <button type="button" className="danger ghost" aria-label={`Delete project ${project.name}`} onClick={() => onDelete(project)}>
          Delete
        </button>
      </div>
    </article>
  );
}
