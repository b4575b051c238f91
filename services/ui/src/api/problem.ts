/** An RFC 9457 problem response from the API, or a network failure, as an Error whose message is the problem's detail. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;

  constructor(status: number, title: string, detail: string) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
  }
}

function field(body: unknown, key: string): string | undefined {
  if (typeof body === "object" && body !== null && key in body) {
    const value = (body as Record<string, unknown>)[key];
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

/** Build an ApiError from a response's status and (parsed) body: the problem's `detail`, else its `title`. */
export function problemFrom(status: number, body: unknown): ApiError {
  const title = field(body, "title") ?? `HTTP ${status}`;
  const detail = field(body, "detail") ?? (typeof body === "string" && body ? body : title);
  return new ApiError(status, title, detail);
}

/** What to show the user for any thrown value: the API's problem message, else the error's message. */
export function problemMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return `the server cannot be reached (${error.message})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
