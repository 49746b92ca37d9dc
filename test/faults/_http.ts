/** HTTP for fault tests: admin-authenticated, every request bounded by a timeout, never throws. */

export const ADMIN = 'fault-admin-token-0123456789abcdefghijklmnopq';
const REQUEST_TIMEOUT_MS = 30_000;

export interface HttpResult { status: number; body: unknown; error?: string }

export async function http(base: string, method: string, path: string, body?: unknown, opts: { octet?: Uint8Array; timeoutMs?: number } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
  let payload: string | Uint8Array | undefined;
  if (opts.octet) { headers['content-type'] = 'application/octet-stream'; payload = opts.octet; }
  else if (body !== undefined) { headers['content-type'] = 'application/json'; payload = JSON.stringify(body); }
  try {
    const res = await fetch(`${base}${path}`, { method, headers, body: (payload ?? null) as RequestInit['body'], signal: AbortSignal.timeout(opts.timeoutMs ?? REQUEST_TIMEOUT_MS) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: parsed };
  } catch (err) {
    return { status: 0, body: undefined, error: (err as Error).name === 'TimeoutError' ? 'timeout' : String((err as { cause?: { code?: string } }).cause?.code ?? err) };
  }
}
