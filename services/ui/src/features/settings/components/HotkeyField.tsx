import { useState, type KeyboardEvent } from "react";
import { hotkeyProblem, type HotkeyLabel } from "../../labeling/hotkeys";

/**
 * A hotkey chosen by pressing the key: letters, digits and punctuation; reserved keys and keys another label of the
 * project has are refused with the reason.
 */
export function HotkeyField({
  labelId,
  labelName,
  value,
  labels,
  onChange,
}: {
  labelId: string;
  labelName: string;
  value: string | null | undefined;
  labels: readonly HotkeyLabel[];
  onChange: (key: string | null) => void;
}) {
  const [problem, setProblem] = useState<string | null>(null);

  function onKeyDown(event: KeyboardEvent<HTMLInputElement>) {
    if (event.key === "Tab" || event.key === "Shift" || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    const reason = hotkeyProblem(event.key, labelId, labels);
    setProblem(reason);
    if (!reason && event.key !== value) onChange(event.key);
  }

  return (
    <span className="hotkey-field">
      <input
        className="hotkey mono"
        aria-label={`Hotkey of ${labelName}`}
        value={value ?? ""}
        placeholder="press a key"
        readOnly
        onKeyDown={onKeyDown}
        aria-invalid={problem !== null}
      />
      {value && (
        <button type="button" className="ghost small" aria-label={`Clear hotkey of ${labelName}`} onClick={() => onChange(null)}>
          ×
        </button>
      )}
      {problem && (
        <span role="alert" className="form-error small">
          {problem}
        </span>
      )}
    </span>
  );
}
