// The job summary (GITHUB_STEP_SUMMARY): HTML blocks in the form
// @actions/core's summary.js writes them (v3.0.1), appended in one write.
import { appendFile } from 'node:fs/promises';
import { EOL } from 'node:os';

/** Text, escaped when rendered, or HTML the caller built (and escaped) itself. */
export type SummaryContent = string | { readonly html: string };

export interface SummaryCell {
  readonly content: SummaryContent;
  /** A <th> instead of a <td>. */
  readonly header?: boolean;
}

/** For text that goes into the job summary's HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function render(content: SummaryContent): string {
  return typeof content === 'string' ? escapeHtml(content) : content.html;
}

/** `<hN>text</hN>`, a line of its own. */
export function summaryHeading(text: SummaryContent, level: 1 | 2 | 3 | 4 | 5 | 6): string {
  return `<h${level}>${render(text)}</h${level}>${EOL}`;
}

/** `<table><tr><td>…</td>…</tr>…</table>`, one line, as @actions/core writes it; cells are escaped unless given as `{ html }`. */
export function summaryTable(rows: readonly (readonly (SummaryContent | SummaryCell)[])[]): string {
  const cell = (c: SummaryContent | SummaryCell): string => {
    const { content, header } = typeof c === 'object' && 'content' in c ? c : { content: c, header: false };
    const tag = header ? 'th' : 'td';
    return `<${tag}>${render(content)}</${tag}>`;
  };
  return `<table>${rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('')}</table>${EOL}`;
}

/**
 * Appends blocks (from summaryHeading, summaryTable) to the job summary in
 * one write, so a failure leaves no half table behind. Throws when the
 * runner provides no summary file or it cannot be written.
 */
export async function appendSummary(...blocks: readonly string[]): Promise<void> {
  const file = process.env['GITHUB_STEP_SUMMARY'];
  if (!file) throw new Error('Unable to find environment variable for $GITHUB_STEP_SUMMARY. Check if your runtime environment supports job summaries.');
  await appendFile(file, blocks.join(''), { encoding: 'utf8' });
}
