import { checkBuilderFeatures, compareBuildkitVersions } from '../../src/action/builder-features.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import type { BuilderInfo } from '../../src/buildkit/probe.js';

const info = (version?: string): BuilderInfo => ({ endpoint: parseEndpoint('tcp://b:1234'), workers: [], ...(version ? { version: { version } } : {}) });

describe('builder features', () => {
  it('source-date-epoch on a daemon before v0.13 is one line naming the input and the version', () => {
    expect(() => checkBuilderFeatures({ sourceDateEpoch: '1700000000' }, info('v0.11.6'))).toThrow(
      'Input "source-date-epoch" needs BuildKit v0.13.0 or later to rewrite layer timestamps; builder tcp://b:1234 runs v0.11.6',
    );
  });

  it.each([['v0.13.0'], ['v0.25.2'], ['v0.34.2-rc1']])('source-date-epoch on %s is fine', (v) => {
    expect(() => checkBuilderFeatures({ sourceDateEpoch: '1' }, info(v))).not.toThrow();
  });

  it('without source-date-epoch any version is fine, and an unknown version is not refused', () => {
    expect(() => checkBuilderFeatures({ sourceDateEpoch: '' }, info('v0.9.0'))).not.toThrow();
    expect(() => checkBuilderFeatures({ sourceDateEpoch: '1' }, info())).not.toThrow();
  });

  it('compares versions by their numbers', () => {
    expect(compareBuildkitVersions('v0.9.3', 'v0.13.0')).toBeLessThan(0);
    expect(compareBuildkitVersions('0.13.0', 'v0.13.0')).toBe(0);
    expect(compareBuildkitVersions('dev', 'v0.13.0')).toBeUndefined();
  });
});
