import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { problemFrom } from "./problem";

export type Schemas = components["schemas"];

let onUnauthorized: (() => void) | null = null;

/** Called when any API call answers 401 (the session expired or was logged out elsewhere). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

const unauthorized: Middleware = {
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith("/api/v1/auth/login")) onUnauthorized?.();
    return undefined;
  },
};

/** The typed API client: paths, parameters and bodies are checked against the gateway's OpenAPI schema. */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(unauthorized);

interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a call, or an ApiError carrying the problem's message. */
export async function unwrap<T>(call: Promise<FetchResult<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) throw problemFrom(response.status, error);
  return data as T;
}

/** POST a file as multipart field `file` (the upload and import routes); returns the parsed JSON answer. */
export async function postFile<T>(url: string, file: File, extra: Record<string, string> = {}): Promise<T> {
  const body = new FormData();
  body.append("file", file);
  for (const [key, value] of Object.entries(extra)) body.append(key, value);
  const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text for the message
  }
  if (response.status === 401) onUnauthorized?.();
  if (!response.ok) throw problemFrom(response.status, parsed);
  return parsed as T;
}
