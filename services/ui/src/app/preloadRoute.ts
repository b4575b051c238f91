import { preloadable } from "../shared/preloadable";

/** The overview page: rendered without a suspense (and React's 300 ms reveal throttle) once preloaded. */
export const OverviewPageRoute = preloadable(() => import("../features/overview/components/OverviewPage"));

/**
 * The chunk of the page the app opens on starts loading with the app, beside the session check: the routes render
 * only once the session is known, and a lazy route would fetch its chunk only then (one round trip later).
 */
const CHUNKS: readonly (readonly [string, RegExp, () => Promise<unknown>])[] = [
  ["overview", /^\/projects\/[^/]+\/overview\/?$/, OverviewPageRoute.preload],
  ["data-browser", /^\/projects\/[^/]+\/data-browser\/?$/, () => import("../features/browser/components/DataBrowserPage")],
  ["labeling", /^\/projects\/[^/]+\/labeling(\/[^/]+)?\/?$/, () => import("../features/labeling/components/LabelingPage")],
];

/** The name of the page chunk a path opens (null: none is preloaded). */
export function routeChunk(pathname: string): string | null {
  return CHUNKS.find(([, pattern]) => pattern.test(pathname))?.[0] ?? null;
}

/** Start loading the chunk of the page at `pathname`, if it is one of the heavy pages. */
export function preloadRoute(pathname: string): void {
  const found = CHUNKS.find(([, pattern]) => pattern.test(pathname));
  if (found) void found[2]();
}
