// Default versions of every tool this action downloads and runs, and the
// sha256 digests trusted for them without asking anyone: the one place to edit
// when bumping a default. A digest here is the trust anchor that a download,
// a tool-cache copy or an Actions-cache entry is checked against, so it must
// come from somewhere other than the file itself (see each entry's source).

/** The buildkitd release of the local fallback builder (`buildkit-version` default). */
export const DEFAULT_BUILDKIT_VERSION = 'v0.24.0';
/** The rootlesskit release used when the runner has none (rootless local builder). */
export const DEFAULT_ROOTLESSKIT_VERSION = 'v2.3.5';
/**
 * The oldest envd this action installs (without the `v`). Before v0.3.33 the
 * release asset names were broken or version-less (goreleaser template bugs);
 * from v0.3.33 on, every flag and env var this action uses exists (checked in
 * envd's git history).
 */
export const ENVD_MIN_VERSION = '0.3.33';
/** The envd release used when the `envd-version` input is empty. */
export const DEFAULT_ENVD_VERSION = 'v1.3.4';

export type PinnedTool = 'buildkit' | 'rootlesskit' | 'envd';

/**
 * Known-good sha256 of release assets, keyed `<tool>/<tag>/<asset>`.
 *
 * Sources (GitHub was not reachable from the development machine):
 * - buildkit v0.24.0: containerd/nerdctl Dockerfile.d/SHA256SUMS.d/buildkit-v0.24.0
 *   (nerdctl's build checks its downloads against it); amd64 also matches an independent script.
 * - rootlesskit v2.3.5: identical in a Bazel http_archive (which enforces it) and a Homebrew formula.
 * - envd v1.3.4: none. No published copy of the release's checksums.txt could be
 *   found, and a digest is never invented; until one is added, the default envd
 *   is checked against the GitHub releases API's asset digest, and without that
 *   it is refused unless `allow-unverified-downloads` is true.
 * TODO(release): when bumping a default version, add its digests from the release's
 * SHA256SUMS / checksums.txt / the releases API `digest` field, and re-verify them
 * on a machine with internet; add envd v1.3.4's (envd_1.3.4_linux_amd64 and _arm64).
 */
export const PINNED_SHA256: Readonly<Record<string, string>> = {
  'buildkit/v0.24.0/buildkit-v0.24.0.linux-amd64.tar.gz': 'af8064eca16077b4d6937745988ba2d2dfa439540874cdcd918318315f3ba1d3',
  'buildkit/v0.24.0/buildkit-v0.24.0.linux-arm64.tar.gz': '38dc4433d220bb43c198df2070e49d5dde5ed44ee31fb80d6b13722eec21d4ea',
  'rootlesskit/v2.3.5/rootlesskit-x86_64.tar.gz': '118208e25becd144ee7317c172fc9decce7b16174d5c1bbf80f1d1d0eacc6b5f',
  'rootlesskit/v2.3.5/rootlesskit-aarch64.tar.gz': '478c14c3195bf989cd9a8e6bd129d227d5d88f1c11418967ffdc84a0072cc7a2',
};

export function pinnedSha256For(tool: PinnedTool, tag: string, asset: string): string | undefined {
  return PINNED_SHA256[`${tool}/${tag}/${asset}`];
}
