import { useState, type FormEvent } from "react";
import { useParams } from "react-router";
import { problemMessage } from "../../../api/problem";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { useSlices } from "../../browser/api/browser";
import { sessionTitle, useMySessions } from "../../labeling/api/sessions";
import { useTasks } from "../../labeling/api/labeling";
import { useAgreement } from "../../overview/api/metrics";
import { parseRecordIds, useAssignmentActions, useAssignments, useTeamMembers, type Assignment, type AssignmentInput, type Member } from "../api/team";
import styles from "../team.module.css";
import { AgreementMatrix } from "./AgreementMatrix";
import { EditAssignment } from "./EditAssignment";
import { LabelHistory } from "./LabelHistory";

type SourceKind = "slice" | "session" | "records";

/** The engineer's team page: assign work (a slice, a labeling session or record ids) to chosen annotators, follow
 * each annotator's progress, rename an assignment or set its due count, switch the bias guard, revert one annotator's
 * labels, the agreement matrix and the project's label history (who labeled what). */
export default function TeamPage() {
  const { projectId = "" } = useParams();
  const assignments = useAssignments(projectId);
  const members = useTeamMembers(projectId);
  const tasks = useTasks(projectId);
  if (assignments.isError) return <ErrorBox error={assignments.error} what="the assignments" />;
  if (members.isError) return <ErrorBox error={members.error} what="the members" />;
  if (assignments.isPending || members.isPending || tasks.isPending) return <Loading what="the team" />;
  const emails = new Map(members.data.map((m) => [m.id, m.email]));
  const taskNames = new Map((tasks.data ?? []).map((t) => [t.id, t.name]));
  return (
    <main className="page" aria-labelledby="team-title">
      <div className="page-head">
        <h1 id="team-title">Team</h1>
      </div>
      <AssignForm projectId={projectId} members={members.data} />
      <section aria-labelledby="assignments-title" className="spaced-top">
        <h2 id="assignments-title">Assignments</h2>
        {assignments.data.length === 0 ? <p className="muted">No work is assigned yet.</p> : null}
        {assignments.data.map((a) => (
          <AssignmentCard key={a.id} projectId={projectId} assignment={a} emails={emails} taskName={a.labeling_task_id ? taskNames.get(a.labeling_task_id) : undefined} />
        ))}
      </section>
      <section aria-labelledby="agreement-title" className="spaced-top">
        <h2 id="agreement-title">Agreement</h2>
        {(tasks.data ?? []).length === 0 ? <p className="muted">The project has no labeling task yet.</p> : null}
        {(tasks.data ?? []).map((task) => (
          <TaskAgreement key={task.id} projectId={projectId} taskId={task.id} taskName={task.name} />
        ))}
      </section>
      <LabelHistory projectId={projectId} members={members.data} taskNames={taskNames} />
    </main>
  );
}

function TaskAgreement({ projectId, taskId, taskName }: { projectId: string; taskId: string; taskName: string }) {
  const agreement = useAgreement({ pid: projectId, sliceId: null }, taskId);
  return (
    <div className="card spaced-top">
      <h3>{taskName}</h3>
      {agreement.isError ? <ErrorBox error={agreement.error} what={`the agreement of ${taskName}`} /> : null}
      {agreement.data ? <AgreementMatrix agreement={agreement.data} taskName={taskName} /> : null}
    </div>
  );
}

function AssignForm({ projectId, members }: { projectId: string; members: Member[] }) {
  const slices = useSlices(projectId);
  const sessions = useMySessions(projectId, true);
  const tasks = useTasks(projectId);
  const { create } = useAssignmentActions(projectId);
  const [name, setName] = useState("");
  const [kind, setKind] = useState<SourceKind>("slice");
  const [sliceId, setSliceId] = useState("");
  const [sessionId, setSessionId] = useState("");
  const [recordText, setRecordText] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [redundancy, setRedundancy] = useState(1);
  const [dueCount, setDueCount] = useState("");
  const [taskId, setTaskId] = useState("");
  const [biasGuard, setBiasGuard] = useState(true);
  const [error, setError] = useState<string | null>(null);
  // annotators first: whom work is usually assigned to
  const ordered = [...members].sort((a, b) => Number(b.project_role === "ANNOTATOR") - Number(a.project_role === "ANNOTATOR") || a.email.localeCompare(b.email));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const body: AssignmentInput = { name: name.trim(), annotator_ids: chosen, redundancy, bias_guard: biasGuard };
    if (!body.name) return setError("Give the assignment a name.");
    if (chosen.length === 0) return setError("Choose at least one annotator.");
    if (redundancy > chosen.length) return setError(`Each record can go to at most ${chosen.length} of the chosen annotators.`);
    if (kind === "slice") {
      if (!sliceId) return setError("Choose a slice.");
      body.slice_id = sliceId;
    } else if (kind === "session") {
      if (!sessionId) return setError("Choose a labeling session.");
      body.session_id = sessionId;
    } else {
      const parsed = parseRecordIds(recordText);
      if ("error" in parsed) return setError(`Record ids: ${parsed.error}.`);
      body.record_ids = parsed.ids;
    }
    if (dueCount.trim()) {
      const due = Number(dueCount);
      if (!Number.isInteger(due) || due < 1) return setError("The due count is a whole number of records, 1 or more.");
      body.due_count = due;
    }
    if (taskId) body.labeling_task_id = taskId;
    create.mutate(body, {
      onSuccess: (made) => {
        toast.success(`Assigned ${made.record_count} records to ${made.annotators.length} annotators`);
        setName("");
        setChosen([]);
      },
      onError: (e) => setError(problemMessage(e)),
    });
  };

  return (
    <form className="card" aria-label="Assign work" onSubmit={submit} noValidate>
      <h2>Assign work</h2>
      <div className={styles.form}>
        <label className="field">
          <span>Name</span>
          <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Records from</span>
          <select value={kind} onChange={(e) => setKind(e.target.value as SourceKind)}>
            <option value="slice">a data slice</option>
            <option value="session">a labeling session</option>
            <option value="records">record ids</option>
          </select>
        </label>
        {kind === "slice" ? (
          <label className="field">
            <span>Slice</span>
            <select value={sliceId} onChange={(e) => setSliceId(e.target.value)}>
              <option value="">choose…</option>
              {(slices.data ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {kind === "session" ? (
          <label className="field">
            <span>Labeling session</span>
            <select value={sessionId} onChange={(e) => setSessionId(e.target.value)}>
              <option value="">choose…</option>
              {(sessions.data ?? []).map((s) => (
                <option key={s.id} value={s.id}>
                  {sessionTitle(s)} ({s.total} records)
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {kind === "records" ? (
          <label className="field">
            <span>Record ids</span>
            <input value={recordText} placeholder="e.g. 1, 2, 10-20" onChange={(e) => setRecordText(e.target.value)} />
          </label>
        ) : null}
        <label className="field">
          <span>Task that makes a record done</span>
          <select value={taskId} onChange={(e) => setTaskId(e.target.value)}>
            <option value="">a label of any task</option>
            {(tasks.data ?? []).map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Annotators per record (redundancy)</span>
          <input type="number" min={1} max={Math.max(1, chosen.length)} value={redundancy} onChange={(e) => setRedundancy(Math.max(1, Number(e.target.value) || 1))} />
        </label>
        <label className="field">
          <span>Due per annotator (empty: all)</span>
          <input type="number" min={1} value={dueCount} onChange={(e) => setDueCount(e.target.value)} />
        </label>
      </div>
      <fieldset className={`${styles.annotators} spaced-top`}>
        <legend>Annotators</legend>
        {ordered.map((m) => (
          <label key={m.id} className="row">
            <input
              type="checkbox"
              checked={chosen.includes(m.id)}
              onChange={(e) => setChosen((now) => (e.target.checked ? [...now, m.id] : now.filter((id) => id !== m.id)))}
            />
            {m.email} <span className="muted small">{m.project_role}</span>
          </label>
        ))}
      </fieldset>
      <label className="row spaced-top">
        <input type="checkbox" checked={biasGuard} onChange={(e) => setBiasGuard(e.target.checked)} />
        Blind labeling (bias guard): annotators see neither others' labels nor heuristic votes
      </label>
      {error ? (
        <p role="alert" className="error-box">
          {error}
        </p>
      ) : null}
      <button type="submit" className="spaced-top" disabled={create.isPending}>
        Assign
      </button>
    </form>
  );
}

function source(a: Assignment): string {
  const s = a.source as Record<string, unknown>;
  if (typeof s.slice === "string") return `slice ${s.slice}`;
  if (typeof s.session === "string") return `session ${s.session}`;
  if (typeof s.record_ids === "number") return `${s.record_ids} chosen records`;
  return "records";
}

function AssignmentCard({ projectId, assignment, emails, taskName }: { projectId: string; assignment: Assignment; emails: Map<string, string>; taskName: string | undefined }) {
  const { setBiasGuard, remove, revert } = useAssignmentActions(projectId);
  const a = assignment;
  const failed = (what: string) => (e: unknown) => toast.error(`Could not ${what}: ${problemMessage(e)}`);
  return (
    <article className="card spaced-top" aria-label={`Assignment ${a.name}`}>
      <div className="row wrap">
        <h3 style={{ margin: 0 }}>{a.name}</h3>
        <span className="muted small">
          {a.record_count} records from {source(a)}, each to {a.redundancy} annotator{a.redundancy > 1 ? "s" : ""}
          {taskName ? `, done with a label of ${taskName}` : ""}
        </span>
      </div>
      <div className="row wrap spaced-top">
        <label className="row">
          <input
            type="checkbox"
            checked={a.bias_guard}
            onChange={(e) => setBiasGuard.mutate({ id: a.id, on: e.target.checked }, { onError: failed("switch the bias guard") })}
          />
          Bias guard of {a.name}
        </label>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            if (window.confirm(`Withdraw the assignment ${a.name}? The labels given stay.`)) remove.mutate(a.id, { onError: failed("withdraw it") });
          }}
        >
          Withdraw {a.name}
        </button>
        <EditAssignment key={`${a.name}-${a.id}`} projectId={projectId} assignment={a} />
      </div>
      <table className="table compact spaced-top" aria-label={`Progress of ${a.name}`}>
        <thead>
          <tr>
            <th scope="col">Annotator</th>
            <th scope="col">Done / due</th>
            <th scope="col">Assigned</th>
            <th scope="col">Skipped</th>
            <th scope="col">Comment</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {a.annotators.map((p) => {
            const email = emails.get(p.annotator_id) ?? p.annotator_id;
            const ratio = p.due_count > 0 ? Math.min(1, p.done / p.due_count) : 0;
            return (
              <tr key={p.annotator_id}>
                <th scope="row" className={styles.rowHead}>
                  {email}
                </th>
                <td aria-label={`${email}: ${p.done} of ${p.due_count} due done`}>
                  <span className={styles.bar} aria-hidden="true">
                    <span className={styles.barFill} style={{ width: `${(ratio * 100).toFixed(0)}%` }} />
                  </span>{" "}
                  {p.done} / {p.due_count}
                </td>
                <td>{p.assigned}</td>
                <td>{p.skipped}</td>
                <td>{p.comment ?? <span className="muted">—</span>}</td>
                <td>
                  <button
                    type="button"
                    className="ghost small"
                    disabled={revert.isPending}
                    onClick={() => {
                      if (window.confirm(`Remove every label ${email} gave on the records of ${a.name}? Each removal is kept in the label history.`)) {
                        revert.mutate(
                          { id: a.id, annotatorId: p.annotator_id },
                          { onSuccess: (r) => toast.success(`Reverted ${r.changes} of ${email}'s labels`), onError: failed("revert the labels") },
                        );
                      }
                    }}
                  >
                    Revert {email}'s labels
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </article>
  );
}
