// The job summary: one table per build, so a reviewer sees where the image was
// built, what was pushed and how much the cache saved without opening logs.
// Only the typed fields below are rendered; inputs as a whole are never
// dumped, so secrets (and secret ids' values) cannot end up here.

import * as summary from '../github/summary.js';
import * as runner from '../github/runner.js';

import type { Frontend } from './inputs-types.js';

export interface BuildSummary {
  /** Builder address as configured. Credentials in it, if any, are stripped. */
  readonly builderEndpoint: string;
  /** `remote` for a configured builder, `local` for the fallback buildkitd. */
  readonly builderKind?: 'remote' | 'local';
  /** BuildKit version the builder reported, e.g. v0.24.0. */
  readonly builderVersion?: string;
  readonly frontend: Frontend;
  readonly platforms?: readonly string[];
  readonly tags: readonly string[];
  readonly pushed?: boolean;
  /** '' or absent when nothing was exported. */
  readonly digest?: string;
  readonly images: readonly string[];
  readonly durationMs: number;
  /** Vertex counts from the solve status stream. */
  readonly steps?: { readonly cached: number; readonly run: number };
  /** Bytes of build context sent to the builder. */
  readonly contextBytes?: number;
}

function code(text: string): string {
  return `<code>${summary.escapeHtml(text)}</code>`;
}

/** Drops `user:pass@` and query strings: an address may carry a token. */
export function redactEndpoint(endpoint: string): string {
  return endpoint.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1').replace(/[?#].*$/, '');
}

import { formatBytes } from '../common/format.js';

export { formatBytes };

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 100) / 10;
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const whole = Math.round(totalSeconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}

/** The table rows as [label, HTML value]; exported for tests. */
export function summaryRows(s: BuildSummary): [string, string][] {
  const rows: [string, string][] = [];
  const kind = s.builderKind === 'local' ? ' (local fallback)' : '';
  rows.push(['Builder', `${code(redactEndpoint(s.builderEndpoint))}${kind}`]);
  if (s.builderVersion) rows.push(['BuildKit', summary.escapeHtml(s.builderVersion)]);
  rows.push(['Frontend', summary.escapeHtml(s.frontend)]);
  if (s.platforms && s.platforms.length > 0) rows.push(['Platforms', s.platforms.map(code).join(' ')]);
  rows.push(['Tags', s.tags.length > 0 ? s.tags.map(code).join('<br>') : '<em>none</em>']);
  if (s.pushed !== undefined) rows.push(['Pushed', s.pushed ? 'yes' : 'no']);
  rows.push(['Digest', s.digest ? code(s.digest) : '<em>none</em>']);
  if (s.images.length > 0) rows.push(['Images', s.images.map(code).join('<br>')]);
  rows.push(['Duration', formatDuration(s.durationMs)]);
  if (s.steps) {
    const total = s.steps.cached + s.steps.run;
    const pct = total > 0 ? ` (${Math.round((s.steps.cached / total) * 100)}% cached)` : '';
    rows.push(['Steps', `${s.steps.cached} cached, ${s.steps.run} run${pct}`]);
  }
  if (s.contextBytes !== undefined) rows.push(['Context sent', formatBytes(s.contextBytes)]);
  return rows;
}

/**
 * Appends the summary to GITHUB_STEP_SUMMARY. Returns false, without error,
 * when the runner provides no summary file (self-hosted runners, `act`, local
 * runs) or the write fails: a summary must never fail a build that succeeded.
 */
export async function writeSummary(s: BuildSummary): Promise<boolean> {
  if (!process.env['GITHUB_STEP_SUMMARY']) {
    runner.debug('GITHUB_STEP_SUMMARY is not set; skipping the job summary');
    return false;
  }
  try {
    await summary.appendSummary(
      summary.summaryHeading('envd-remote-build', 3),
      summary.summaryTable([
        [
          { content: 'Field', header: true },
          { content: 'Value', header: true },
        ],
        // Labels are text; values are HTML that summaryRows escaped itself.
        ...summaryRows(s).map(([label, value]) => [label, { html: value }]),
      ]),
    );
    return true;
  } catch (err) {
    // Not `instanceof Error`: errors from node:fs may come from another realm (jest's VM).
    const message = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
    runner.warning(`Could not write the job summary: ${message}`);
    return false;
  }
}
