import { Link, NavLink, Navigate, Outlet, useLocation, useNavigate, useParams } from "react-router";
import { ErrorBoundary } from "../shared/ErrorBoundary";
import { ErrorBox, Loading } from "../shared/ErrorBox";
import { useLogout, useMe } from "../features/auth/api/auth";
import { useLiveEvents } from "../features/jobs/hooks/useLiveEvents";
import { useProject } from "../features/projects/api/projects";
import { NotificationCenter } from "../features/notifications/components/NotificationCenter";
import { mayUse, usePermissions } from "../features/assignments/api/assignments";

/** Everything behind login: the header, live events and the page. Without a session it sends the user to /login. */
export function AuthenticatedShell() {
  const me = useMe();
  const location = useLocation();
  useLiveEvents(Boolean(me.data));
  if (me.isPending) return <Loading what="your session" />;
  if (me.isError) return <ErrorBox error={me.error} what="your session" />;
  if (!me.data) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return (
    <div className="app">
      <Header email={me.data.email} name={me.data.display_name} />
      <ErrorBoundary>
        <Outlet />
      </ErrorBoundary>
    </div>
  );
}

function Header({ email, name }: { email: string; name: string }) {
  const logout = useLogout();
  const navigate = useNavigate();
  return (
    <header className="topbar">
      <Link to="/projects" className="brand" aria-label="refinery: all projects">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>{" "}
        refinery
      </Link>
      <nav aria-label="Main" className="row">
        <NavLink to="/projects" end>
          Projects
        </NavLink>
        <NavLink to="/account/tokens">API tokens</NavLink>
        <NavLink to="/config">Configuration</NavLink>
      </nav>
      <div className="row user">
        <NotificationCenter />
        <span className="muted small" title={email}>
          {name || email}
        </span>
        <button type="button" className="ghost" onClick={() => logout.mutate(undefined, { onSettled: () => navigate("/login") })}>
          Log out
        </button>
      </div>
    </header>
  );
}

const SECTIONS = [
  { path: "queue", label: "My queue", needsRecords: true },
  { path: "overview", label: "Overview", needsRecords: true },
  { path: "data-browser", label: "Data browser", needsRecords: true },
  { path: "labeling", label: "Labeling", needsRecords: true },
  { path: "heuristics", label: "Heuristics", needsRecords: true },
  { path: "lookup-lists", label: "Lookup lists", needsRecords: false },
  { path: "record-ide", label: "Record IDE", needsRecords: true },
  { path: "settings", label: "Settings", needsRecords: false },
  { path: "team", label: "Team", needsRecords: true },
] as const;

/** A project's pages: the sidebar (links disabled until the project has records) beside the page. */
export function ProjectShell() {
  const { projectId = "" } = useParams();
  const project = useProject(projectId);
  const hasRecords = (project.data?.record_count ?? 0) > 0;
  const permissions = usePermissions(projectId);
  return (
    <div className="project-layout">
      <nav className="sidebar" aria-label="Project">
        <div className="sidebar-title" title={project.data?.name}>
          {project.data?.name ?? "…"}
        </div>
        {SECTIONS.filter((section) => mayUse(permissions.data?.actions, section.path)).map((section) =>
          section.needsRecords && !hasRecords ? (
            <span key={section.path} className="side-link disabled" role="link" aria-disabled="true" title="The project has no records yet">
              {section.label}
            </span>
          ) : (
            <NavLink key={section.path} to={`/projects/${projectId}/${section.path}`} className="side-link">
              {section.label}
            </NavLink>
          ),
        )}
      </nav>
      <div className="project-main">
        {project.isError ? <ErrorBox error={project.error} what="the project" /> : <Outlet />}
      </div>
    </div>
  );
}

export function NotFoundPage() {
  return (
    <main className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/projects">Back to the projects</Link>
      </p>
    </main>
  );
}
