// List-valued inputs. Workflows write lists as YAML block scalars (one entry a
// line), as comma-separated one-liners, or a mix; entries may be quoted with
// `"` to keep a comma or a newline inside one value. We parse with csv-parse,
// the same convention docker/build-push-action users already rely on, so
// their `with:` blocks work here unchanged.

import { parse } from 'csv-parse/sync';

export interface ListOptions {
  /**
   * Split on newlines only and keep commas inside entries. For inputs whose
   * values legitimately contain commas (build-args, labels, secrets, cache
   * entries that are themselves `k=v,k=v`).
   */
  readonly ignoreComma?: boolean;
  /**
   * Keep leading/trailing whitespace of each entry. Secrets are taken byte
   * for byte: trimming could silently change a credential.
   */
  readonly keepWhitespace?: boolean;
}

/** Thrown for text csv-parse rejects (an unbalanced quote, mostly). */
export class ListSyntaxError extends Error {
  constructor(
    message: string,
    /** csv-parse's error code, e.g. CSV_QUOTE_NOT_CLOSED; safe to show for secret inputs. */
    readonly code: string,
  ) {
    super(message);
    this.name = 'ListSyntaxError';
  }
}

/**
 * Splits list text into entries: newline separated, and comma separated too
 * unless `ignoreComma`. `"` quotes a field (`""` is a literal quote inside
 * quotes); a quote in the middle of a field is kept literally. There is no
 * comment character: `#` is common in values. Empty entries are dropped.
 */
export function parseList(text: string, opts: ListOptions = {}): string[] {
  if (text.trim() === '') return [];
  let records: string[][];
  try {
    records = parse(text, {
      columns: false,
      // A stray quote inside a value (`KEY=va"lue`) is kept as-is instead of
      // failing the whole input.
      relaxQuotes: true,
      // Lines differ in how many comma-separated fields they hold.
      relaxColumnCount: true,
      skipEmptyLines: true,
    }) as string[][];
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'CSV_ERROR';
    throw new ListSyntaxError(err instanceof Error ? err.message : String(err), code);
  }
  const entries: string[] = [];
  for (const fields of records) {
    // With ignoreComma the fields of one line are re-joined: csv-parse split
    // them, but for these inputs the comma is part of the value.
    if (opts.ignoreComma) entries.push(fields.join(','));
    else entries.push(...fields);
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.trim() === '') continue;
    out.push(opts.keepWhitespace ? entry : entry.trim());
  }
  return out;
}

/**
 * Parses one `k=v,k=v` entry (a cache-from/cache-to line, a provenance value)
 * into ordered [key, value] pairs; quoting protects commas in values. Fields
 * without `=` are returned with value `undefined` so callers can decide.
 */
export function parseKeyValueCsv(entry: string): [string, string | undefined][] {
  let records: string[][];
  try {
    records = parse(entry, { columns: false, relaxQuotes: true, relaxColumnCount: true, skipEmptyLines: true }) as string[][];
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : 'CSV_ERROR';
    throw new ListSyntaxError(err instanceof Error ? err.message : String(err), code);
  }
  const pairs: [string, string | undefined][] = [];
  for (const fields of records) {
    for (const raw of fields) {
      const field = raw.trim();
      if (field === '') continue;
      const eq = field.indexOf('=');
      if (eq === -1) pairs.push([field, undefined]);
      else pairs.push([field.slice(0, eq).trim(), field.slice(eq + 1).trim()]);
    }
  }
  return pairs;
}
