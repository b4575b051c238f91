import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { http, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Task } from "../../labeling/api/labeling";
import { BulkLabelDialog } from "./ActionDialogs";

const sent: { confirm_count?: number | null }[] = [];
// The bulk route as the gateway answers it: over 1,000 records a 409 naming the count unless it is confirmed.
const server = setupServer(
  http.post("*/api/v1/projects/p1/records/bulk-label", async ({ request }) => {
    const body = (await request.json()) as { confirm_count?: number | null };
    sent.push(body);
    if (body.confirm_count !== 1500) {
      return HttpResponse.json({ title: "Conflict", status: 409, detail: "the filter selects 1500 records", affected: 1500 }, { status: 409 });
    }
    return HttpResponse.json({ records: 1500, labels_written: 1500, labeling_task_id: "t1" });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());

const task: Task = {
  id: "t1",
  name: "sentiment",
  attribute: null,
  attribute_id: null,
  task_target: "ON_WHOLE_RECORD",
  task_type: "MULTICLASS_CLASSIFICATION",
  labels: [{ id: "l1", name: "pos", color: "#000", hotkey: null, labeling_task_id: "t1" } as Task["labels"][number]],
};

describe("BulkLabelDialog", () => {
  it("asks to confirm the count the server names over 1,000 records, then sends it back", async () => {
    let closed = false;
    render(
      <QueryClientProvider client={new QueryClient()}>
        <BulkLabelDialog pid="p1" tasks={[task]} filter={null} selection={[]} total={1500} onClose={() => (closed = true)} />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Label" }));
    await screen.findByText(/This labels/);
    expect(screen.getByRole("alert").textContent).toContain("1,500");
    expect(closed).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Label 1,500 records" }));
    await waitFor(() => expect(closed).toBe(true));
    expect(sent.map((b) => b.confirm_count ?? null)).toEqual([null, 1500]);
  });
});
