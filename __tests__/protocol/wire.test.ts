import { codec, Messages, PacketType, methodPaths, Services, type Packet, type HealthCheckResponse } from '../../src/protocol/index.js';

const packet = codec<Packet>(Messages.Packet);
const hex = (b: Buffer) => b.toString('hex');

// The byte-level examples of the protocol reference (Appendix B).
describe('wire format matches the reference bytes', () => {
  const cases: [string, Packet, string][] = [
    [
      'STAT of a regular file',
      { type: PacketType.STAT, stat: { path: 'a/b.txt', mode: 0o644, uid: 0, gid: 0, size: '12', modTime: '1700000000123456789' } },
      '0800121c0a07612f622e74787410a4031800200028 0c30959a97ece39fe7cb17'.replace(/ /g, ''),
    ],
    ['STAT of a directory (mode bit 31)', { type: PacketType.STAT, stat: { path: 'd', mode: 0x800001ed } }, '080012090a016410ed83808008'],
    ['end-of-walk marker has no stat', { type: PacketType.STAT }, '0800'],
    ['empty DATA ends file 5', { type: PacketType.DATA, ID: 5 }, '08021805'],
    ['FIN', { type: PacketType.FIN }, '0803'],
  ];
  it.each(cases)('%s', (_name, message, expected) => {
    expect(hex(packet.encode(message))).toBe(expected);
  });

  it('HealthCheckResponse SERVING', () => {
    expect(hex(codec<HealthCheckResponse>(Messages.HealthCheckResponse).encode({ status: 1 }))).toBe('0801');
  });

  it('keeps nanosecond mtimes exact through a round trip', () => {
    const bytes = packet.encode({ type: PacketType.STAT, stat: { path: 'x', mode: 420, modTime: '1700000000123456789' } });
    expect(packet.decode(bytes).stat?.modTime).toBe('1700000000123456789');
  });

  it('decodes a zero-length packet as a STAT marker without stat', () => {
    const p = packet.decode(Buffer.alloc(0));
    expect(p.type ?? PacketType.STAT).toBe(PacketType.STAT);
    expect(p.stat).toBeUndefined();
  });

  it('derives gRPC paths from the service definitions', () => {
    expect(methodPaths(Services.Control)).toEqual(
      expect.arrayContaining(['/moby.buildkit.v1.Control/Solve', '/moby.buildkit.v1.Control/Session', '/moby.buildkit.v1.Control/Info']),
    );
    expect(methodPaths(Services.FileSync)).toEqual(['/moby.filesync.v1.FileSync/DiffCopy']);
  });
});
