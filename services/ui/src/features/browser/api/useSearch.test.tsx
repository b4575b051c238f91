import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderHook, waitFor } from "@testing-library/react";
import { delay, http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import type { ReactNode } from "react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FilterGroup } from "../filter";
import { useSearch } from "./browser";

// The search answers at the HTTP boundary: a filter for "slow" answers after 300 ms, any other at once.
const server = setupServer(
  http.post("*/api/v1/projects/p1/records/search", async ({ request }) => {
    const body = (await request.json()) as { filter: FilterGroup | null };
    const condition = body.filter?.conditions?.[0];
    const value = condition?.kind === "attribute" ? String(condition.values[0]) : "all";
    if (value === "slow") await delay(300);
    return HttpResponse.json({ items: [], total: value === "slow" ? 111 : 222, total_estimated: false, next_cursor: null });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

function attribute(value: string): FilterGroup {
  return {
    kind: "group",
    join: "AND",
    negate: false,
    conditions: [{ kind: "attribute", attribute: "text", operator: "EQUAL", values: [value], case_sensitive: false, negate: false }],
  };
}

describe("useSearch", () => {
  it("drops the answer of a superseded filter, even when it arrives last", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const wrapper = ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
    const { result, rerender } = renderHook(({ filter }) => useSearch("p1", filter, []), {
      wrapper,
      initialProps: { filter: attribute("slow") },
    });
    rerender({ filter: attribute("fast") });
    await waitFor(() => expect(result.current.data?.pages[0]?.total).toBe(222));
    await new Promise((resolve) => setTimeout(resolve, 400)); // the slow answer's time has passed
    expect(result.current.data?.pages[0]?.total).toBe(222);
    expect(result.current.isPlaceholderData).toBe(false);
  });
});
