import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { Dialog } from "../../../shared/Dialog";
import { LazyCodeEditor } from "../../../shared/editor/LazyCodeEditor";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { useJob } from "../../jobs/api/jobs";
import { JobProgress } from "../../jobs/components/JobProgress";
import { useAttributes } from "../../labeling/api/labeling";
import { useRecordPool } from "../../heuristics/api/heuristics";
import { pickRandom } from "../../heuristics/code";
import { SAVE_STATE_TEXT, useAutosave } from "../../heuristics/hooks/useAutosave";
import { CopyButton } from "../../heuristics/components/CopyButton";
import { StateBadge } from "../../heuristics/components/HeuristicState";
import { SampleTable } from "../../heuristics/components/SampleTable";
import {
  DATA_TYPES,
  VISIBILITIES,
  useAttributeSample,
  useCalculated,
  useCalculatedAttributes,
  useCreateCalculated,
  useDeleteCalculated,
  useRunCalculated,
  useUpdateCalculated,
  type Calculated,
  type DataType,
  type Visibility,
} from "../api/attributes";
import "../../heuristics/components/heuristics.css";

const TEMPLATE = `def ac(record):
    # the value of the new attribute for one record; text attributes are spaCy Docs
    return len(record["text"])
`;

/** Attribute calculation: a new attribute (attributes/new) or an existing one; name, type, visibility, code, run on
 * 10, run on all behind a confirmation, progress and logs. */
export default function AttributePage() {
  const { projectId = "", attributeId = "" } = useParams();
  const attribute = useCalculated(projectId, attributeId);
  if (!attributeId) return <AttributeEditor pid={projectId} attribute={null} />;
  if (attribute.isPending) return <Loading what="the attribute" />;
  if (attribute.isError) return <ErrorBox error={attribute.error} what="the attribute" />;
  return <AttributeEditor key={attribute.data.id} pid={projectId} attribute={attribute.data} />;
}

function AttributeEditor({ pid, attribute }: { pid: string; attribute: Calculated | null }) {
  const navigate = useNavigate();
  const attributes = useAttributes(pid);
  const others = useCalculatedAttributes(pid);
  const create = useCreateCalculated(pid);
  const update = useUpdateCalculated(pid, attribute?.id ?? "");
  const sample = useAttributeSample(pid);
  const pool = useRecordPool(pid);
  const [name, setName] = useState(attribute?.name ?? "");
  const [dataType, setDataType] = useState<DataType>(attribute?.data_type ?? "INTEGER");
  const [visibility, setVisibility] = useState<Visibility>(attribute?.visibility ?? "DO_NOT_HIDE");
  const [code, setCode] = useState(attribute?.source_code ?? TEMPLATE);
  const editable = attribute === null || attribute.state === "INITIAL" || attribute.state === "FAILED";
  const autosave = useAutosave(code, attribute?.source_code ?? code, (source_code) =>
    attribute && editable ? update.mutateAsync({ source_code }) : Promise.resolve(),
  );
  const records = useMemo(() => new Map((pool.data?.items ?? []).map((r) => [r.id, r])), [pool.data]);
  const textAttribute = attributes.data?.find((a) => a.data_type === "TEXT")?.name ?? attributes.data?.[0]?.name ?? "";

  const save = (change: { name?: string; data_type?: DataType; visibility?: Visibility }) => {
    if (attribute) update.mutate(change);
  };

  return (
    <main className="page" aria-labelledby="attr-title">
      <p className="small">
        <Link to={`/projects/${pid}/attributes`}>← Back to the calculated attributes</Link>
      </p>
      <header className="page-head">
        <h1 id="attr-title">{attribute ? `Attribute ${attribute.name}` : "New calculated attribute"}</h1>
        {attribute && <StateBadge state={attribute.state} />}
      </header>
      <section className="card row wrap" aria-label="Attribute settings">
        <label className="field grow">
          <span>Attribute name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            onBlur={() => attribute && name.trim() && name.trim() !== attribute.name && save({ name: name.trim() })}
            maxLength={200}
            className="mono"
            disabled={!editable}
          />
        </label>
        <label className="field">
          <span>Data type</span>
          <select
            value={dataType}
            disabled={!editable}
            onChange={(e) => {
              const value = e.target.value as DataType;
              setDataType(value);
              save({ data_type: value });
            }}
          >
            {DATA_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Visibility</span>
          <select
            value={visibility}
            disabled={!editable}
            onChange={(e) => {
              const value = e.target.value as Visibility;
              setVisibility(value);
              save({ visibility: value });
            }}
          >
            {VISIBILITIES.map((v) => (
              <option key={v.value} value={v.value}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
      </section>
      <section className="card stack spaced-top" aria-labelledby="acode-title">
        <div className="row between">
          <h2 id="acode-title">Code</h2>
          {attribute && (
            <span className="h-saved" role="status">
              {editable ? SAVE_STATE_TEXT[autosave.state] : "Computed: delete and recreate the attribute to change it"}
            </span>
          )}
        </div>
        <div className="row wrap small">
          <span className="muted">Attributes:</span>
          {(attributes.data ?? []).filter((a) => a.id !== attribute?.id).map((a) => (
            <CopyButton key={a.id} text={a.name} label={`Copy attribute ${a.name}`} />
          ))}
        </div>
        <LazyCodeEditor label="Code" value={code} onChange={setCode} onSave={() => void autosave.saveNow()} readOnly={!editable} />
        <div className="row wrap">
          <button
            type="button"
            disabled={sample.isPending}
            onClick={() =>
              sample.mutate({
                id: attribute?.id ?? null,
                dataType,
                source_code: code,
                record_ids: pool.data ? pickRandom(pool.data.items.map((r) => r.id), 10) : undefined,
              })
            }
          >
            {sample.isPending ? "Running on 10…" : "Run on 10"}
          </button>
          {!attribute && (
            <button
              type="button"
              className="primary"
              disabled={!name.trim() || create.isPending}
              onClick={() =>
                create.mutate(
                  { name: name.trim(), data_type: dataType, visibility, source_code: code },
                  { onSuccess: (out) => navigate(`/projects/${pid}/attributes/${out.id}`, { replace: true }) },
                )
              }
            >
              Create attribute
            </button>
          )}
          {attribute && <RunAll pid={pid} attribute={attribute} beforeRun={() => autosave.saveNow()} />}
        </div>
        {(create.isError || update.isError || sample.isError) && (
          <p role="alert" className="form-error">
            {problemMessage(create.error ?? update.error ?? sample.error)}
          </p>
        )}
        {sample.data && <SampleTable sample={sample.data} records={records} attribute={textAttribute} resultName={`Value (${dataType})`} />}
      </section>
      {attribute?.logs && attribute.logs.length > 0 && (
        <section className="card spaced-top" aria-labelledby="alogs-title">
          <h2 id="alogs-title">Logs</h2>
          <pre className="h-logs">{attribute.logs.join("\n")}</pre>
        </section>
      )}
      {attribute && <DeleteAttribute pid={pid} attribute={attribute} />}
      {!attribute && others.data && others.data.length > 0 && <p className="small muted spaced-top">{others.data.length} calculated attributes exist.</p>}
    </main>
  );
}

function RunAll({ pid, attribute, beforeRun }: { pid: string; attribute: Calculated; beforeRun: () => Promise<void> }) {
  const run = useRunCalculated(pid, attribute.id);
  const job = useJob(run.data?.job.id ?? null);
  const [confirm, setConfirm] = useState(false);
  return (
    <>
      <button type="button" className="primary" disabled={attribute.state !== "INITIAL" && attribute.state !== "FAILED"} onClick={() => setConfirm(true)}>
        Run on all
      </button>
      {job.data && (
        <div className="grow">
          <JobProgress job={job.data} label="Attribute calculation" />
        </div>
      )}
      {confirm && (
        <Dialog title="Run on all records" onClose={() => setConfirm(false)}>
          <p>
            Compute <strong>{attribute.name}</strong> for every record? Its values are written only if every one passes the type check; afterwards
            the code cannot change.
          </p>
          <div className="row end">
            <button type="button" onClick={() => setConfirm(false)}>
              Not yet
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => {
                setConfirm(false);
                void beforeRun().then(() => run.mutate());
              }}
            >
              Run
            </button>
          </div>
        </Dialog>
      )}
    </>
  );
}

function DeleteAttribute({ pid, attribute }: { pid: string; attribute: Calculated }) {
  const remove = useDeleteCalculated(pid);
  const navigate = useNavigate();
  return (
    <section className="card danger-zone spaced-top" aria-labelledby="adanger-title">
      <h2 id="adanger-title">Danger zone</h2>
      <button
        type="button"
        className="danger"
        onClick={() => {
          if (window.confirm(`Delete the attribute ${attribute.name} and its values?`)) {
            remove.mutate(attribute.id, { onSuccess: () => navigate(`/projects/${pid}/attributes`) });
          }
        }}
      >
        Delete attribute
      </button>
    </section>
  );
}
