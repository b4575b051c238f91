import { indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { EditorState, StateEffect, StateField, type Extension } from "@codemirror/state";
import { Decoration, EditorView, keymap, type DecorationSet } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";

/** What the lazily loaded editor takes; see LazyCodeEditor for the wrapper every page uses. */
export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  /** Ctrl/⌘+S. */
  onSave?: () => void;
  /** Shift+Enter. */
  onRun?: () => void;
  /** The editor's accessible name. */
  label: string;
  /** A 1-based line to mark (the line an error points at). */
  errorLine?: number | null;
  readOnly?: boolean;
  minHeight?: string;
}

const setErrorLine = StateEffect.define<number | null>();
const errorMark = Decoration.line({ class: "cm-error-line" });

const errorLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let next = marks.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setErrorLine)) continue;
      const line = effect.value;
      next = line !== null && line >= 1 && line <= tr.state.doc.lines ? Decoration.set([errorMark.range(tr.state.doc.line(line).from)]) : Decoration.none;
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const theme = EditorView.theme({
  "&": { border: "1px solid #d1d5db", borderRadius: "8px", fontSize: "0.9rem", background: "#fff" },
  "&.cm-focused": { outline: "2px solid #4f46e5", outlineOffset: "2px" },
  ".cm-scroller": { fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, monospace' },
  ".cm-error-line": { background: "#fee2e2" },
});

/** CodeMirror 6 with Python: the whole editor lives in this module so that it is its own, lazily loaded chunk. */
export default function CodeEditor({ value, onChange, onSave, onRun, label, errorLine = null, readOnly = false, minHeight = "14rem" }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const handlers = useRef({ onChange, onSave, onRun });
  handlers.current = { onChange, onSave, onRun };

  useEffect(() => {
    if (!host.current) return;
    const keys = keymap.of([
      { key: "Mod-s", preventDefault: true, run: () => (handlers.current.onSave?.(), true) },
      { key: "Shift-Enter", run: () => (handlers.current.onRun ? (handlers.current.onRun(), true) : false) },
      indentWithTab,
    ]);
    const extensions: Extension[] = [
      keys,
      basicSetup,
      python(),
      theme,
      errorLineField,
      EditorView.theme({ ".cm-content, .cm-gutter": { minHeight } }),
      EditorView.contentAttributes.of({ "aria-label": label }),
      EditorState.readOnly.of(readOnly),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) handlers.current.onChange(update.state.doc.toString());
      }),
    ];
    const created = new EditorView({ parent: host.current, state: EditorState.create({ doc: value, extensions }) });
    view.current = created;
    return () => {
      created.destroy();
      view.current = null;
    };
    // the editor is created once per mount; value changes from outside are applied below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label, readOnly, minHeight]);

  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: setErrorLine.of(errorLine) });
  }, [errorLine]);

  return <div ref={host} className="code-editor" data-testid="code-editor" />;
}
