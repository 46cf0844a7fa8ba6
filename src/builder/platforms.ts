// Which builder builds which platform, when several builders and several
// platforms are given: each platform goes to a builder that runs it natively
// (the first platform of one of its workers, as ListWorkers reports it, or a
// platform pinned on the builder's line), in the order the builders are
// listed; a platform nobody runs natively goes to the first builder that
// lists it at all (it will emulate), with a notice. Probing and logging are
// injected so the decisions are unit-testable.
import * as runner from '../github/runner.js';
import { parseEndpoint, type BuilderEndpoint } from '../buildkit/endpoint.js';
import type { BuilderInfo } from '../buildkit/probe.js';
import { defaultResolveDeps, logBuilder, toTlsConfig, type ResolveDeps, type ResolveInputs } from './resolve.js';

export interface PlatformAssignment {
  readonly platform: string;
  readonly address: string;
  /** False when the builder only lists the platform (emulation). */
  readonly native: boolean;
}

/** One builder's share of the build. */
export interface PlatformGroup {
  readonly endpoint: BuilderEndpoint;
  readonly info: BuilderInfo;
  readonly platforms: readonly string[];
}

export type PlatformPlan =
  | { readonly kind: 'native'; readonly groups: readonly PlatformGroup[]; readonly assignments: readonly PlatformAssignment[] }
  /** Build as today, on these builders in this order; `probe` answers from the probes already made. */
  | { readonly kind: 'single'; readonly builders: readonly string[]; readonly probe: ResolveDeps['probe'] };

export interface Candidate {
  readonly address: string;
  readonly info: BuilderInfo;
  /** Platforms pinned on the builder's line (`tcp://x:1234 platforms=linux/arm64`). */
  readonly pinned?: readonly string[];
}

/**
 * The same platform in one spelling: lower case, and the variants BuildKit
 * treats as defaults dropped or added (arm64/v8 is arm64, arm is arm/v7,
 * amd64/v1 is amd64).
 */
export function normalizePlatform(p: string): string {
  const [os = '', arch = '', variant = ''] = p.toLowerCase().split('/');
  if (arch === 'arm64' && (variant === 'v8' || variant === '')) return `${os}/arm64`;
  if (arch === 'arm' && variant === '') return `${os}/arm/v7`;
  if (arch === 'amd64' && (variant === 'v1' || variant === '')) return `${os}/amd64`;
  return [os, arch, variant].filter(Boolean).join('/');
}

function formatWorkerPlatform(p: { OS?: string; Architecture?: string; Variant?: string }): string {
  return normalizePlatform([p.OS, p.Architecture, p.Variant].filter(Boolean).join('/'));
}

/** Each worker's own platform: the first one it lists. */
export function nativePlatforms(info: BuilderInfo): string[] {
  return (info.workers ?? []).map((w) => w.platforms?.[0]).filter((p) => p !== undefined).map(formatWorkerPlatform);
}

/** Every platform any worker lists (native or emulated). */
export function listedPlatforms(info: BuilderInfo): string[] {
  return (info.workers ?? []).flatMap((w) => (w.platforms ?? []).map(formatWorkerPlatform));
}

/** A platform no reachable builder can build; one line naming the input. */
export class PlatformAssignmentError extends Error {
  override readonly name = 'PlatformAssignmentError';
}

export function assignPlatforms(platforms: readonly string[], candidates: readonly Candidate[]): { assignments: PlatformAssignment[]; notices: string[] } {
  const assignments: PlatformAssignment[] = [];
  const notices: string[] = [];
  for (const platform of platforms) {
    const want = normalizePlatform(platform);
    const native = candidates.find((c) => (c.pinned ? c.pinned.map(normalizePlatform) : nativePlatforms(c.info)).includes(want));
    if (native) {
      assignments.push({ platform, address: native.address, native: true });
      continue;
    }
    const emulating = candidates.find((c) => listedPlatforms(c.info).includes(want));
    if (!emulating) {
      const offered = candidates.map((c) => `${c.address}: ${(c.pinned ?? listedPlatforms(c.info)).join(', ') || 'none'}`).join('; ');
      throw new PlatformAssignmentError(`Input "platforms": no reachable builder runs or emulates ${platform} (${offered})`);
    }
    assignments.push({ platform, address: emulating.address, native: false });
    notices.push(`No builder runs ${platform} natively; building it on ${emulating.address}, which emulates it`);
  }
  return { assignments, notices };
}

/** Several builders, several platforms, a Dockerfile and a push: the case this module is for. */
export interface PlatformPlanWish extends Pick<ResolveInputs, 'builders' | 'fallback'> {
  /** Only Dockerfile builds are split by platform. */
  readonly frontend: string;
  readonly platforms: readonly string[];
  readonly push: boolean;
  readonly tags: readonly string[];
}

export function wantsPlatformPlan(inputs: PlatformPlanWish): boolean {
  return inputs.frontend === 'dockerfile' && inputs.builders.length > 1 && inputs.platforms.length > 1 && inputs.fallback !== 'only' && inputs.push && inputs.tags.length > 0;
}

export interface PlanLogger {
  info(message: string): void;
  untrusted(message: string): void;
  notice(message: string): void;
  warning(message: string, properties?: { title?: string }): void;
  startGroup(name: string): void;
  endGroup(): void;
}

/**
 * Probes every builder at once (failover order is the list's, per platform)
 * and splits the platforms among the reachable ones. Falls back to the
 * single-solve path when only one builder ends up with work, or none is
 * reachable (then that path's fallback rules apply, without probing again).
 */
export async function planPlatforms(
  inputs: Pick<ResolveInputs, 'builders' | 'tls' | 'connectTimeoutMs'> & {
    /** Platforms pinned on a builder's line, by address. */
    readonly builderPlatforms: Readonly<Record<string, readonly string[]>>;
    readonly platforms: readonly string[];
  },
  deps: { readonly probe?: ResolveDeps['probe']; readonly log: PlanLogger } = { log: runner },
): Promise<PlatformPlan> {
  const probe = deps.probe ?? defaultResolveDeps.probe;
  const tls = toTlsConfig(inputs.tls);
  const endpoints = inputs.builders.map((b) => parseEndpoint(b, tls));
  const results = await Promise.allSettled(endpoints.map((e) => probe(e, inputs.connectTimeoutMs)));
  const byAddress = new Map(endpoints.map((e, i) => [e.address, results[i]!]));
  // What resolveBuilder would learn by probing again.
  const cached: ResolveDeps['probe'] = (endpoint) => {
    const r = byAddress.get(endpoint.address);
    if (!r) return probe(endpoint, inputs.connectTimeoutMs);
    return r.status === 'fulfilled' ? Promise.resolve(r.value) : Promise.reject(r.reason);
  };
  const candidates: Candidate[] = [];
  results.forEach((r, i) => {
    const address = endpoints[i]!.address;
    if (r.status === 'rejected') {
      const text = (r.reason instanceof Error ? r.reason.message : String(r.reason)).split('\n')[0]!;
      deps.log.untrusted(`Builder ${address} is not usable: ${text.replace(/^builder \S+ is not usable: /, '')}`);
      return;
    }
    const pinned = inputs.builderPlatforms[inputs.builders[i]!];
    candidates.push({ address, info: r.value, ...(pinned ? { pinned } : {}) });
  });
  if (candidates.length === 0) return { kind: 'single', builders: inputs.builders, probe: cached };

  const { assignments, notices } = assignPlatforms(inputs.platforms, candidates);
  for (const n of notices) deps.log.notice(n);
  const used = candidates.filter((c) => assignments.some((a) => a.address === c.address));
  if (used.length === 1) {
    deps.log.info(`All platforms go to ${used[0]!.address}: one build there`);
    return { kind: 'single', builders: [used[0]!.address], probe: cached };
  }
  const groups = used.map((c) => {
    logBuilder(deps.log, c.info, c.pinned ? `remote, pinned to ${c.pinned.join(', ')}` : 'remote');
    return { endpoint: endpoints.find((e) => e.address === c.address)!, info: c.info, platforms: assignments.filter((a) => a.address === c.address).map((a) => a.platform) };
  });
  return { kind: 'native', groups, assignments };
}
