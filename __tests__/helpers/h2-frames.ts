// HTTP/2 frames written by hand, for tests that play a client breaking the
// rules a real one keeps (nothing here honours the server's settings).

/** One frame: 9-byte header (length, type, flags, stream id), then the payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}
