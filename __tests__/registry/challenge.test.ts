import { parseChallenges } from '../../src/registry/challenge.js';
import { parseReference, isLoopbackHost } from '../../src/registry/reference.js';

describe('WWW-Authenticate', () => {
  it.each<[string, string, { scheme: string; params: Record<string, string> }[]]>([
    [
      'Docker Hub style bearer',
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
    ],
    ['basic', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    [
      'two challenges, spaces and an escaped quote',
      'Basic realm="a \\"b\\"" , Bearer realm="https://t/token", error=insufficient_scope',
      [
        { scheme: 'basic', params: { realm: 'a "b"' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', error: 'insufficient_scope' } },
      ],
    ],
    ['parameter names are case-insensitive', 'BEARER Realm="x",SERVICE=y', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
  ])('%s', (_name, header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});

describe('references', () => {
  it.each<[string, object]>([
    ['alpine', { host: 'registry-1.docker.io', path: 'library/alpine', name: 'alpine' }],
    ['docker.io/org/app:1', { host: 'registry-1.docker.io', path: 'org/app', name: 'docker.io/org/app', tag: '1' }],
    ['127.0.0.1:5000/a/b:t', { host: '127.0.0.1:5000', path: 'a/b', name: '127.0.0.1:5000/a/b', tag: 't' }],
    [`ghcr.io/o/app@sha256:${'a'.repeat(64)}`, { host: 'ghcr.io', path: 'o/app', name: 'ghcr.io/o/app', digest: `sha256:${'a'.repeat(64)}` }],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  it('refuses a digest that is not one', () => {
    expect(parseReference('ghcr.io/o/app@sha256:xyz')).toBe('"sha256:xyz" is not a digest (expected sha256:<64 hex digits>)');
  });

  it.each([
    ['127.0.0.1:5000', true],
    ['localhost', true],
    ['[::1]:5000', true],
    ['127.1.2.3', true],
    ['10.0.0.1:5000', false],
    ['ghcr.io', false],
    ['127.0.0.1.nip.io', false],
  ])('loopback %s: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
