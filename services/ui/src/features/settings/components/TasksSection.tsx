import { useState, type CSSProperties, type FormEvent } from "react";
import type { Attribute, Task } from "../../labeling/api/labeling";
import type { HotkeyLabel } from "../../labeling/hotkeys";
import { useAddLabel, useCreateTask, useDeleteLabel, useDeleteTask, useRenameTask, useUpdateLabel } from "../api/settings";
import { PALETTE, colorName } from "../palette";
import { HotkeyField } from "./HotkeyField";

const TYPE_NAMES: Record<string, string> = {
  MULTICLASS_CLASSIFICATION: "Classification (one label)",
  MULTILABEL_CLASSIFICATION: "Classification (several labels)",
  INFORMATION_EXTRACTION: "Span labeling (extraction)",
};

type TaskType = "MULTICLASS_CLASSIFICATION" | "MULTILABEL_CLASSIFICATION" | "INFORMATION_EXTRACTION";

/** Labeling tasks and their labels: create, rename, colour, hotkey (by pressing the key), delete. */
export function TasksSection({ pid, tasks, attributes }: { pid: string; tasks: Task[]; attributes: Attribute[] }) {
  const createTask = useCreateTask(pid);
  const [name, setName] = useState("");
  const [type, setType] = useState<TaskType>("MULTICLASS_CLASSIFICATION");
  const [target, setTarget] = useState("");
  const textAttributes = attributes.filter((a) => a.data_type === "TEXT");
  const allLabels: HotkeyLabel[] = tasks.flatMap((t) => t.labels.map((l) => ({ id: l.id, name: l.name, hotkey: l.hotkey, taskId: t.id })));

  function submit(event: FormEvent) {
    event.preventDefault();
    createTask.mutate(
      { name: name.trim(), task_type: type, attribute: target || null },
      { onSuccess: () => setName("") },
    );
  }

  return (
    <section className="card" aria-labelledby="tasks-title">
      <h2 id="tasks-title">Labeling tasks</h2>
      {tasks.length === 0 && <p className="muted">No labeling task yet.</p>}
      {tasks.map((task) => (
        <TaskBlock key={task.id} pid={pid} task={task} allLabels={allLabels} />
      ))}
      <form className="row wrap add-task" onSubmit={submit} aria-label="Add a labeling task">
        <label className="field">
          <span>Task name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <label className="field">
          <span>Task type</span>
          <select value={type} onChange={(e) => setType(e.target.value as TaskType)}>
            {Object.entries(TYPE_NAMES).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Target</span>
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            <option value="" disabled={type === "INFORMATION_EXTRACTION"}>
              Full record
            </option>
            {textAttributes.map((a) => (
              <option key={a.id} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary align-end" disabled={!name.trim() || (type === "INFORMATION_EXTRACTION" && !target)}>
          Add task
        </button>
      </form>
    </section>
  );
}

function TaskBlock({ pid, task, allLabels }: { pid: string; task: Task; allLabels: HotkeyLabel[] }) {
  const rename = useRenameTask(pid);
  const remove = useDeleteTask(pid);
  const addLabel = useAddLabel(pid);
  const updateLabel = useUpdateLabel(pid);
  const deleteLabel = useDeleteLabel(pid);
  const [taskName, setTaskName] = useState(task.name);
  const [labelName, setLabelName] = useState("");
  const [confirming, setConfirming] = useState(false);

  function add(event: FormEvent) {
    event.preventDefault();
    const color = PALETTE[(task.labels.length * 5) % PALETTE.length]?.hex ?? "#6366f1";
    addLabel.mutate({ taskId: task.id, name: labelName.trim(), color, hotkey: null }, { onSuccess: () => setLabelName("") });
  }

  return (
    <div className="task-block" role="group" aria-label={`Task ${task.name}`}>
      <div className="row wrap between">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (taskName.trim() && taskName.trim() !== task.name) rename.mutate({ taskId: task.id, name: taskName.trim() });
          }}
        >
          <input className="task-title" aria-label={`Name of task ${task.name}`} value={taskName} onChange={(e) => setTaskName(e.target.value)} />
          {taskName.trim() !== task.name && (
            <button type="submit" className="small">
              Rename
            </button>
          )}
        </form>
        <span className="muted small">
          {TYPE_NAMES[task.task_type] ?? task.task_type} · {task.attribute ? `on ${task.attribute}` : "full record"}
        </span>
        {confirming ? (
          <span className="row">
            <span className="small">Delete the task and all its labels?</span>
            <button type="button" className="danger small" onClick={() => remove.mutate(task.id)}>
              Delete task {task.name}
            </button>
            <button type="button" className="small" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </span>
        ) : (
          <button type="button" className="ghost danger small" aria-label={`Delete task ${task.name}`} onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      <table className="table compact" aria-label={`Labels of ${task.name}`}>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Colour</th>
            <th scope="col">Hotkey</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {task.labels.map((label) => (
            <tr key={label.id}>
              <td>
                <LabelName name={label.name} color={label.color} onRename={(name) => updateLabel.mutate({ labelId: label.id, name })} />
              </td>
              <td>
                <select
                  aria-label={`Colour of ${label.name}`}
                  value={PALETTE.some((c) => c.hex === label.color) ? label.color : ""}
                  onChange={(e) => updateLabel.mutate({ labelId: label.id, color: e.target.value })}
                >
                  {!PALETTE.some((c) => c.hex === label.color) && <option value="">{colorName(label.color)}</option>}
                  {PALETTE.map((c) => (
                    <option key={c.hex} value={c.hex}>
                      {c.name}
                    </option>
                  ))}
                </select>
              </td>
              <td>
                <HotkeyField
                  labelId={label.id}
                  labelName={label.name}
                  value={label.hotkey}
                  labels={allLabels}
                  onChange={(key) => updateLabel.mutate({ labelId: label.id, hotkey: key })}
                />
              </td>
              <td>
                <button type="button" className="ghost danger small" aria-label={`Delete label ${label.name}`} onClick={() => deleteLabel.mutate(label.id)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row" onSubmit={add}>
        <input aria-label={`New label of ${task.name}`} placeholder="new label" value={labelName} onChange={(e) => setLabelName(e.target.value)} maxLength={200} />
        <button type="submit" disabled={!labelName.trim()}>
          Add label
        </button>
      </form>
    </div>
  );
}

/** A label's name, renamed in place (Enter or leaving the field saves). */
function LabelName({ name, color, onRename }: { name: string; color: string; onRename: (name: string) => void }) {
  const [value, setValue] = useState(name);
  const save = () => {
    const trimmed = value.trim();
    if (trimmed && trimmed !== name) onRename(trimmed);
    else setValue(name);
  };
  return (
    <span className="row">
      <span className="dot" style={{ "--label-color": color } as CSSProperties} aria-hidden="true" />
      <input
        className="label-name"
        aria-label={`Name of label ${name}`}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        onBlur={save}
        onKeyDown={(e) => e.key === "Enter" && (e.preventDefault(), save())}
        maxLength={200}
      />
    </span>
  );
}
