// Header fields as HTTP/2 allows them, checked the way nghttp2 checks them,
// for both of our HTTP/2 ends: what a peer sends ends up in paths, patterns,
// statuses and log lines, so a field that could split a line never gets there.
import type { HeaderField } from './hpack.js';

const FIELD_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]/;

/**
 * A field HTTP/2 allows (RFC 9113 §8.2.1): a lower-case token for a name (a
 * leading ':' for the pseudo-headers), and no NUL, CR or LF in a value.
 */
export function wellFormed([name, value]: HeaderField): boolean {
  return FIELD_NAME.test(name) && !BAD_VALUE.test(value);
}

/**
 * Fields that only mean something on an HTTP/1 connection; HTTP/2 forbids
 * them (RFC 9113 §8.2.2), and Node refuses to send them.
 */
export const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);
