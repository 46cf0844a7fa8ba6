// Renders the daemon's Status stream as readable log lines, numbered per step
// like BuildKit's plain output, and remembers what a summary and an error
// message need: counts, durations, the failing step and its last lines.
import { formatBytes } from '../common/format.js';
import type { StatusResponse, Timestamp, VertexWarning } from '../protocol/index.js';

const LOG_TAIL_LINES = 20;

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
      const text = step.partialLine + l.msg.toString('utf8');
      const lines = text.split(/\r?\n/);
      step.partialLine = lines.pop() ?? '';
      for (const line of lines) this.logLine(step, line);
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
    this.write(`#${step.number} ${step.name}`);
  }

  private emit(step: StepState, text: string): void {
    this.header(step);
    this.write(`#${step.number} ${text}`);
  }

  private logLine(step: StepState, line: string): void {
    step.tail.push(line);
    if (step.tail.length > LOG_TAIL_LINES) step.tail.shift();
    this.write(`#${step.number} ${line}`);
  }

  private flushPartial(step: StepState): void {
    if (step.partialLine) {
      this.logLine(step, step.partialLine);
      step.partialLine = '';
    }
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
