// HPACK (RFC 7541) for the session's HTTP/2 server: a full decoder (the
// daemon's gRPC client indexes, Huffman-codes and resizes as it likes) and an
// encoder of plain literals (we never add to the daemon's table, so we never
// have to track it).
import { huffmanDecode } from './huffman.js';

/** RFC 7541 Appendix A: the static table, index 1 first. */
const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** An entry's size as the table counts it (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/** A header block that cannot be decoded: a connection error (COMPRESSION_ERROR). */
export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
  }
}

/** One decoded header field; names and values as latin1 strings (one char per byte), as Node gives them. */
export type HeaderField = readonly [name: string, value: string];

export class HpackDecoder {
  /** Newest entry last. */
  private readonly table: HeaderField[] = [];
  private tableSize = 0;
  private maxTableSize: number;

  /** `limit`: our SETTINGS_HEADER_TABLE_SIZE, the most the peer may resize the table to. */
  constructor(private readonly limit = 4096) {
    this.maxTableSize = limit;
  }

  /**
   * Decodes one complete header block. `maxListBytes` bounds the decoded list
   * (names, values and 32 per field, as HTTP/2 counts it): a few bytes of
   * indexed fields can stand for far more, so the bound is checked as fields
   * are decoded. Returns the fields, or 'too-large' once over the bound; the
   * table is kept in sync either way, since later blocks depend on it.
   */
  decode(block: Uint8Array, maxListBytes: number): HeaderField[] | 'too-large' {
    const fields: HeaderField[] = [];
    let listBytes = 0;
    let tooLarge = false;
    let pos = 0;
    let fieldSeen = false;
    const integer = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1;
      let value = block[pos++]! & max;
      if (value < max) return value;
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        const byte = block[pos++]!;
        // Nothing we accept is near 2^28; refusing beyond keeps the arithmetic exact.
        if (shift > 21) throw new HpackError('integer too large');
        value += (byte & 0x7f) * 2 ** shift;
        if (!(byte & 0x80)) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const length = integer(7);
      if (length > block.length - pos) throw new HpackError('string longer than its block');
      const raw = block.subarray(pos, pos + length);
      pos += length;
      if (!huffman) return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
      try {
        return huffmanDecode(raw).toString('latin1');
      } catch (err) {
        throw new HpackError(err instanceof Error ? err.message.replace(/^HPACK: /, '') : String(err));
      }
    };
    const emit = (field: HeaderField): void => {
      fieldSeen = true;
      if (tooLarge) return;
      listBytes += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listBytes > maxListBytes) {
        tooLarge = true;
        fields.length = 0;
        return;
      }
      fields.push(field);
    };
    while (pos < block.length) {
      const byte = block[pos]!;
      if (byte & 0x80) {
        emit(this.entry(integer(7)));
      } else if (byte & 0x40) {
        const index = integer(6);
        const name = index === 0 ? string() : this.entry(index)[0];
        const field: HeaderField = [name, string()];
        this.add(field);
        emit(field);
      } else if (byte & 0x20) {
        // A table size update: only at the start of a block (RFC 7541 §4.2).
        if (fieldSeen) throw new HpackError('table size update after a header field');
        const size = integer(5);
        if (size > this.limit) throw new HpackError(`table size ${size} above the ${this.limit} allowed`);
        this.maxTableSize = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): same to a decoder.
        const index = integer(4);
        const name = index === 0 ? string() : this.entry(index)[0];
        emit([name, string()]);
      }
    }
    return tooLarge ? 'too-large' : fields;
  }

  private entry(index: number): HeaderField {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const field = this.table[this.table.length - 1 - (index - STATIC_TABLE.length - 1)];
    if (!field) throw new HpackError(`index ${index} beyond the table`);
    return field;
  }

  private add(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    this.evict(size);
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (size > this.maxTableSize) return;
    this.table.push(field);
    this.tableSize += size;
  }

  /** Evicts the oldest entries until `incoming` more bytes fit. */
  private evict(incoming: number): void {
    let drop = 0;
    while (drop < this.table.length && this.tableSize + incoming > this.maxTableSize) {
      const [name, value] = this.table[drop++]!;
      this.tableSize -= name.length + value.length + ENTRY_OVERHEAD;
    }
    if (drop) this.table.splice(0, drop);
  }
}

/**
 * Encodes fields as literals without indexing, names and values raw. Names
 * must be lower-case ASCII and values latin1 (gRPC's status and message are).
 */
export function encodeHeaders(fields: readonly HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00]), encodeString(name), encodeString(value));
  }
  return Buffer.concat(parts);
}

function encodeString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([encodeInteger(bytes.length, 7, 0x00), bytes]);
}

function encodeInteger(value: number, prefixBits: number, flags: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}
