/**
 * The launcher's one redaction: the credentials of every URL in a line (`redis://user:pw@host`,
 * `http://user:pw@proxy`) become `***`. Everything the launcher prints passes through it — its
 * own notes, its children's log lines, its error messages — so a `REDIS_URL` with a password is
 * never shown, whoever prints it.
 */

// scheme://userinfo@ — the userinfo runs to the last '@' before the path, query, fragment, a
// quote or whitespace (RFC 3986: a literal '/', '?' or '#' in a password must be percent-encoded)
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>]*@/gi;

export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}
