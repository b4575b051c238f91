import { lazy, Suspense } from "react";
import type { CodeEditorProps } from "./CodeEditor";

const CodeEditor = lazy(() => import("./CodeEditor"));

/** The code editor, loaded on first use (CodeMirror is a chunk of its own, never in the pages' main bundle). Until it
 * is there the code shows read-only, and no control carries the editor's name (a test or a screen reader finds the
 * real editor, not the placeholder). */
export function LazyCodeEditor(props: CodeEditorProps) {
  return (
    <Suspense
      fallback={
        <pre className="mono code-fallback" aria-busy="true" title="Loading the editor…">
          {props.value}
        </pre>
      }
    >
      <CodeEditor {...props} />
    </Suspense>
  );
}
