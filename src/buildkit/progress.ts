// Renders the daemon's Status stream as readable log lines, numbered per step
// like BuildKit's plain output, and remembers what a summary and an error
// message need: counts, durations, the failing step and its last lines.
//
// Every string here comes from the daemon or a build step. Each line this
// writes starts with `#<n> ` and holds no line break: a \r, \n or \r\n in a
// name, error or log starts a new `#<n> ` line, as the runner (which ends a
// line at any of them) would split it anyway. The caller still writes the
// lines with workflow commands stopped (runner.untrusted): `##[` is a command
// anywhere in a line.
import { formatBytes } from '../common/format.js';
import type { StatusResponse, Timestamp, VertexWarning } from '../protocol/index.js';

const LOG_TAIL_LINES = 20;

/**
 * Log line ends. A \r at the very end of a chunk waits for the next one, since
 * it may be the first half of a \r\n.
 */
const LOG_LINE_END = /\r\n|\n|\r(?!$)/;

function lines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/**
 * A Dockerfile instruction's vertex: `[2/3] RUN make`, `[stage-1 1/2] COPY`,
 * `[linux/arm64 1/1] COPY`. Loading the context, exporting and pushing run on
 * every build, cached or not, so counting them would make a fully cached
 * build look like it did work.
 */
const INSTRUCTION_STEP = /^\[[^\]]*?\b\d+\/\d+\] /;

interface StepState {
  readonly digest: string;
  number?: number;
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
  partialLine: string;
  tail: string[];
  reported: Set<string>;
}

export interface FailedStep {
  readonly name: string;
  readonly error: string;
  readonly logTail: readonly string[];
}

export interface StepWarning {
  readonly step: string;
  readonly message: string;
  readonly detail: string;
  readonly url?: string;
  readonly file?: string;
  readonly line?: number;
}

export interface ProgressSummary {
  /** Build steps (Dockerfile instructions, `[2/3] RUN ...`); BuildKit's own vertices are not counted. */
  readonly steps: number;
  /** How many of those steps were cache hits. */
  readonly cached: number;
  readonly failed?: FailedStep;
  readonly warnings: readonly StepWarning[];
}

function toMillis(t?: Timestamp): number | undefined {
  if (!t?.seconds) return undefined;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export class ProgressPrinter {
  private readonly steps = new Map<string, StepState>();
  private nextNumber = 1;
  private readonly warnings: StepWarning[] = [];

  constructor(private readonly write: (line: string) => void) {}

  update(resp: StatusResponse): void {
    for (const v of resp.vertexes ?? []) {
      if (!v.digest) continue;
      const step = this.step(v.digest);
      if (v.name) step.name = v.name;
      step.cached ||= !!v.cached;
      const started = toMillis(v.started);
      const completed = toMillis(v.completed);
      if (started !== undefined) step.started = started;
      if (v.error) step.error = v.error;
      if (started !== undefined || v.cached) this.header(step);
      if (completed !== undefined && step.completed === undefined) {
        step.completed = completed;
        this.flushPartial(step);
        if (step.error) this.emit(step, step.error.endsWith('context canceled') ? 'CANCELED' : `ERROR: ${step.error}`);
        else if (step.cached) this.emit(step, 'CACHED');
        else this.emit(step, `DONE ${seconds(completed - (step.started ?? completed))}`);
      } else if (v.cached && !step.reported.has('cached')) {
        step.reported.add('cached');
      }
    }
    for (const s of resp.statuses ?? []) {
      if (!s.vertex || !s.ID) continue;
      const step = this.step(s.vertex);
      const current = Number(s.current ?? 0);
      if (s.completed && !step.reported.has(`status:${s.ID}`)) {
        step.reported.add(`status:${s.ID}`);
        this.header(step);
        const total = Number(s.total ?? 0);
        const amount = total ? `${formatBytes(current)} / ${formatBytes(total)}` : current ? formatBytes(current) : '';
        this.emit(step, `${s.name || s.ID} ${amount} done`.replace(/\s+/g, ' '));
      }
    }
    for (const l of resp.logs ?? []) {
      if (!l.vertex || !l.msg) continue;
      const step = this.step(l.vertex);
      this.header(step);
      const parts = (step.partialLine + l.msg.toString('utf8')).split(LOG_LINE_END);
      step.partialLine = parts.pop() ?? '';
      for (const line of parts) this.logLine(step, line);
    }
    for (const w of resp.warnings ?? []) this.warning(w);
  }

  summary(): ProgressSummary {
    const all = [...this.steps.values()].filter((s) => s.number !== undefined);
    const failed = all.find((s) => s.error && !s.error.endsWith('context canceled'));
    const steps = all.filter((s) => INSTRUCTION_STEP.test(s.name));
    return {
      steps: steps.length,
      cached: steps.filter((s) => s.cached).length,
      ...(failed ? { failed: { name: failed.name, error: failed.error!, logTail: [...failed.tail] } } : {}),
      warnings: [...this.warnings],
    };
  }

  private step(digest: string): StepState {
    let s = this.steps.get(digest);
    if (!s) {
      s = { digest, name: digest, cached: false, partialLine: '', tail: [], reported: new Set() };
      this.steps.set(digest, s);
    }
    return s;
  }

  private header(step: StepState): void {
    if (step.number !== undefined) return;
    step.number = this.nextNumber++;
    this.writeLines(step.number, step.name);
  }

  private emit(step: StepState, text: string): void {
    this.header(step);
    this.writeLines(step.number!, text);
  }

  /** One `#<n> ` line per line of text (see the header comment). */
  private writeLines(number: number, text: string): void {
    for (const line of lines(text)) this.write(`#${number} ${line}`);
  }

  private logLine(step: StepState, line: string): void {
    step.tail.push(line);
    if (step.tail.length > LOG_TAIL_LINES) step.tail.shift();
    this.write(`#${step.number} ${line}`);
  }

  private flushPartial(step: StepState): void {
    // A held-back \r at the end is the line's end, not part of it.
    const rest = step.partialLine.replace(/\r$/, '');
    step.partialLine = '';
    if (rest) this.logLine(step, rest);
  }

  private warning(w: VertexWarning): void {
    const step = w.vertex ? this.step(w.vertex) : undefined;
    const message = w.short?.toString('utf8') ?? '';
    const detail = (w.detail ?? []).map((d) => d.toString('utf8')).join('\n');
    const line = w.ranges?.[0]?.start?.line;
    this.warnings.push({
      step: step?.name ?? '',
      message,
      detail,
      ...(w.url ? { url: w.url } : {}),
      ...(w.info?.filename ? { file: w.info.filename } : {}),
      ...(line ? { line } : {}),
    });
    if (step) this.emit(step, `WARN: ${message}`);
  }
}
