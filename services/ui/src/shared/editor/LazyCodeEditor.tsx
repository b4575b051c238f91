import { lazy, Suspense } from "react";
import type { CodeEditorProps } from "./CodeEditor";

const CodeEditor = lazy(() => import("./CodeEditor"));

/** The code editor, loaded on first use (CodeMirror is a chunk of its own, never in the pages' main bundle). */
export function LazyCodeEditor(props: CodeEditorProps) {
  return (
    <Suspense
      fallback={
        <textarea
          className="mono code-fallback"
          aria-label={props.label}
          aria-busy="true"
          value={props.value}
          readOnly
          rows={12}
        />
      }
    >
      <CodeEditor {...props} />
    </Suspense>
  );
}
