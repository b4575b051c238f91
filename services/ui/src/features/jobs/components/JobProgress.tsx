import { jobName, type Job } from "../api/jobs";

/** A job's state and progress bar; a failed job shows its reason. */
export function JobProgress({ job, label }: { job: Pick<Job, "kind" | "state" | "progress" | "message" | "error">; label?: string }) {
  const name = label ?? jobName(job.kind);
  const pct = Math.round((job.progress ?? 0) * 100);
  return (
    <div className="job-progress">
      <div className="row between small">
        <span>
          {name}: <strong data-testid="job-state">{job.state}</strong>
          {job.message && job.message !== job.state ? ` — ${job.message}` : ""}
        </span>
        <span>{pct} %</span>
      </div>
      <progress max={100} value={pct} aria-label={`${name} progress`} />
      {job.state === "failed" && (
        <p role="alert" className="form-error">
          {job.error ?? "the job failed without a reason"}
        </p>
      )}
    </div>
  );
}
