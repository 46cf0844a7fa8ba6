// What the build tells the job page, as workflow annotations: Dockerfile
// warnings on the Dockerfile's line, the failing step with its last log
// lines. Pure mappings, so the exact text is unit-tested; main only sends
// them through ./runner.ts.
import * as path from 'node:path';
import type { FailedStep, StepWarning } from '../buildkit/progress.js';

export interface Annotation {
  readonly message: string;
  readonly title: string;
  /** Path relative to the workspace, with `/` separators, as the job page resolves it. */
  readonly file?: string;
  readonly startLine?: number;
}

export interface AnnotationPaths {
  /** The Dockerfile of the build, absolute. */
  readonly dockerfile: string;
  /** GITHUB_WORKSPACE (the checkout), absolute. */
  readonly workspace: string;
}

/**
 * A Dockerfile warning from the Status stream. BuildKit names the file as the
 * frontend saw it (relative to the Dockerfile's own directory, usually just
 * `Dockerfile`), but the job page wants a path from the repository root, or
 * it cannot place the annotation on the file.
 */
export function warningAnnotation(w: StepWarning, paths: AnnotationPaths): Annotation {
  const file = w.file ? workspaceRelative(path.resolve(path.dirname(paths.dockerfile), w.file), paths.workspace) : undefined;
  const details = [w.detail, w.url ? `See ${w.url}` : ''].filter((s) => s !== '').join('\n');
  return {
    message: details ? `${w.message}\n${details}` : w.message,
    title: 'Dockerfile warning',
    ...(file !== undefined ? { file } : {}),
    // A line without a file would point nowhere.
    ...(file !== undefined && w.line ? { startLine: w.line } : {}),
  };
}

/** Where a build's warnings point: its Dockerfile, and the checkout they are relative to. */
export function annotationPaths(dockerfile: string, env: NodeJS.ProcessEnv = process.env): AnnotationPaths {
  return { dockerfile, workspace: env['GITHUB_WORKSPACE'] || process.cwd() };
}

/** Dockerfile warnings as annotations, each once: builders of the same Dockerfile (one per platform) warn alike. */
export function warningAnnotations(warnings: readonly StepWarning[], paths: AnnotationPaths): Annotation[] {
  const byText = new Map<string, Annotation>();
  for (const w of warnings) {
    const a = warningAnnotation(w, paths);
    byText.set(JSON.stringify([a.title, a.message, a.file, a.startLine]), a);
  }
  return [...byText.values()];
}

/** The failing step: the daemon's error first, then the step's last output lines, which usually say why. */
export function failureAnnotation(failed: FailedStep): Annotation {
  const tail = failed.logTail.length ? `\n${failed.logTail.join('\n')}` : '';
  return { message: `${failed.error}${tail}`, title: `Build step failed: ${failed.name}` };
}

/** `abs` relative to `workspace`; undefined when it lies outside (an annotation there would be dropped). */
function workspaceRelative(abs: string, workspace: string): string | undefined {
  const rel = path.relative(workspace, abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}
