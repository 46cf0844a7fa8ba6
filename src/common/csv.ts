// One CSV record, as Go's encoding/csv reads it (BuildKit's and envd's
// key=value lists): a field holding a comma, a quote or a line break is
// quoted, with inner quotes doubled. The writer is csv-stringify, the
// counterpart of the csv-parse that reads the action's list inputs.
import { stringify } from 'csv-stringify/sync';

export function csvRecord(fields: readonly string[]): string {
  return stringify([fields], { eof: false });
}
