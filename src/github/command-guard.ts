// Keeps text from outside the action (build logs, names and errors a daemon
// reports, envd's output) from being read as workflow commands.
//
// The runner ends a stdout line at \r\n, \n or a lone \r, and runs a command
// from any line that starts with `::name` after leading whitespace, or that
// contains `##[name` anywhere. Escaping all of that in free text is fragile,
// so such text goes between `::stop-commands::<token>` and `::<token>::`: in
// between, the runner runs nothing but that resume line, and the token is
// random and fresh for every window, so the text cannot contain it. Our own
// commands (masks, annotations, groups) would be ignored inside a window as
// well, so a command closes the open window first; the next untrusted text
// opens a new one.
import { randomHex } from '../common/random.js';
import { EOL } from 'node:os';

/** Where the text goes: process.stdout in the action, a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** The runner's line split: \r\n, \n, or a lone \r. */
export function runnerLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

/**
 * True when the runner could read a command from some line of `text`. A
 * superset of the runner's test: .NET's TrimStart also drops U+0085, which
 * JavaScript's \s does not cover.
 */
export function mayHoldCommand(text: string): boolean {
  return runnerLines(text).some((line) => /^[\s\u0085]*::/.test(line) || line.includes('##['));
}

export class CommandGuard {
  /** Set while commands are stopped. */
  private token: string | undefined;
  /** The last write did not end its line. */
  private midLine = false;

  constructor(private readonly sink: TextSink) {}

  /** Untrusted text as whole lines; each \r\n, \n or lone \r is written as a line end of its own. */
  lines(text: string): void {
    this.stop();
    this.write(runnerLines(text).join(EOL) + EOL);
  }

  /** Untrusted output as it streams (a child process's), passed through unchanged. */
  chunk(text: string): void {
    if (text === '') return;
    this.stop();
    this.write(text);
  }

  /** Our own log line. Text that could read as a command goes into a window, so no caller can issue one by accident. */
  info(text: string): void {
    if (mayHoldCommand(text)) this.lines(text);
    else this.write(`${this.midLine ? EOL : ''}${text}${EOL}`);
  }

  /** One of our commands, already escaped: outside any window, on a line of its own. */
  command(line: string): void {
    this.resume();
    this.write(`${this.midLine ? EOL : ''}${line}${EOL}`);
  }

  /** Ends the window, if one is open. */
  resume(): void {
    if (this.token === undefined) return;
    this.write(`${this.midLine ? EOL : ''}::${this.token}::${EOL}`);
    this.token = undefined;
  }

  private stop(): void {
    if (this.token !== undefined) return;
    this.token = randomHex(16);
    this.write(`${this.midLine ? EOL : ''}::stop-commands::${this.token}${EOL}`);
  }

  private write(text: string): void {
    if (text === '') return;
    this.sink.write(text);
    // A trailing lone \r already ended the line for the runner.
    this.midLine = !/[\r\n]$/.test(text);
  }
}
