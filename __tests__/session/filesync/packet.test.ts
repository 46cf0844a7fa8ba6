// The hand-written Packet encoder must produce exactly the generic codec's bytes.
import { randomBytes } from 'node:crypto';
import { PacketType, type Packet } from '../../../src/protocol/index.js';
import { encodePacket } from '../../../src/session/filesync/packet.js';
import { createTransferStats, serveDiffCopy } from '../../../src/session/filesync/diffcopy.js';
import { actAsReceiver, FakeCall, makeTree, packetCodec, removeTrees } from './helpers.js';

afterAll(removeTrees);

const encode = (p: Packet) => Buffer.concat(encodePacket(p)!);

describe('encodePacket matches the generic codec byte for byte', () => {
  const cases: [string, Packet][] = [
    ['end-of-walk marker', { type: PacketType.STAT }],
    ['FIN', { type: PacketType.FIN }],
    ['no fields at all', {}],
    ['REQ', { type: PacketType.REQ, ID: 7 }],
    ['terminator of file 0', { type: PacketType.DATA, ID: 0 }],
    ['terminator of a big ID', { type: PacketType.DATA, ID: 0xffffffff }],
    ['IDs around varint boundaries', { type: PacketType.DATA, ID: 128, data: Buffer.from('x') }],
    ['ID 16383', { type: PacketType.DATA, ID: 16383 }],
    ['ID 2097152', { type: PacketType.DATA, ID: 2097152 }],
    ['empty data present', { type: PacketType.DATA, ID: 1, data: Buffer.alloc(0) }],
    ['small data', { type: PacketType.DATA, ID: 3, data: Buffer.from('hello') }],
    ['data just below the separate-part size', { type: PacketType.DATA, ID: 3, data: randomBytes(1023) }],
    ['data at the separate-part size', { type: PacketType.DATA, ID: 3, data: randomBytes(1024) }],
    ['a 300 KB chunk', { type: PacketType.DATA, ID: 99999, data: randomBytes(300_000) }],
    ['ERR text', { type: PacketType.ERR, data: Buffer.from('failed to read a: EACCES') }],
    ['STAT of a regular file', { type: PacketType.STAT, stat: { path: 'a/b.txt', mode: 0o644, uid: 0, gid: 0, size: '12', modTime: '1700000000123456789' } }],
    ['STAT of a directory (mode bit 31)', { type: PacketType.STAT, stat: { path: 'd', mode: 0x800001ed } }],
    ['STAT of a symlink', { type: PacketType.STAT, stat: { path: 'l', mode: 0x080001ff, uid: 0, gid: 0, size: '5', modTime: '1', linkname: '../ü/target' } }],
    ['multi-byte and non-BMP names', { type: PacketType.STAT, stat: { path: '日本/\u{1F600}.txt', mode: 0o600, size: '0', modTime: '0' } }],
    ['a long path', { type: PacketType.STAT, stat: { path: 'p/'.repeat(200) + 'f', mode: 0o644, size: '1', modTime: '2' } }],
    ['mtime before 1970 (negative int64)', { type: PacketType.STAT, stat: { path: 'old', mode: 0o644, size: '1', modTime: '-1000000000123' } }],
    ['size beyond 2^32 and 2^53', { type: PacketType.STAT, stat: { path: 'big', mode: 0o644, size: '9007199254740993', modTime: '4294967296' } }],
    ['int64 extremes', { type: PacketType.STAT, stat: { path: 'x', mode: 0xffffffff, uid: 0xffffffff, gid: 65534, size: '9223372036854775807', modTime: '-9223372036854775808' } }],
    ['uid and gid set', { type: PacketType.STAT, stat: { path: 'x', mode: 0o755, uid: 1000, gid: 1000 } }],
  ];

  it.each(cases)('%s', (_name, packet) => {
    expect(encode(packet).toString('hex')).toBe(packetCodec.encode(packet).toString('hex'));
  });

  it('keeps big payloads as their own part, uncopied', () => {
    const data = randomBytes(64 * 1024);
    const parts = encodePacket({ type: PacketType.DATA, ID: 1, data })!;
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(data);
  });

  it('leaves device numbers to the generic codec', () => {
    expect(encodePacket({ type: PacketType.STAT, stat: { path: 'dev', mode: 0x04200000, devmajor: '1', devminor: '3' } })).toBeUndefined();
  });
});

/** A FakeCall that also takes encoded messages, as the session server's calls do. */
class EncodedFakeCall extends FakeCall {
  encodedWrites = 0;
  /** Batches of more than one message (a small file's content and its end). */
  batches = 0;
  private flushing: Promise<void> = Promise.resolve();

  writeEncoded(messages: readonly (readonly Buffer[])[]): boolean {
    if (messages.length > 1) this.batches++;
    for (const parts of messages) {
      this.encodedWrites++;
      const packet = packetCodec.decode(Buffer.concat(parts));
      this.flushing = this.flushing.then(() => this.write(packet));
    }
    // Full after every write, like a slow stream: the sender must wait for drained().
    return false;
  }

  drained(): Promise<void> {
    return this.flushing;
  }
}

describe('DiffCopy sender through a call that takes encoded messages', () => {
  it('sends the same exchange, encoding every packet itself', async () => {
    const big = randomBytes(700_000);
    const root = await makeTree({ 'a/b': 'hello', 'a-c': 'world!', empty: '', l: { link: 'a/b' }, big });
    const call = new EncodedFakeCall({ 'dir-name': ['context'] });
    const rx = actAsReceiver(call, () => true, false);
    const stats = createTransferStats();
    await serveDiffCopy(call, new Map([['context', root]]), stats);
    expect(rx.stats.map((s) => s.path)).toEqual(['a', 'a/b', 'a-c', 'big', 'empty', 'l']);
    expect(rx.files.get('big')!.equals(big)).toBe(true);
    expect(rx.files.get('a/b')!.toString()).toBe('hello');
    expect(rx.files.get('empty')!.length).toBe(0);
    expect(call.encodedWrites).toBe(call.sent.length);
    expect(call.batches).toBeGreaterThan(0);
    expect(call.sent.at(-1)).toEqual({ type: PacketType.FIN });
    expect(stats).toEqual({ entriesSent: 6, filesSent: 4, bytesSent: 11 + big.length, requestsQueuedPeak: expect.any(Number) });
  });
});
