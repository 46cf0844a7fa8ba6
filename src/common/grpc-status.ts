// gRPC status codes (the numbers every gRPC implementation shares) and their
// names, for our client calls, the session's server and the envd gateway.

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

const names = new Map<number, string>(Object.entries(Status).map(([name, code]) => [code, name]));

/** "UNAVAILABLE" for 14; the number itself for a code outside the table. */
export function statusName(code: number): string {
  return names.get(code) ?? String(code);
}

/** A grpc-status value as a code; UNKNOWN for anything that is not one (a daemon's bytes are untrusted). */
export function parseStatus(value: string | undefined): StatusCode {
  if (value === undefined || !/^\d{1,2}$/.test(value)) return Status.UNKNOWN;
  const n = Number(value);
  return names.has(n) ? (n as StatusCode) : Status.UNKNOWN;
}
