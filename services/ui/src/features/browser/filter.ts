import type { Schemas } from "../../api/client";

export type FilterGroup = Schemas["FilterGroup"];
export type Condition = NonNullable<FilterGroup["conditions"]>[number];
export type SortKey = Schemas["SortKey"];
export type Operator = Schemas["Operator"];
export type ConditionKind = Condition["kind"];

export const OPERATORS: readonly Operator[] = [
  "EQUAL",
  "BEGINS_WITH",
  "ENDS_WITH",
  "CONTAINS",
  "IN",
  "IN_WC",
  "BETWEEN",
  "GREATER",
  "GREATER_EQUAL",
  "LESS",
  "LESS_EQUAL",
];

/** What the data browser shows: the filter (one top-level group), the sort keys and the slice being edited. */
export interface BrowserQuery {
  filter: FilterGroup;
  sort: SortKey[];
  slice: string | null;
}

export const EMPTY_FILTER: FilterGroup = { kind: "group", join: "AND", negate: false, conditions: [] };
export const EMPTY_QUERY: BrowserQuery = { filter: EMPTY_FILTER, sort: [], slice: null };

const KINDS: ReadonlySet<string> = new Set([
  "attribute",
  "full_text",
  "manual_label",
  "gold_star",
  "weak_supervision",
  "heuristic",
  "heuristics_disagree",
  "no_heuristic_voted",
  "manual_ws_differ",
  "annotators_disagree",
  "has_comments",
  "in_slice",
  "similar",
  "group",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): value is string {
  return typeof value === "string";
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter(str) : [];
}

/** One condition read back from untrusted JSON (a URL, a stored slice); null when it is not a condition we know. */
export function parseCondition(value: unknown, depth = 0): Condition | null {
  if (!isObject(value) || !str(value.kind) || !KINDS.has(value.kind) || depth > 5) return null;
  const negate = value.negate === true;
  const mode = value.mode === "labels" || value.mode === "none" ? value.mode : "any";
  switch (value.kind) {
    case "group":
      return parseGroup(value, depth + 1);
    case "attribute": {
      const operator = OPERATORS.find((op) => op === value.operator) ?? "EQUAL";
      const values = Array.isArray(value.values)
        ? value.values.filter((v): v is string | number | boolean => ["string", "number", "boolean"].includes(typeof v))
        : [];
      return {
        kind: "attribute",
        attribute: str(value.attribute) ? value.attribute : null,
        operator,
        values,
        case_sensitive: value.case_sensitive === true,
        negate,
      };
    }
    case "manual_label":
      if (!str(value.task_id)) return null;
      return {
        kind: "manual_label",
        task_id: value.task_id,
        mode,
        label_ids: strings(value.label_ids),
        annotator_id: str(value.annotator_id) ? value.annotator_id : null,
        decided: value.decided === true,
        negate,
      };
    case "weak_supervision":
      if (!str(value.task_id)) return null;
      return {
        kind: "weak_supervision",
        task_id: value.task_id,
        mode,
        label_ids: strings(value.label_ids),
        min_confidence: typeof value.min_confidence === "number" ? value.min_confidence : null,
        max_confidence: typeof value.max_confidence === "number" ? value.max_confidence : null,
        negate,
      };
    case "heuristic":
      if (!str(value.heuristic_id)) return null;
      return { kind: "heuristic", heuristic_id: value.heuristic_id, mode, label_ids: strings(value.label_ids), negate };
    case "gold_star":
    case "heuristics_disagree":
    case "no_heuristic_voted":
    case "manual_ws_differ":
    case "annotators_disagree":
      if (!str(value.task_id)) return null;
      return { kind: value.kind, task_id: value.task_id, negate };
    case "full_text":
      if (!str(value.query)) return null;
      return { kind: "full_text", query: value.query, attribute: str(value.attribute) ? value.attribute : null, negate };
    case "has_comments":
      return { kind: "has_comments", negate };
    case "in_slice":
      if (!str(value.slice_id)) return null;
      return { kind: "in_slice", slice_id: value.slice_id, negate };
    case "similar": {
      if (!str(value.embedding_id)) return null;
      const recordId = typeof value.record_id === "number" && Number.isInteger(value.record_id) ? value.record_id : null;
      const topK = typeof value.top_k === "number" ? Math.min(1000, Math.max(1, Math.round(value.top_k))) : 100;
      return {
        kind: "similar",
        embedding_id: value.embedding_id,
        record_id: recordId,
        text: recordId === null && str(value.text) ? value.text : null,
        top_k: topK,
        min_score: typeof value.min_score === "number" ? value.min_score : null,
        negate,
      };
    }
    default:
      return null;
  }
}

export function parseGroup(value: unknown, depth = 0): FilterGroup {
  if (!isObject(value)) return EMPTY_FILTER;
  const conditions = Array.isArray(value.conditions)
    ? value.conditions.map((c) => parseCondition(c, depth)).filter((c): c is Condition => c !== null)
    : [];
  return { kind: "group", join: value.join === "OR" ? "OR" : "AND", negate: value.negate === true, conditions };
}

export function parseSort(value: unknown): SortKey[] {
  if (!Array.isArray(value)) return [];
  const out: SortKey[] = [];
  for (const item of value.slice(0, 5)) {
    if (!isObject(item)) continue;
    const direction = item.direction === "desc" ? "desc" : "asc";
    if (item.by === "attribute" && str(item.attribute)) out.push({ by: "attribute", attribute: item.attribute, direction });
    else if (item.by === "confidence" && str(item.task_id)) out.push({ by: "confidence", task_id: item.task_id, direction });
    else if (item.by === "random") out.push({ by: "random", seed: str(item.seed) ? item.seed : "1", direction });
    else if (item.by === "id") out.push({ by: "id", direction });
  }
  return out;
}

function parseJson(text: string | null): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The browser's query from the URL's search parameters (`filter`, `sort`, `slice`); anything malformed is dropped. */
export function queryFromParams(params: URLSearchParams): BrowserQuery {
  return {
    filter: parseGroup(parseJson(params.get("filter"))),
    sort: parseSort(parseJson(params.get("sort"))),
    slice: params.get("slice") || null,
  };
}

/** The URL's search parameters for a query: empty parts are left out, so a clear filter is a clean URL. */
export function paramsFromQuery(query: BrowserQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.filter.conditions?.length || query.filter.join === "OR" || query.filter.negate) {
    params.set("filter", JSON.stringify(query.filter));
  }
  if (query.sort.length) params.set("sort", JSON.stringify(query.sort));
  if (query.slice) params.set("slice", query.slice);
  return params;
}

/** A filter as the API wants it: null when it selects everything. */
export function apiFilter(filter: FilterGroup): FilterGroup | null {
  return filter.conditions?.length || filter.negate ? filter : null;
}

/** A condition of the given kind with sensible first values (the first task, heuristic, attribute). */
export function newCondition(
  kind: ConditionKind,
  defaults: { attribute?: string; taskId?: string; heuristicId?: string; sliceId?: string; embeddingId?: string },
): Condition | null {
  const taskId = defaults.taskId;
  switch (kind) {
    case "attribute":
      return { kind, attribute: defaults.attribute ?? null, operator: "CONTAINS", values: [""], case_sensitive: false, negate: false };
    case "manual_label":
      return taskId ? { kind, task_id: taskId, mode: "any", label_ids: [], annotator_id: null, decided: false, negate: false } : null;
    case "weak_supervision":
      return taskId
        ? { kind, task_id: taskId, mode: "any", label_ids: [], min_confidence: null, max_confidence: null, negate: false }
        : null;
    case "heuristic":
      return defaults.heuristicId ? { kind, heuristic_id: defaults.heuristicId, mode: "any", label_ids: [], negate: false } : null;
    case "gold_star":
    case "heuristics_disagree":
    case "no_heuristic_voted":
    case "manual_ws_differ":
    case "annotators_disagree":
      return taskId ? { kind, task_id: taskId, negate: false } : null;
    case "full_text":
      return { kind, query: "", attribute: null, negate: false };
    case "has_comments":
      return { kind, negate: false };
    case "in_slice":
      return defaults.sliceId ? { kind, slice_id: defaults.sliceId, negate: false } : null;
    case "similar":
      return defaults.embeddingId
        ? { kind, embedding_id: defaults.embeddingId, record_id: null, text: "", top_k: 100, min_score: null, negate: false }
        : null;
    case "group":
      return { ...EMPTY_FILTER };
    default:
      return null;
  }
}

/** Drop what the API would refuse while the user is still typing: attribute conditions without any value. */
export function completeFilter(filter: FilterGroup): FilterGroup {
  const conditions = (filter.conditions ?? [])
    .map((c): Condition | null => {
      if (c.kind === "group") {
        const inner = completeFilter(c);
        return inner.conditions?.length ? inner : null;
      }
      if (c.kind === "attribute") {
        const values = c.values.filter((v) => v !== "");
        const need = c.operator === "BETWEEN" ? 2 : 1;
        if (values.length < need) return null;
        return { ...c, values: c.operator === "BETWEEN" ? values.slice(0, 2) : c.operator.startsWith("IN") ? values : values.slice(0, 1) };
      }
      if (c.kind === "similar") return c.record_id != null || c.text?.trim() ? c : null;
      if ((c.kind === "manual_label" || c.kind === "weak_supervision" || c.kind === "heuristic") && c.mode === "labels") {
        return c.label_ids?.length ? c : null;
      }
      return c;
    })
    .filter((c): c is Condition => c !== null);
  return { ...filter, conditions };
}

/** The filter of a slice's records (static and outlier slices are read through their frozen records). */
export function sliceFilter(sliceId: string): FilterGroup {
  return { kind: "group", join: "AND", negate: false, conditions: [{ kind: "in_slice", slice_id: sliceId, negate: false }] };
}
