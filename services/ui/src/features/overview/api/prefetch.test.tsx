import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderHook } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import type { ReactNode } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { useTasks } from "../../labeling/api/labeling";
import { useConfusionMatrix, useLabelDistribution, useProgress } from "./metrics";
import { prefetchRouteData } from "./prefetch";

// The gateway's answers at the HTTP boundary; every request is counted by its path.
const asked: string[] = [];
const task = { id: "t1", name: "sentiment", attribute: null, task_type: "classification", labels: [] };
const server = setupServer(
  http.get("*/api/v1/projects/p1/*", ({ request }) => {
    const path = new URL(request.url).pathname.replace("/api/v1/projects/p1/", "");
    asked.push(path);
    if (path === "labeling-tasks") return HttpResponse.json([task]);
    if (path === "metrics/progress") return HttpResponse.json({ records: 7, tasks: [] });
    return HttpResponse.json([]);
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => void asked.splice(0));
afterAll(() => server.close());

/** Wait until no query of the client is in flight (after giving the first requests a moment to start). */
async function settled(client: QueryClient): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 200 && client.isFetching() > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

describe("prefetchRouteData", () => {
  it("asks for the overview's data of the first task before the page renders, under the keys the page reads", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 10_000 } } });
    prefetchRouteData(client, "/projects/p1/overview");
    await settled(client);
    expect([...asked].sort()).toEqual(
      [
        "attributes",
        "labeling-tasks",
        "metrics/agreement",
        "metrics/confidence-histogram",
        "metrics/confusion-matrix",
        "metrics/heuristics",
        "metrics/label-distribution",
        "metrics/progress",
      ].sort(),
    );
    // The page's hooks find the data in the cache: no second request.
    asked.splice(0);
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    const scope = { pid: "p1", sliceId: null };
    const { result } = renderHook(
      () => ({ tasks: useTasks("p1"), progress: useProgress(scope), distribution: useLabelDistribution(scope, "t1"), confusion: useConfusionMatrix(scope, "t1") }),
      { wrapper },
    );
    expect(result.current.tasks.data?.[0]?.id).toBe("t1");
    expect(result.current.progress.data?.records).toBe(7);
    expect(result.current.distribution.data).toEqual([]);
    expect(result.current.confusion.data).toEqual([]);
    await settled(client);
    expect(asked).toEqual([]);
  });

  it("asks for nothing on another page", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    prefetchRouteData(client, "/projects/p1/settings");
    prefetchRouteData(client, "/projects");
    await new Promise((r) => setTimeout(r, 50));
    expect(asked).toEqual([]);
    expect(client.getQueryCache().getAll()).toHaveLength(0);
  });
});
