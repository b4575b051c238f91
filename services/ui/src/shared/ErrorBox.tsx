import { problemMessage } from "../api/problem";

/** An error shown in place of what failed to load: the API's problem message, never a blank page. */
export function ErrorBox({ error, what }: { error: unknown; what: string }) {
  return (
    <div role="alert" className="error-box">
      <strong>Could not load {what}.</strong> {problemMessage(error)}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading {what}…
    </p>
  );
}
