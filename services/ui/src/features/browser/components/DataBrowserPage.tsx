import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { useAttributes, useTasks } from "../../labeling/api/labeling";
import { usePermissions } from "../../assignments/api/assignments";
import { EditRecordDialog } from "../../record-edit/components/EditRecordDialog";
import {
  findSimilar,
  useCreateSession,
  useEmbeddings,
  useHeuristics,
  useMembers,
  useRecordComments,
  useSearch,
  useSlices,
  useUniqueValues,
  useUpdateSlice,
  type FoundRecord,
  type SimilarHit,
  type Slice,
} from "../api/browser";
import { apiFilter, completeFilter, paramsFromQuery, parseGroup, queryFromParams, sliceFilter, type BrowserQuery } from "../filter";
import { useDebounced } from "../hooks/useDebounced";
import { similarFilters } from "../similarWhere";
import styles from "../browser.module.css";
import { BulkLabelDialog, LabelingFunctionDialog, SaveSliceDialog } from "./ActionDialogs";
import { ExportDialog } from "./ExportDialog";
import { FilterPane, type Catalog } from "./FilterPane";
import { ResultCard } from "./ResultCard";
import { SlicesPane } from "./SlicesPane";
import { VirtualList } from "./VirtualList";

export const DEBOUNCE_MS = 150;
const NO_COMMENTS: never[] = [];
export const ROW_HEIGHT = 236;

type DialogName = "save" | "bulk" | "lf" | "export" | null;

interface SimilarState {
  recordId: number;
  embedding: string;
  hits: SimilarHit[];
}

/** The data browser: slices and the filter on the left, the virtualized result on the right; the filter is in the URL. */
export default function DataBrowserPage() {
  const { projectId = "" } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const urlText = params.toString();
  const urlQuery = useMemo(() => queryFromParams(new URLSearchParams(urlText)), [urlText]);
  const [draft, setDraft] = useState<BrowserQuery>(urlQuery);
  const written = useRef(urlText);
  // The URL changed from outside (back, a shared link, a slice opened): edit that query.
  useEffect(() => {
    if (urlText !== written.current) {
      written.current = urlText;
      setDraft(urlQuery);
    }
  }, [urlText, urlQuery]);
  const draftKey = JSON.stringify([draft.filter, draft.sort, draft.slice]);
  const settled = useDebounced(draft, draftKey, DEBOUNCE_MS);
  const settledKey = JSON.stringify([settled.filter, settled.sort, settled.slice]);
  useEffect(() => {
    const next = paramsFromQuery(settled).toString();
    if (next !== written.current) {
      written.current = next;
      setParams(new URLSearchParams(next), { replace: true });
    }
  }, [settledKey]); // eslint-style: settled travels with its key

  const filter = useMemo(() => completeFilter(settled.filter), [settledKey]);
  const search = useSearch(projectId, filter, settled.sort);
  const attributes = useAttributes(projectId);
  const tasks = useTasks(projectId);
  const heuristics = useHeuristics(projectId);
  const slices = useSlices(projectId);
  const members = useMembers(projectId);
  const embeddings = useEmbeddings(projectId);
  const unique = useUniqueValues(projectId);
  const comments = useRecordComments(projectId);
  const updateSlice = useUpdateSlice(projectId);
  const createSession = useCreateSession(projectId);

  const [dialog, setDialog] = useState<DialogName>(null);
  const [selection, setSelection] = useState<ReadonlySet<number>>(new Set());
  const [similar, setSimilar] = useState<SimilarState | null>(null);
  const [similarBusy, setSimilarBusy] = useState(false);
  const [editing, setEditing] = useState<FoundRecord | null>(null);
  const [similarBy, setSimilarBy] = useState<string | null>(null); // the embedding "find similar" uses (null: the first)
  const [similarWhere, setSimilarWhere] = useState<Record<string, string>>({}); // per filter attribute: values typed
  const permissions = usePermissions(projectId);
  const mayEdit = permissions.data?.actions.includes("EDIT_PROJECT") ?? false;
  useEffect(() => setSelection(new Set()), [settledKey]);

  const usableEmbeddings = (embeddings.data ?? []).filter((e) => e.type === "ON_ATTRIBUTE" && e.state === "FINISHED");
  const catalog: Catalog = {
    attributes: attributes.data ?? [],
    tasks: tasks.data ?? [],
    heuristics: heuristics.data ?? [],
    slices: slices.data ?? [],
    members: members.data ?? [],
    unique: unique.data ?? {},
    embeddings: usableEmbeddings,
  };
  const visible = useMemo(
    () => (attributes.data ?? []).filter((a) => a.visibility !== "HIDE" && a.visibility !== "HIDE_ON_DATA_BROWSER" && a.data_type !== "EMBEDDING_LIST"),
    [attributes.data],
  );
  const records: FoundRecord[] = useMemo(() => search.data?.pages.flatMap((p) => p.items) ?? [], [search.data]);
  const total = search.data?.pages[0]?.total ?? null;
  const estimated = search.data?.pages[0]?.total_estimated ?? false;
  const pending = draftKey !== settledKey || (search.isFetching && !search.isFetchingNextPage);
  const activeSlice = catalog.slices.find((s) => s.id === settled.slice) ?? null;
  const similarEmbedding = usableEmbeddings.find((e) => e.id === similarBy) ?? usableEmbeddings[0];

  const { hasNextPage, isFetchingNextPage, fetchNextPage } = search;
  const loadMore = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);

  const toggle = useCallback((id: number, on: boolean) => {
    setSelection((old) => {
      const next = new Set(old);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  }, []);

  const openSlice = (slice: Slice | null) => {
    setSimilar(null);
    if (!slice) return setDraft({ ...draft, slice: null });
    const opened =
      slice.type === "DYNAMIC_DEFAULT"
        ? parseGroup(slice.filter)
        : sliceFilter(slice.id);
    setDraft({ filter: opened, sort: draft.sort, slice: slice.id });
  };

  // A shared link names only the slice: load its filter once the slices are known.
  useEffect(() => {
    if (!settled.slice || draft.filter.conditions?.length || !slices.data) return;
    const slice = slices.data.find((s) => s.id === settled.slice);
    if (slice) openSlice(slice);
  }, [slices.data, settled.slice]);

  const onSimilar = useCallback(
    (recordId: number) => {
      const embedding = similarEmbedding;
      if (!embedding) return;
      setSimilarBusy(true);
      const filters = similarFilters(similarWhere, embedding.filter_attributes, attributes.data ?? []);
      findSimilar(projectId, embedding.id, recordId, filters)
        .then((hits) => setSimilar({ recordId, embedding: embedding.name, hits }))
        .catch((e: unknown) => toast.error(`No similar records: ${problemMessage(e)}`))
        .finally(() => setSimilarBusy(false));
    },
    [projectId, similarEmbedding?.id, similarWhere, attributes.data],
  );

  const labelFrom = useCallback(
    (position: number) => {
      const body = similar
        ? { name: `Similar to record ${similar.recordId}`, record_ids: similar.hits.map((h) => h.record_id), position, sort: [] }
        : { name: activeSlice ? `Slice ${activeSlice.name}` : "Data browser result", filter: apiFilter(filter), sort: settled.sort, position };
      createSession.mutate(body, {
        onSuccess: (session) => navigate(`/projects/${projectId}/labeling/${session.id}?pos=${session.position}`),
        onError: (e) => toast.error(`No labeling session: ${problemMessage(e)}`),
      });
    },
    [similar, activeSlice, filter, settled.sort, projectId],
  );

  const taskList = useMemo(() => tasks.data ?? [], [tasks.data]);
  const shownCount = similar ? similar.hits.length : (total ?? records.length);
  const commentsOf = comments.data;
  const similarRecords: FoundRecord[] = useMemo(
    () => similar?.hits.map((h) => ({ id: h.record_id, data: h.data ?? {}, labels: [], highlights: {} })) ?? [],
    [similar],
  );
  const renderRow = (index: number) => {
    const record = similar ? similarRecords[index] : records[index];
    if (!record) return <div className={`${styles.card} card muted`} aria-busy="true">Loading record {index + 1}…</div>;
    return (
      <ResultCard
        record={record}
        position={index}
        attributes={visible}
        tasks={taskList}
        comments={commentsOf?.get(String(record.id)) ?? NO_COMMENTS}
        selected={selection.has(record.id)}
        score={similar?.hits[index]?.score}
        onToggle={toggle}
        onSimilar={usableEmbeddings.length ? onSimilar : null}
        onLabelFromHere={labelFrom}
        onEdit={mayEdit && !similar ? setEditing : null}
      />
    );
  };

  if (attributes.isError) return <ErrorBox error={attributes.error} what="the attributes" />;
  if (attributes.isPending || tasks.isPending) return <Loading what="the data browser" />;

  return (
    <main className={styles.browser} aria-labelledby="browser-title">
      <aside className={styles.left} aria-label="Slices and filter">
        <SlicesPane pid={projectId} slices={catalog.slices} active={settled.slice} embeddings={embeddings.data ?? []} onOpen={openSlice} />
        <FilterPane query={draft} onChange={(q) => (setSimilar(null), setDraft(q))} catalog={catalog} />
      </aside>
      <section className={styles.results} aria-labelledby="browser-title">
        <header className={styles.toolbar}>
          <h1 id="browser-title" className="sr-only">
            Data browser
          </h1>
          <p className={styles.count} aria-live="polite" data-testid="result-count">
            {similar ? (
              <>
                <strong>{similar.hits.length}</strong> records similar to record {similar.recordId} ({similar.embedding}){" "}
                <button type="button" className="ghost" onClick={() => setSimilar(null)}>
                  Back to the filter
                </button>
              </>
            ) : (
              <>
                <strong data-testid="result-total">{total === null ? "…" : total.toLocaleString("en-US")}</strong> {estimated ? "records (estimated)" : "records"}
                {activeSlice ? <span className="muted"> in slice {activeSlice.name}</span> : null}
              </>
            )}
            {pending || similarBusy ? <span className={styles.spinner} role="status" aria-label="Loading results" /> : null}
            {selection.size ? <span className="muted"> · {selection.size} selected</span> : null}
          </p>
          <div className="row wrap">
            <button type="button" onClick={() => setDialog("save")} disabled={Boolean(similar)}>
              Save slice
            </button>
            {activeSlice && activeSlice.type !== "STATIC_OUTLIER" ? (
              <button
                type="button"
                disabled={updateSlice.isPending || Boolean(similar)}
                onClick={() =>
                  updateSlice.mutate(
                    { id: activeSlice.id, filter: activeSlice.type === "STATIC_DEFAULT" && draft.filter.conditions?.[0]?.kind === "in_slice" ? parseGroup(activeSlice.filter) : filter, refreeze: activeSlice.type === "STATIC_DEFAULT" },
                    {
                      onSuccess: (s) => toast.success(`Slice ${s.name} updated (${s.count ?? 0} records)`),
                      onError: (e) => toast.error(`The slice was not updated: ${problemMessage(e)}`),
                    },
                  )
                }
              >
                Update slice
              </button>
            ) : null}
            <button type="button" onClick={() => setDialog("bulk")}>
              Label…
            </button>
            <button type="button" onClick={() => labelFrom(0)} disabled={shownCount === 0 || createSession.isPending}>
              Continue labeling
            </button>
            <button type="button" onClick={() => setDialog("lf")} disabled={Boolean(similar)}>
              Labeling function from filter
            </button>
            <button type="button" onClick={() => setDialog("export")}>
              Export…
            </button>
            {usableEmbeddings.length ? (
              <label className="row small">
                Find similar by
                <select aria-label="Embedding for find similar" value={similarEmbedding?.id ?? ""} onChange={(e) => setSimilarBy(e.target.value)}>
                  {usableEmbeddings.map((e) => (
                    <option key={e.id} value={e.id}>
                      {e.name}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
            {similarEmbedding?.filter_attributes.map((name) => (
              <label key={name} className="row small">
                only where {name} is
                <input
                  aria-label={`Find similar only where ${name} is`}
                  placeholder="any (values, comma-separated)"
                  value={similarWhere[name] ?? ""}
                  onChange={(e) => setSimilarWhere((old) => ({ ...old, [name]: e.target.value }))}
                />
              </label>
            ))}
          </div>
        </header>
        {search.isError ? <ErrorBox error={search.error} what="the records" /> : null}
        <VirtualList
          label="Results"
          count={shownCount}
          loaded={similar ? similarRecords.length : records.length}
          rowHeight={ROW_HEIGHT}
          onNearEnd={loadMore}
          renderRow={renderRow}
          resetKey={similar ? `similar-${similar.recordId}` : settledKey}
        />
      </section>
      {dialog === "save" ? (
        <SaveSliceDialog
          pid={projectId}
          filter={filter}
          onClose={() => setDialog(null)}
          onSaved={(id) => {
            setDialog(null);
            setDraft({ ...draft, slice: id });
          }}
        />
      ) : null}
      {dialog === "bulk" ? (
        <BulkLabelDialog
          pid={projectId}
          tasks={tasks.data ?? []}
          filter={similar ? undefined : apiFilter(filter)}
          selection={selection.size || !similar ? [...selection] : similar.hits.map((h) => h.record_id)}
          total={similar ? similar.hits.length : total}
          onClose={() => setDialog(null)}
        />
      ) : null}
      {editing ? (
        <EditRecordDialog pid={projectId} recordId={editing.id} data={editing.data} attributes={attributes.data ?? []} onClose={() => setEditing(null)} />
      ) : null}
      {dialog === "lf" ? <LabelingFunctionDialog pid={projectId} tasks={tasks.data ?? []} filter={filter} onClose={() => setDialog(null)} /> : null}
      {dialog === "export" ? (
        <ExportDialog
          pid={projectId}
          filter={similar ? null : apiFilter(filter)}
          slice={activeSlice}
          slices={catalog.slices}
          attributes={attributes.data ?? []}
          tasks={tasks.data ?? []}
          heuristics={heuristics.data ?? []}
          onClose={() => setDialog(null)}
        />
      ) : null}
    </main>
  );
}
