/**
 * Credentials in URLs are never stored or printed: the user name and password of
 * `http://user:pw@host/...` and the secret query parameters of pre-signed URLs (S3's
 * X-Amz-Signature, X-Amz-Credential, X-Amz-Security-Token, Google's X-Goog-Signature, Azure's
 * `sig`, `token`...) become `***`. Used where Strand records or prints a location: the run store's
 * inputs, outputs, events and messages, errors, log lines and --dry-run output.
 */

// Query parameters whose value is a credential (compared without regard to case).
const SECRET_PARAMS = [
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'awsaccesskeyid',
  'signature',
  'x-goog-signature',
  'x-goog-credential',
  'googleaccessid',
  'sig',
  'token',
  'access_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'password',
  'passwd',
  'secret',
  'client_secret',
];

// scheme://userinfo@ : everything between "//" and "@" before the host (no '/', '?', '#', space).
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;
// ?name=value or &name=value of a secret parameter, up to the next '&', '#', space, quote or ':'
// (signatures are hex, base64 or %-encoded; a message goes on after "URL: ").
const PARAMS = new RegExp(`([?&;](?:${SECRET_PARAMS.join('|')})=)[^&#\\s"'<>:,;)]*`, 'gi');

/** `text` with the credentials of every URL in it replaced by `***`. */
export function redactUrls(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(USERINFO, '$1***@').replace(PARAMS, '$1***');
}

/** Whether `text` holds a URL redacted by redactUrls (a recorded input that cannot be read again as it is). */
export function hasRedactedUrl(text: string): boolean {
  return /:\/\/\*\*\*@/.test(text) || new RegExp(`[?&;](?:${SECRET_PARAMS.join('|')})=\\*\\*\\*`, 'i').test(text);
}

/** One URL (or any text), redacted: the name used where a single location is recorded. */
export const redactUrl = redactUrls;

/**
 * `value` with every string in it redacted (plain objects and arrays are walked; anything else,
 * a Date for example, is kept). Returns `value` itself when nothing changed.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactUrls(value) as T;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((x: unknown) => {
      const r = redactDeep(x);
      if (r !== x) changed = true;
      return r;
    });
    return (changed ? out : value) as T;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(value)) {
    const r = redactDeep(x);
    if (r !== x) (out ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return (out ?? value) as T;
}
