import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { TermsGrid } from "./TermsGrid";

const terms = Array.from({ length: 100_000 }, (_, i) => ({ id: `t${i}`, value: `term ${i}`, comment: null, blacklisted: false }));

describe("TermsGrid", () => {
  it("keeps only the rows in view in the DOM, and reaches the last term by scrolling", () => {
    render(<TermsGrid terms={terms} onUpdate={vi.fn()} onDelete={vi.fn()} />);
    const table = screen.getByRole("table", { name: "Terms" });
    expect(table.getAttribute("aria-rowcount")).toBe("100001");
    expect(screen.getAllByRole("row").length).toBeLessThan(40);
    expect(screen.getByText("term 0")).toBeTruthy();

    const scroller = table.querySelector(".h-terms") as HTMLElement;
    Object.defineProperty(scroller, "clientHeight", { value: 380, configurable: true });
    Object.defineProperty(scroller, "scrollTop", { value: 38 * 99_990, configurable: true });
    fireEvent.scroll(scroller);
    expect(screen.getByText("term 99999")).toBeTruthy();
    expect(screen.queryByText("term 0")).toBeNull();
    expect(screen.getAllByRole("row").length).toBeLessThan(40);
  });

  it("edits and blacklists through its callbacks", () => {
    const onUpdate = vi.fn();
    render(<TermsGrid terms={terms.slice(0, 3)} onUpdate={onUpdate} onDelete={vi.fn()} />);
    fireEvent.click(screen.getByRole("checkbox", { name: "Blacklist term 1" }));
    expect(onUpdate).toHaveBeenCalledWith(terms[1], { blacklisted: true });
    fireEvent.click(screen.getByRole("button", { name: "Edit term 2" }));
    fireEvent.change(screen.getByRole("textbox", { name: "New value of term 2" }), { target: { value: " two " } });
    fireEvent.click(screen.getByRole("button", { name: "Save term 2" }));
    expect(onUpdate).toHaveBeenLastCalledWith(terms[2], { value: "two", comment: null });
  });
});
