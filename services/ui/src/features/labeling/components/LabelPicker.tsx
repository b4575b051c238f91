import "./labeling-extra.css";
import { useEffect, useRef, useState, type CSSProperties, type KeyboardEvent } from "react";
import { searchLabels, visibleLabels } from "../labelSearch";
import type { Label } from "../api/labeling";

export function LabelButton({ label, pressed, onClick }: { label: Label; pressed: boolean; onClick: () => void }) {
  return (
    <button
      type="button"
      className={pressed ? "label-button pressed" : "label-button"}
      aria-label={label.name}
      aria-pressed={pressed}
      aria-keyshortcuts={label.hotkey ?? undefined}
      style={{ "--label-color": label.color } as CSSProperties}
      onClick={onClick}
    >
      <span className="swatch" aria-hidden="true" />
      {label.name}
      {label.hotkey && <kbd aria-hidden="true">{label.hotkey}</kbd>}
    </button>
  );
}

/**
 * A task's labels: the first `limit` as buttons (pressed ones always shown) and, when there are more, a "More labels"
 * button opening a label box with a search (Enter picks the first match, Esc closes). With `searchFirst` the box is
 * open from the start (the span label box of a selection with many labels).
 */
export function LabelPicker({
  taskName,
  labels,
  pressed,
  limit,
  searchFirst = false,
  onPick,
}: {
  taskName: string;
  labels: Label[];
  pressed: ReadonlySet<string>;
  limit: number;
  searchFirst?: boolean;
  onPick: (label: Label) => void;
}) {
  const { shown, more } = visibleLabels(labels, pressed, limit);
  const [open, setOpen] = useState(false);
  const boxOpen = open || (searchFirst && more > 0);
  return (
    <>
      {shown.map((label) => (
        <LabelButton key={label.id} label={label} pressed={pressed.has(label.id)} onClick={() => onPick(label)} />
      ))}
      {more > 0 && !boxOpen && (
        <button type="button" className="ghost small" aria-expanded={false} onClick={() => setOpen(true)}>
          More {taskName} labels ({more})
        </button>
      )}
      {boxOpen && (
        <LabelSearchBox
          taskName={taskName}
          labels={labels}
          pressed={pressed}
          autoFocus={open}
          onPick={(label) => {
            setOpen(false);
            onPick(label);
          }}
          onClose={() => setOpen(false)}
        />
      )}
    </>
  );
}

function LabelSearchBox({
  taskName,
  labels,
  pressed,
  autoFocus,
  onPick,
  onClose,
}: {
  taskName: string;
  labels: Label[];
  pressed: ReadonlySet<string>;
  autoFocus: boolean;
  onPick: (label: Label) => void;
  onClose: () => void;
}) {
  const [query, setQuery] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const found = searchLabels(labels, query);
  useEffect(() => {
    if (autoFocus) input.current?.focus();
  }, [autoFocus]);

  function onKey(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Enter") {
      event.preventDefault();
      const first = found[0];
      if (first) onPick(first);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.nativeEvent.stopImmediatePropagation();
      onClose();
      input.current?.blur();
    }
  }

  return (
    <div className="label-search" role="group" aria-label={`All ${taskName} labels`}>
      <input
        ref={input}
        type="search"
        value={query}
        aria-label={`Search ${taskName} labels`}
        placeholder={`Search ${labels.length} labels… (Enter picks the first)`}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={onKey}
      />
      <div className="row wrap label-search-results" aria-live="polite">
        {found.length === 0 && <span className="muted small">No label matches “{query}”.</span>}
        {found.map((label) => (
          <LabelButton key={label.id} label={label} pressed={pressed.has(label.id)} onClick={() => onPick(label)} />
        ))}
      </div>
    </div>
  );
}
