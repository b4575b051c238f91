import "../../../shared/menu.css";
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { useNavigate } from "react-router";
import { problemMessage } from "../../../api/problem";
import { toast } from "../../../shared/toasts";
import { sessionTitle, useHeuristics, useMySessions, useSlices, useStartSession, type LabelingSession } from "../api/sessions";

/**
 * "Sessions": label all records, a data slice or a heuristic's hits (a server-side session is started), or go back to
 * one of the user's sessions at the position reached.
 */
export function SessionMenu({ projectId, current }: { projectId: string; current: LabelingSession | null }) {
  const [open, setOpen] = useState(false);
  const slices = useSlices(projectId, open);
  const heuristics = useHeuristics(projectId, open);
  const mine = useMySessions(projectId, open);
  const start = useStartSession(projectId);
  const navigate = useNavigate();
  const menuId = useId();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    if (!ref.current?.contains(document.activeElement) || document.activeElement?.getAttribute("role") !== "menuitem")
      ref.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const close = (event: MouseEvent) => !ref.current?.contains(event.target as Node) && setOpen(false);
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open, slices.data, heuristics.data, mine.data]);

  function onMenuKey(event: KeyboardEvent) {
    // the page's own keys (←/→, hotkeys) must not act while the menu is open
    event.stopPropagation();
    event.nativeEvent.stopImmediatePropagation();
    if (event.key === "Escape") setOpen(false);
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    event.preventDefault();
    const items = [...(ref.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    items[(at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
  }

  function begin(body: Parameters<typeof start.mutate>[0]) {
    setOpen(false);
    start.mutate(body, {
      onSuccess: (session) => navigate(`/projects/${projectId}/labeling/${session.id}?pos=0`),
      onError: (error) => toast.error(`The session was not started: ${problemMessage(error)}`),
    });
  }

  const go = (path: string) => {
    setOpen(false);
    navigate(path);
  };

  return (
    <div className="menu-anchor" ref={ref}>
      <button
        type="button"
        className="ghost"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={menuId}
        disabled={start.isPending}
        onClick={() => setOpen((v) => !v)}
      >
        Sessions ▾
      </button>
      {open && (
        <div id={menuId} role="menu" aria-label="Labeling sessions" className="menu card" onKeyDown={onMenuKey}>
          <button type="button" role="menuitem" className="menu-item" onClick={() => go(`/projects/${projectId}/labeling?pos=0`)}>
            All records
          </button>
          <div role="group" aria-label="Data slices">
            <p className="muted small menu-heading">Data slices</p>
            {slices.isPending && <p className="muted small">Loading…</p>}
            {slices.data?.length === 0 && <p className="muted small">No slices yet (save one in the data browser).</p>}
            {slices.data?.map((slice) => (
              <button
                key={slice.id}
                type="button"
                role="menuitem"
                className="menu-item"
                onClick={() => begin({ slice_id: slice.id, name: `slice ${slice.name}`, position: 0 })}
              >
                Slice {slice.name} <span className="muted small">{slice.count ?? "?"} records</span>
              </button>
            ))}
          </div>
          <div role="group" aria-label="Heuristics">
            <p className="muted small menu-heading">Heuristics&apos; hits</p>
            {heuristics.data?.length === 0 && <p className="muted small">No heuristics yet.</p>}
            {heuristics.data?.map((heuristic) => (
              <button
                key={heuristic.id}
                type="button"
                role="menuitem"
                className="menu-item"
                onClick={() => begin({ heuristic_id: heuristic.id, name: `heuristic ${heuristic.name}`, position: 0 })}
              >
                Heuristic {heuristic.name}
              </button>
            ))}
          </div>
          {(mine.data?.length ?? 0) > 0 && (
            <div role="group" aria-label="Your sessions">
              <p className="muted small menu-heading">Your sessions</p>
              {mine.data?.slice(0, 10).map((session) => (
                <button
                  key={session.id}
                  type="button"
                  role="menuitem"
                  className="menu-item"
                  aria-current={session.id === current?.id ? "true" : undefined}
                  onClick={() => go(`/projects/${projectId}/labeling/${session.id}?pos=${session.position}`)}
                >
                  {sessionTitle(session)}{" "}
                  <span className="muted small">
                    {session.position + 1} / {session.total}
                  </span>
                </button>
              ))}
            </div>
          )}
        </div>
      )}
    </div>
  );
}
