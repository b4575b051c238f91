import { Navigate, useParams } from "react-router";
import { Loading } from "../../../shared/ErrorBox";
import { usePermissions } from "../api/assignments";

/** A project's first page: an annotator's home is their queue, everyone else starts labeling. */
export function ProjectHome() {
  const { projectId = "" } = useParams();
  const permissions = usePermissions(projectId);
  if (permissions.isPending) return <Loading what="your role" />;
  const annotator = permissions.data?.role === "ANNOTATOR";
  return <Navigate to={annotator ? "queue" : "labeling"} replace />;
}
