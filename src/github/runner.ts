// Talking to the GitHub Actions runner: inputs from INPUT_* variables, outputs
// and state through the files the runner names (GITHUB_OUTPUT, GITHUB_STATE),
// everything else as `::command::` lines on stdout. The job summary's HTML is
// in summary.ts beside this file.
//
// This replaces @actions/core, whose formats it follows (v3.0.1: command.js,
// file-command.js, utils.js, core.js, summary.js). We do not import that
// package because it statically loads @actions/http-client and undici for
// its OIDC client, which we never use, and that costs ~60 ms at every start.
// Only what the action uses is here; node:fs and node:os are all it needs
// (delimiters are random bytes read by common/random.ts).

import { appendFileSync, existsSync } from 'node:fs';
import { EOL } from 'node:os';
import { randomUUID } from '../common/random.js';
import { CommandGuard, type TextSink } from './command-guard.js';

// ---------------------------------------------------------------------------
// Inputs and state
// ---------------------------------------------------------------------------

export interface InputOptions {
  /** Throw when the input is empty or not set. */
  readonly required?: boolean;
  /** Trim leading and trailing whitespace; the default (true), as in @actions/core. */
  readonly trimWhitespace?: boolean;
}

/**
 * An input of action.yml, from INPUT_<NAME>: the runner upper-cases the name
 * and turns spaces (not dashes) into underscores. Unset and '' are the same.
 */
export function getInput(name: string, options: InputOptions = {}): string {
  const value = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '';
  // Checked before trimming, as @actions/core does: whitespace counts as given.
  if (options.required && value === '') throw new Error(`Input required and not supplied: ${name}`);
  return options.trimWhitespace === false ? value : value.trim();
}

/** A step output. */
export function setOutput(name: string, value: string): void {
  if (process.env['GITHUB_OUTPUT']) {
    appendFileCommand('GITHUB_OUTPUT', keyValueRecord(name, value));
    return;
  }
  // Old runners (and `act` setups) without the file: the deprecated stdout
  // command. The leading EOL makes sure it starts a line of its own, since
  // whatever was written before may not have ended with one.
  process.stdout.write(EOL);
  issueCommand('set-output', { name }, value);
}

/** A value for the post step, where it arrives as STATE_<name> (read by state.ts). */
export function saveState(name: string, value: string): void {
  if (process.env['GITHUB_STATE']) {
    appendFileCommand('GITHUB_STATE', keyValueRecord(name, value));
    return;
  }
  issueCommand('save-state', { name }, value);
}

/**
 * A `name<<delimiter` heredoc record, the format of GITHUB_OUTPUT and
 * GITHUB_STATE. The delimiter is random per record, so a value cannot end
 * the record early and smuggle in other names; a name or value that contains
 * it anyway is refused rather than written.
 */
function keyValueRecord(name: string, value: string): string {
  const delimiter = `ghadelimiter_${randomUUID()}`;
  if (name.includes(delimiter)) throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  if (value.includes(delimiter)) throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}`;
}

/**
 * Appends one record to the file the runner named in `variable`. The file
 * must exist (the runner creates it): writing to a path the runner will not
 * read would lose the value silently, so that is an error.
 */
function appendFileCommand(variable: 'GITHUB_OUTPUT' | 'GITHUB_STATE', record: string): void {
  const file = process.env[variable];
  if (!file) throw new Error(`Unable to find environment variable for file command ${variable.slice('GITHUB_'.length)}`);
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`);
  // Synchronous: state must be on disk before anything can kill this process.
  appendFileSync(file, `${record}${EOL}`, { encoding: 'utf8' });
}

// ---------------------------------------------------------------------------
// Log
// ---------------------------------------------------------------------------

/** Where an annotation points on the job page. */
export interface AnnotationProperties {
  readonly title?: string;
  /** Path from the repository root, `/`-separated. */
  readonly file?: string;
  readonly startLine?: number;
  readonly endLine?: number;
  readonly startColumn?: number;
  readonly endColumn?: number;
}

/** Asks the runner to replace this value with *** in all later log lines. */
export function setSecret(secret: string): void {
  issueCommand('add-mask', {}, secret);
}

/** Shown only with debug logging on. */
export function debug(message: string): void {
  issueCommand('debug', {}, message);
}

/**
 * Everything this module writes to stdout, so it knows whether commands are
 * stopped. Looked up at each write (tests replace process.stdout.write).
 */
const stdout = new CommandGuard({ write: (text) => process.stdout.write(text) });

/**
 * A plain log line of ours, written as it is. Should it read as a workflow
 * command (a path or name that happens to start with `::`), it is written
 * with commands stopped instead: info never issues a command.
 */
export function info(message: string): void {
  stdout.info(message);
}

/**
 * Text that came from outside the action: build logs, anything a daemon
 * reports (versions, worker names, errors), a child's output. It reaches the
 * log with workflow commands stopped, each \r, \n or \r\n ending a line.
 */
export function untrusted(text: string): void {
  stdout.lines(text);
}

/** A sink for a child process's output, as it arrives; like untrusted, but unchanged. */
export const untrustedStream: TextSink = { write: (chunk: string) => stdout.chunk(chunk) };

/** Lets the runner process commands again (our own commands do this themselves). */
export function resumeCommands(): void {
  stdout.resume();
}

export function warning(message: string, properties: AnnotationProperties = {}): void {
  issueCommand('warning', annotationProperties(properties), message);
}

export function notice(message: string, properties: AnnotationProperties = {}): void {
  issueCommand('notice', annotationProperties(properties), message);
}

export function error(message: string, properties: AnnotationProperties = {}): void {
  issueCommand('error', annotationProperties(properties), message);
}

/** Folds the following log lines under `name` until endGroup. */
export function startGroup(name: string): void {
  issueCommand('group', {}, name);
}

export function endGroup(): void {
  issueCommand('endgroup', {}, '');
}

/** Fails the step (exit code 1 once the process ends) with an error annotation. */
export function setFailed(message: string): void {
  process.exitCode = 1;
  error(message);
}

type CommandProperties = Readonly<Record<string, string | number | undefined>>;

/** The runner's property names, in the order @actions/core sends them. */
function annotationProperties(p: AnnotationProperties): CommandProperties {
  return { title: p.title, file: p.file, line: p.startLine, endLine: p.endLine, col: p.startColumn, endColumn: p.endColumn };
}

/**
 * Writes `::command key=value,key=value::message` as one stdout line, after
 * ending any window of stopped commands (see untrusted).
 * Properties that are undefined, '' or 0 are left out, as @actions/core does
 * (lines and columns count from 1, so 0 means "none").
 */
function issueCommand(command: string, properties: CommandProperties, message: string): void {
  const props = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined && entry[1] !== '' && entry[1] !== 0)
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  stdout.command(`::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`);
}

/**
 * The message part of a command: a command is one line, so line breaks are
 * percent-encoded (the runner decodes them back), and so is % itself, so a
 * literal "%0A" in a message survives the round trip.
 */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value: also `:` and `,`, which end the property list and a property. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
