import { useState } from "react";

/** Click to copy a name (attribute, label, import line) to the clipboard; says "copied" for a moment. */
export function CopyButton({ text, label, children }: { text: string; label?: string; children?: React.ReactNode }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="h-copy"
      aria-label={label ?? `Copy ${text}`}
      title="Click to copy"
      onClick={() => {
        void navigator.clipboard?.writeText(text).catch(() => undefined);
        setCopied(true);
        window.setTimeout(() => setCopied(false), 1200);
      }}
    >
      {children ?? text}
      {copied && <span className="small muted"> copied</span>}
    </button>
  );
}
