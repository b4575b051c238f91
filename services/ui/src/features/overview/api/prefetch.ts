import type { QueryClient } from "@tanstack/react-query";
import { attributesQuery, tasksQuery } from "../../labeling/api/labeling";
import {
  agreementQuery,
  confidenceHistogramQuery,
  confusionMatrixQuery,
  heuristicFiguresQuery,
  labelDistributionQuery,
  progressQuery,
  type Scope,
} from "./metrics";

/**
 * Ask for the overview's data as the app starts, beside the session check, instead of after it (the page renders
 * only once the session is known, then asks for the tasks, then for the first task's figures: three round trips in a
 * row). Fills the query cache under the keys the page reads: the page's first view (all records, the first task) finds
 * its data there or in flight. A failed prefetch stores nothing the page cannot retry: the page's queries ask again.
 */
export async function prefetchOverview(client: QueryClient, pid: string): Promise<void> {
  const scope: Scope = { pid, sliceId: null };
  void client.prefetchQuery(attributesQuery(pid));
  void client.prefetchQuery(progressQuery(scope));
  const tasks = await client.fetchQuery(tasksQuery(pid)).catch(() => undefined);
  const first = tasks?.[0]?.id;
  if (!first) return;
  void client.prefetchQuery(labelDistributionQuery(scope, first));
  void client.prefetchQuery(confidenceHistogramQuery(scope, first));
  void client.prefetchQuery(confusionMatrixQuery(scope, first));
  void client.prefetchQuery(heuristicFiguresQuery(scope, first));
  void client.prefetchQuery(agreementQuery(scope, first));
}

const OVERVIEW = /^\/projects\/([^/]+)\/overview\/?$/;

/** Start the data queries of the page at `pathname` (only the overview has any so far). */
export function prefetchRouteData(client: QueryClient, pathname: string): void {
  const match = OVERVIEW.exec(pathname);
  if (match?.[1]) void prefetchOverview(client, decodeURIComponent(match[1]));
}
