import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, setUnauthorizedHandler, unwrap } from "./client";
import { ApiError, problemMessage } from "./problem";

// The gateway's answers at the HTTP boundary (msw), to check how the client turns them into values and messages.
const server = setupServer(
  http.get("*/api/v1/projects", () =>
    HttpResponse.json([{ id: "p1", name: "reviews", description: "", tokenizer: "en", status: "READY", created_at: "2026-12-05T08:00:00Z" }]),
  ),
  http.post("*/api/v1/projects", () =>
    HttpResponse.json(
      { type: "about:blank", title: "Conflict", status: 409, detail: "a project named 'reviews' exists already", instance: "/api/v1/projects" },
      { status: 409, headers: { "content-type": "application/problem+json" } },
    ),
  ),
  http.get("*/api/v1/auth/me", () =>
    HttpResponse.json({ title: "Unauthorized", status: 401, detail: "authentication required" }, { status: 401 }),
  ),
);

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe("the API client", () => {
  it("returns the data of a successful call", async () => {
    const projects = await unwrap(api.GET("/api/v1/projects"));
    expect(projects.map((p) => p.name)).toEqual(["reviews"]);
  });

  it("turns a problem response into an ApiError whose message is the problem's detail", async () => {
    const failing = unwrap(api.POST("/api/v1/projects", { body: { name: "reviews", description: "", tokenizer: "en" } }));
    await expect(failing).rejects.toBeInstanceOf(ApiError);
    const error = await failing.catch((e: unknown) => e);
    expect(problemMessage(error)).toBe("a project named 'reviews' exists already");
    expect((error as ApiError).status).toBe(409);
  });

  it("reports a 401 to the unauthorized handler (the app then shows the login page)", async () => {
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    await expect(unwrap(api.GET("/api/v1/auth/me"))).rejects.toThrow("authentication required");
    expect(handler).toHaveBeenCalledOnce();
    setUnauthorizedHandler(null);
  });
});
