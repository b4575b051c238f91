import { useId, type ReactNode } from "react";
import type { Attribute, Task } from "../../labeling/api/labeling";
import type { Heuristic, Member, Slice } from "../api/browser";
import {
  EMPTY_FILTER,
  newCondition,
  OPERATORS,
  type BrowserQuery,
  type Condition,
  type ConditionKind,
  type SortKey,
} from "../filter";
import styles from "../browser.module.css";

export interface Catalog {
  attributes: Attribute[];
  tasks: Task[];
  heuristics: Heuristic[];
  slices: Slice[];
  members: Member[];
  unique: Record<string, { values: string[]; more: boolean }>;
  /** Finished attribute-level embeddings: what a "similar to" condition can use. */
  embeddings: { id: string; name: string }[];
}

const KIND_NAMES: Record<ConditionKind, string> = {
  attribute: "Attribute",
  full_text: "Full text",
  manual_label: "Manual label",
  weak_supervision: "Weak supervision",
  gold_star: "Gold star",
  heuristic: "Heuristic",
  heuristics_disagree: "Heuristics disagree",
  no_heuristic_voted: "No heuristic voted",
  manual_ws_differ: "Manual ≠ weak supervision",
  annotators_disagree: "Annotators disagree",
  has_comments: "Has comments",
  in_slice: "In slice",
  similar: "Similar to",
  group: "Group",
};

/** The task a condition belongs to (for grouping the rows), or null for attribute and project-wide conditions. */
function taskOf(condition: Condition, heuristics: Heuristic[]): string | null {
  if ("task_id" in condition) return condition.task_id;
  if (condition.kind === "heuristic") return heuristics.find((h) => h.id === condition.heuristic_id)?.labeling_task_id ?? null;
  return null;
}

/** The left pane's filter: grouped condition rows, AND/OR, order by, clear. Edits go straight to `onChange`. */
export function FilterPane({ query, onChange, catalog }: { query: BrowserQuery; onChange: (q: BrowserQuery) => void; catalog: Catalog }) {
  const conditions = query.filter.conditions ?? [];
  const setConditions = (next: Condition[]) => onChange({ ...query, filter: { ...query.filter, conditions: next } });
  const update = (index: number, next: Condition) => setConditions(conditions.map((c, i) => (i === index ? next : c)));
  const remove = (index: number) => setConditions(conditions.filter((_, i) => i !== index));
  const add = (kind: ConditionKind) => {
    const made = newCondition(kind, {
      attribute: catalog.attributes[0]?.name,
      taskId: catalog.tasks[0]?.id,
      heuristicId: catalog.heuristics[0]?.id,
      sliceId: catalog.slices[0]?.id,
      embeddingId: catalog.embeddings[0]?.id,
    });
    if (made) setConditions([...conditions, made]);
  };
  const sections: { title: string; rows: number[] }[] = [{ title: "Attributes", rows: [] }];
  for (const task of catalog.tasks) sections.push({ title: `Task ${task.name}`, rows: [] });
  sections.push({ title: "Other", rows: [] });
  conditions.forEach((c, i) => {
    if (c.kind === "attribute") sections[0]?.rows.push(i);
    else {
      const taskIndex = catalog.tasks.findIndex((t) => t.id === taskOf(c, catalog.heuristics));
      sections[taskIndex >= 0 ? taskIndex + 1 : sections.length - 1]?.rows.push(i);
    }
  });
  const unavailable = (kind: ConditionKind) =>
    (kind === "heuristic" && !catalog.heuristics.length) ||
    (kind === "in_slice" && !catalog.slices.length) ||
    (kind === "similar" && !catalog.embeddings.length) ||
    (!["attribute", "full_text", "has_comments", "in_slice", "group", "heuristic", "similar"].includes(kind) && !catalog.tasks.length);
  return (
    <section aria-labelledby="filter-title" className={styles.filter}>
      <div className="row between">
        <h2 id="filter-title">Filter</h2>
        <button type="button" className="ghost" onClick={() => onChange({ ...query, filter: EMPTY_FILTER, sort: [] })}>
          Clear filter
        </button>
      </div>
      <fieldset className={styles.join}>
        <legend className="sr-only">Join the conditions with</legend>
        {(["AND", "OR"] as const).map((join) => (
          <label key={join} className="check">
            <input
              type="radio"
              name="join"
              checked={query.filter.join === join}
              onChange={() => onChange({ ...query, filter: { ...query.filter, join } })}
            />
            {join === "AND" ? "All conditions (AND)" : "Any condition (OR)"}
          </label>
        ))}
      </fieldset>
      {sections
        .filter((s) => s.rows.length)
        .map((section) => (
          <div key={section.title} role="group" aria-label={section.title} className={styles.section}>
            <h3>{section.title}</h3>
            {section.rows.map((i) => {
              const condition = conditions[i];
              return condition ? (
                <ConditionRow key={i} index={i} condition={condition} catalog={catalog} onChange={(c) => update(i, c)} onRemove={() => remove(i)} />
              ) : null;
            })}
          </div>
        ))}
      <label className="field">
        <span>Add a condition</span>
        <select
          aria-label="Add a condition"
          value=""
          onChange={(e) => {
            if (e.target.value) add(e.target.value as ConditionKind);
          }}
        >
          <option value="">Choose a kind…</option>
          {(Object.keys(KIND_NAMES) as ConditionKind[])
            .filter((k) => k !== "group")
            .map((kind) => (
              <option key={kind} value={kind} disabled={unavailable(kind)}>
                {KIND_NAMES[kind]}
              </option>
            ))}
        </select>
      </label>
      <SortEditor sort={query.sort} onChange={(sort) => onChange({ ...query, sort })} catalog={catalog} />
    </section>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className={styles.inline}>
      <span className="sr-only">{label}</span>
      {children}
    </label>
  );
}

function TaskSelect({ value, tasks, onChange, label }: { value: string; tasks: Task[]; onChange: (id: string) => void; label: string }) {
  return (
    <Field label={label}>
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value)}>
        {tasks.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

function LabelChoice({
  labels,
  selected,
  onChange,
  label,
}: {
  labels: { id: string; name: string }[];
  selected: string[];
  onChange: (ids: string[]) => void;
  label: string;
}) {
  return (
    <div role="group" aria-label={label} className="row wrap">
      {labels.map((l) => (
        <label key={l.id} className="check small">
          <input
            type="checkbox"
            checked={selected.includes(l.id)}
            onChange={(e) => onChange(e.target.checked ? [...selected, l.id] : selected.filter((id) => id !== l.id))}
          />
          {l.name}
        </label>
      ))}
    </div>
  );
}

function ModeSelect({ value, onChange, label }: { value: "any" | "labels" | "none"; onChange: (m: "any" | "labels" | "none") => void; label: string }) {
  return (
    <Field label={label}>
      <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value as "any" | "labels" | "none")}>
        <option value="any">any label</option>
        <option value="labels">one of</option>
        <option value="none">no label</option>
      </select>
    </Field>
  );
}

function confidence(text: string): number | null {
  if (text === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : null;
}

/** One condition as a row of controls, named "<kind> <n>" for assistive technology and tests. */
function ConditionRow({
  index,
  condition,
  catalog,
  onChange,
  onRemove,
}: {
  index: number;
  condition: Condition;
  catalog: Catalog;
  onChange: (c: Condition) => void;
  onRemove: () => void;
}) {
  const name = `${KIND_NAMES[condition.kind]} condition ${index + 1}`;
  const listId = useId();
  const task = "task_id" in condition ? catalog.tasks.find((t) => t.id === condition.task_id) : undefined;
  let body: ReactNode = null;
  switch (condition.kind) {
    case "attribute": {
      const values = condition.values.map(String);
      const unique = condition.attribute ? catalog.unique[condition.attribute]?.values ?? [] : [];
      const setValues = (next: string[]) => onChange({ ...condition, values: next });
      body = (
        <>
          <Field label={`${name} attribute`}>
            <select
              aria-label={`${name} attribute`}
              value={condition.attribute ?? ""}
              onChange={(e) => onChange({ ...condition, attribute: e.target.value || null })}
            >
              <option value="">any attribute</option>
              {catalog.attributes
                .filter((a) => a.data_type !== "EMBEDDING_LIST")
                .map((a) => (
                  <option key={a.id} value={a.name}>
                    {a.name}
                  </option>
                ))}
            </select>
          </Field>
          <Field label={`${name} operator`}>
            <select
              aria-label={`${name} operator`}
              value={condition.operator}
              onChange={(e) => onChange({ ...condition, operator: e.target.value as typeof condition.operator })}
            >
              {OPERATORS.map((op) => (
                <option key={op} value={op}>
                  {op.toLowerCase().replaceAll("_", " ")}
                </option>
              ))}
            </select>
          </Field>
          {condition.operator === "BETWEEN" ? (
            <>
              <Field label={`${name} from`}>
                <input aria-label={`${name} from`} value={values[0] ?? ""} onChange={(e) => setValues([e.target.value, values[1] ?? ""])} />
              </Field>
              <Field label={`${name} to`}>
                <input aria-label={`${name} to`} value={values[1] ?? ""} onChange={(e) => setValues([values[0] ?? "", e.target.value])} />
              </Field>
            </>
          ) : condition.operator === "IN" || condition.operator === "IN_WC" ? (
            <Field label={`${name} values (comma-separated)`}>
              <input
                aria-label={`${name} values (comma-separated)`}
                value={values.join(",")}
                onChange={(e) => setValues(e.target.value.split(","))}
              />
            </Field>
          ) : (
            <Field label={`${name} value`}>
              <input aria-label={`${name} value`} list={listId} value={values[0] ?? ""} onChange={(e) => setValues([e.target.value])} />
              <datalist id={listId}>
                {unique.map((v) => (
                  <option key={v} value={v} />
                ))}
              </datalist>
            </Field>
          )}
          <label className="check small">
            <input
              type="checkbox"
              checked={condition.case_sensitive}
              onChange={(e) => onChange({ ...condition, case_sensitive: e.target.checked })}
            />
            Aa
            <span className="sr-only"> case-sensitive ({name})</span>
          </label>
        </>
      );
      break;
    }
    case "manual_label":
    case "weak_supervision": {
      body = (
        <>
          <TaskSelect label={`${name} task`} value={condition.task_id} tasks={catalog.tasks} onChange={(id) => onChange({ ...condition, task_id: id, label_ids: [] })} />
          <ModeSelect label={`${name} mode`} value={condition.mode} onChange={(mode) => onChange({ ...condition, mode })} />
          {condition.mode === "labels" ? (
            <LabelChoice label={`${name} labels`} labels={task?.labels ?? []} selected={condition.label_ids ?? []} onChange={(ids) => onChange({ ...condition, label_ids: ids })} />
          ) : null}
          {condition.kind === "manual_label" ? (
            <Field label={`${name} annotator`}>
              <select
                aria-label={`${name} annotator`}
                value={condition.annotator_id ?? ""}
                onChange={(e) => onChange({ ...condition, annotator_id: e.target.value || null })}
              >
                <option value="">by anyone</option>
                {catalog.members.map((m) => (
                  <option key={m.id} value={m.id}>
                    by {m.display_name || m.email}
                  </option>
                ))}
              </select>
              <label className="check small">
                <input
                  type="checkbox"
                  aria-label={`${name} decided label only`}
                  checked={condition.decided}
                  onChange={(e) => onChange({ ...condition, decided: e.target.checked })}
                />
                decided label only
              </label>
            </Field>
          ) : condition.mode !== "none" ? (
            <>
              <Field label={`${name} minimum confidence`}>
                <input
                  aria-label={`${name} minimum confidence`}
                  type="number"
                  min={0}
                  max={1}
                  step={0.05}
                  placeholder="min"
                  className={styles.num}
                  value={condition.min_confidence ?? ""}
                  onChange={(e) => onChange({ ...condition, min_confidence: confidence(e.target.value) })}
                />
              </Field>
              <Field label={`${name} maximum confidence`}>
                <input
                  aria-label={`${name} maximum confidence`}
                  type="number"
                  min={0}
                  max={1}
                  step={0.05}
                  placeholder="max"
                  className={styles.num}
                  value={condition.max_confidence ?? ""}
                  onChange={(e) => onChange({ ...condition, max_confidence: confidence(e.target.value) })}
                />
              </Field>
            </>
          ) : null}
        </>
      );
      break;
    }
    case "heuristic": {
      const heuristic = catalog.heuristics.find((h) => h.id === condition.heuristic_id);
      const labels = catalog.tasks.find((t) => t.id === heuristic?.labeling_task_id)?.labels ?? [];
      body = (
        <>
          <Field label={`${name} heuristic`}>
            <select
              aria-label={`${name} heuristic`}
              value={condition.heuristic_id}
              onChange={(e) => onChange({ ...condition, heuristic_id: e.target.value, label_ids: [] })}
            >
              {catalog.heuristics.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={`${name} vote`}>
            <select aria-label={`${name} vote`} value={condition.mode} onChange={(e) => onChange({ ...condition, mode: e.target.value as "any" | "labels" | "none" })}>
              <option value="any">voted</option>
              <option value="labels">voted one of</option>
              <option value="none">did not vote</option>
            </select>
          </Field>
          {condition.mode === "labels" ? (
            <LabelChoice label={`${name} labels`} labels={labels} selected={condition.label_ids ?? []} onChange={(ids) => onChange({ ...condition, label_ids: ids })} />
          ) : null}
        </>
      );
      break;
    }
    case "full_text":
      body = (
        <>
          <Field label={`${name} query`}>
            <input
              aria-label={`${name} query`}
              placeholder='words, "a phrase", -not, or'
              value={condition.query}
              onChange={(e) => onChange({ ...condition, query: e.target.value })}
            />
          </Field>
          <Field label={`${name} attribute`}>
            <select
              aria-label={`${name} attribute`}
              value={condition.attribute ?? ""}
              onChange={(e) => onChange({ ...condition, attribute: e.target.value || null })}
            >
              <option value="">all text</option>
              {catalog.attributes
                .filter((a) => a.data_type === "TEXT" || a.data_type === "CATEGORY")
                .map((a) => (
                  <option key={a.name} value={a.name}>
                    {a.name}
                  </option>
                ))}
            </select>
          </Field>
        </>
      );
      break;
    case "gold_star":
    case "heuristics_disagree":
    case "no_heuristic_voted":
    case "manual_ws_differ":
    case "annotators_disagree":
      body = <TaskSelect label={`${name} task`} value={condition.task_id} tasks={catalog.tasks} onChange={(id) => onChange({ ...condition, task_id: id })} />;
      break;
    case "in_slice":
      body = (
        <Field label={`${name} slice`}>
          <select aria-label={`${name} slice`} value={condition.slice_id} onChange={(e) => onChange({ ...condition, slice_id: e.target.value })}>
            {catalog.slices.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </Field>
      );
      break;
    case "similar": {
      const byRecord = condition.record_id != null;
      body = (
        <>
          <Field label={`${name} embedding`}>
            <select aria-label={`${name} embedding`} value={condition.embedding_id} onChange={(e) => onChange({ ...condition, embedding_id: e.target.value })}>
              {catalog.embeddings.map((e) => (
                <option key={e.id} value={e.id}>
                  {e.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label={`${name} to`}>
            <select
              aria-label={`${name} to`}
              value={byRecord ? "record" : "text"}
              onChange={(e) => onChange({ ...condition, record_id: e.target.value === "record" ? 1 : null, text: e.target.value === "record" ? null : "" })}
            >
              <option value="text">a text</option>
              <option value="record">record id</option>
            </select>
          </Field>
          {byRecord ? (
            <Field label={`${name} record id`}>
              <input
                aria-label={`${name} record id`}
                type="number"
                min={1}
                value={condition.record_id ?? ""}
                onChange={(e) => onChange({ ...condition, record_id: e.target.value ? Math.max(1, Math.round(Number(e.target.value))) : null })}
              />
            </Field>
          ) : (
            <Field label={`${name} text`}>
              <input
                aria-label={`${name} text`}
                placeholder="text to compare with"
                value={condition.text ?? ""}
                onChange={(e) => onChange({ ...condition, text: e.target.value })}
              />
            </Field>
          )}
          <Field label={`${name} top k`}>
            <input
              aria-label={`${name} top k`}
              type="number"
              min={1}
              max={1000}
              value={condition.top_k}
              onChange={(e) => onChange({ ...condition, top_k: Math.min(1000, Math.max(1, Math.round(Number(e.target.value) || 1))) })}
            />
          </Field>
        </>
      );
      break;
    }
    case "group":
      body = <span className="small muted">a group of {condition.conditions?.length ?? 0} conditions ({condition.join})</span>;
      break;
    case "has_comments":
      break;
  }
  return (
    <div role="group" aria-label={name} className={styles.condition}>
      <div className="row between">
        <strong className="small">{KIND_NAMES[condition.kind]}</strong>
        <span className="row">
          <label className="check small">
            <input type="checkbox" checked={condition.negate} onChange={(e) => onChange({ ...condition, negate: e.target.checked })} />
            not
            <span className="sr-only"> ({name})</span>
          </label>
          <button type="button" className="ghost" aria-label={`Remove ${name}`} onClick={onRemove}>
            ×
          </button>
        </span>
      </div>
      <div className="row wrap">{body}</div>
    </div>
  );
}

function SortEditor({ sort, onChange, catalog }: { sort: SortKey[]; onChange: (s: SortKey[]) => void; catalog: Catalog }) {
  const options: { value: string; label: string; key: SortKey }[] = [
    ...catalog.attributes
      .filter((a) => a.data_type !== "EMBEDDING_LIST")
      .map((a) => ({ value: `attribute:${a.name}`, label: a.name, key: { by: "attribute", attribute: a.name, direction: "asc" } as SortKey })),
    ...catalog.tasks.map((t) => ({
      value: `confidence:${t.id}`,
      label: `confidence (${t.name})`,
      key: { by: "confidence", task_id: t.id, direction: "desc" } as SortKey,
    })),
    { value: "random", label: "random", key: { by: "random", seed: String(Math.floor(Math.random() * 1e6)), direction: "asc" } },
  ];
  const valueOf = (key: SortKey) => (key.by === "attribute" ? `attribute:${key.attribute}` : key.by === "confidence" ? `confidence:${key.task_id}` : key.by);
  const set = (index: number, key: SortKey) => onChange(sort.map((k, i) => (i === index ? key : k)));
  return (
    <div role="group" aria-label="Order by" className={styles.section}>
      <h3>Order by</h3>
      {sort.map((key, i) => (
        <div key={i} className="row wrap">
          <select
            aria-label={`Order by key ${i + 1}`}
            value={valueOf(key)}
            onChange={(e) => {
              const found = options.find((o) => o.value === e.target.value);
              if (found) set(i, { ...found.key });
            }}
          >
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
            {key.by === "id" ? <option value="id">record id</option> : null}
          </select>
          {key.by === "random" ? (
            <input aria-label={`Random seed ${i + 1}`} className={styles.num} value={key.seed ?? ""} onChange={(e) => set(i, { ...key, seed: e.target.value || "1" })} />
          ) : (
            <select aria-label={`Direction ${i + 1}`} value={key.direction} onChange={(e) => set(i, { ...key, direction: e.target.value === "desc" ? "desc" : "asc" })}>
              <option value="asc">ascending</option>
              <option value="desc">descending</option>
            </select>
          )}
          <button type="button" className="ghost" aria-label={`Remove order key ${i + 1}`} onClick={() => onChange(sort.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
      {sort.length < 5 && options[0] ? (
        <button type="button" className="ghost" onClick={() => onChange([...sort, { ...(options[0]?.key as SortKey) }])}>
          + Order key
        </button>
      ) : null}
    </div>
  );
}
