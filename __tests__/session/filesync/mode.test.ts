import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { entryKind, GoMode, isRegularGoMode, isSendable, toGoFileMode } from '../../../src/session/filesync/mode.js';
import { makeTree, removeTrees } from './helpers.js';

afterAll(removeTrees);

describe('toGoFileMode', () => {
  // [name, POSIX st_mode, Go FileMode]
  const cases: [string, number, number][] = [
    ['regular 0644', 0o100644, 420],
    ['directory 0755', 0o040755, 2147484141],
    ['symlink 0777', 0o120777, 134218239],
    ['setuid regular 4755', 0o104755, 0x00800000 + 0o755],
    ['setgid directory 2775', 0o042775, 0x80000000 + 0x00400000 + 0o775],
    ['sticky directory 1777', 0o041777, 0x80000000 + 0x00100000 + 0o777],
    ['all special bits 7755', 0o107755, 0x00800000 + 0x00400000 + 0x00100000 + 0o755],
    ['fifo 0644', 0o010644, 0x02000000 + 0o644],
    ['socket 0755', 0o140755, 0x01000000 + 0o755],
    ['char device 0666', 0o020666, 0x04000000 + 0x00200000 + 0o666],
    ['block device 0660', 0o060660, 0x04000000 + 0o660],
  ];

  it.each(cases)('%s', (_name, posix, expected) => {
    expect(toGoFileMode(posix, 'linux')).toBe(expected);
    expect(toGoFileMode(BigInt(posix), 'linux')).toBe(expected); // bigint lstat
  });

  it('is unsigned (bit 31 does not go negative)', () => {
    expect(toGoFileMode(0o040000, 'linux')).toBe(GoMode.Dir);
    expect(toGoFileMode(0o040000, 'linux')).toBeGreaterThan(0);
  });

  it.each([
    ['file 0666', 0o100666, 0o755],
    ['read-only file 0444', 0o100444, 0o555],
    ['directory 0777', 0o040777, 0x80000000 + 0o755],
  ])('normalises Windows permissions: %s', (_name, posix, expected) => {
    expect(toGoFileMode(posix, 'win32')).toBe(expected);
  });

  it('converts modes read from the file system', async () => {
    const root = await makeTree({ 'bin/tool': '#!/bin/sh\n', 'f.txt': 'x', 'shared/': { dir: true } });
    await fsp.chmod(path.join(root, 'bin/tool'), 0o4755);
    await fsp.chmod(path.join(root, 'f.txt'), 0o640);
    await fsp.chmod(path.join(root, 'shared'), 0o1777);
    const mode = async (rel: string) => toGoFileMode((await fsp.lstat(path.join(root, rel), { bigint: true })).mode, 'linux');
    expect(await mode('bin/tool')).toBe(GoMode.Setuid + 0o755);
    expect(await mode('f.txt')).toBe(0o640);
    expect(await mode('shared')).toBe(GoMode.Dir + GoMode.Sticky + 0o777);
  });
});

describe('entry kinds', () => {
  it.each([
    [0o100644, 'file', true],
    [0o040755, 'dir', true],
    [0o120777, 'symlink', true],
    [0o140755, 'other', false],
    [0o010644, 'other', false],
    [0o020666, 'other', false],
    [0o060660, 'other', false],
  ] as const)('mode %o is %s, sendable=%s', (posix, kind, sendable) => {
    expect(entryKind(posix)).toBe(kind);
    expect(isSendable(posix)).toBe(sendable);
  });

  it.each([
    [420, true],
    [GoMode.Setuid + 0o755, true], // special bits do not make it irregular
    [GoMode.Dir + 0o755, false],
    [GoMode.Symlink + 0o777, false],
    [GoMode.NamedPipe + 0o644, false],
    [GoMode.Irregular, false],
  ])('Go mode %i regular=%s', (mode, regular) => {
    expect(isRegularGoMode(mode)).toBe(regular);
  });
});
