import { useState, type FormEvent } from "react";
import { problemMessage } from "../../../api/problem";
import { ErrorBox, Loading } from "../../../shared/ErrorBox";
import { toast } from "../../../shared/toasts";
import { useCreateToken, useRevokeToken, useTokens } from "../api/tokens";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const when = (value: string | null | undefined) => (value ? dateFormat.format(new Date(value)) : "—");

/** Personal API tokens for the SDK and scripts: create (the secret is shown once), list, revoke. */
export function TokensPage() {
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState("");
  const [days, setDays] = useState("");
  const [secret, setSecret] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    const expires = days.trim() ? Number(days) : null;
    create.mutate(
      { name: name.trim(), expires_in_days: expires },
      {
        onSuccess: (created) => {
          setSecret(created.token);
          setName("");
          setDays("");
        },
      },
    );
  }

  async function copy() {
    if (!secret) return;
    try {
      await navigator.clipboard.writeText(secret);
      toast.success("Token copied to the clipboard");
    } catch {
      toast.error("The browser refused the clipboard; select the token and copy it by hand");
    }
  }

  return (
    <main className="page narrow" aria-labelledby="tokens-title">
      <h1 id="tokens-title">Personal API tokens</h1>
      <p className="muted">
        Tokens let the SDK and scripts call the API as you: send them as <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      <form className="card row wrap" onSubmit={submit}>
        <label className="field grow">
          <span>Token name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />
        </label>
        <label className="field">
          <span>Expires in days (empty: never)</span>
          <input type="number" min={1} max={3650} value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary align-end" disabled={create.isPending || !name.trim()}>
          Create token
        </button>
      </form>
      {create.isError && (
        <p role="alert" className="form-error">
          {problemMessage(create.error)}
        </p>
      )}
      {secret && (
        <section className="card notice" aria-labelledby="secret-title">
          <h2 id="secret-title">Your new token</h2>
          <p>Copy it now: it is shown only this once.</p>
          <div className="row">
            <input readOnly value={secret} aria-label="New token secret" className="grow mono" onFocus={(e) => e.target.select()} />
            <button type="button" onClick={copy}>
              Copy token
            </button>
            <button type="button" className="ghost" onClick={() => setSecret(null)}>
              Done
            </button>
          </div>
        </section>
      )}
      {tokens.isPending && <Loading what="tokens" />}
      {tokens.isError && <ErrorBox error={tokens.error} what="your tokens" />}
      {tokens.data && (
        <table className="table" aria-label="Your tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  No tokens yet.
                </td>
              </tr>
            )}
            {tokens.data.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td className="mono">{t.prefix}…</td>
                <td>{when(t.created_at)}</td>
                <td>{when(t.last_used_at)}</td>
                <td>{t.expires_at ? when(t.expires_at) : "never"}</td>
                <td>{t.revoked_at ? `revoked ${when(t.revoked_at)}` : "active"}</td>
                <td>
                  {!t.revoked_at && (
                    <button
                      type="button"
                      className="danger ghost"
                      aria-label={`Revoke token ${t.name}`}
                      disabled={revoke.isPending}
                      onClick={() => revoke.mutate(t.id)}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
