// TypeScript shapes of the messages we send and receive, matching proto/ with
// keepCase names. int64 fields are decimal strings; absent fields are undefined.

export type Int64 = string;

export interface Timestamp {
  seconds?: Int64;
  nanos?: number;
}

// --- pb (LLB subset) ---
export interface Platform {
  Architecture?: string;
  OS?: string;
  Variant?: string;
}
export interface ProgressGroup {
  id?: string;
  name?: string;
  weak?: boolean;
}
export interface Definition {
  def?: Buffer[];
  metadata?: Record<string, unknown>;
}

// --- moby.buildkit.v1.types ---
export interface BuildkitVersion {
  package?: string;
  version?: string;
  revision?: string;
}
export interface WorkerRecord {
  ID?: string;
  Labels?: Record<string, string>;
  platforms?: Platform[];
  BuildkitVersion?: BuildkitVersion;
}

// --- moby.buildkit.v1 (Control) ---
export interface CacheOptionsEntry {
  Type: string;
  Attrs?: Record<string, string>;
}
export interface ExporterEntry {
  Type: string;
  Attrs?: Record<string, string>;
}
export interface SolveRequest {
  Ref: string;
  Definition?: Definition;
  ExporterDeprecated?: string;
  ExporterAttrsDeprecated?: Record<string, string>;
  Session?: string;
  Frontend?: string;
  FrontendAttrs?: Record<string, string>;
  Cache?: { Exports?: CacheOptionsEntry[]; Imports?: CacheOptionsEntry[] };
  Entitlements?: string[];
  Internal?: boolean;
  Exporters?: ExporterEntry[];
}
export interface SolveResponse {
  ExporterResponse?: Record<string, string>;
}
export interface StatusRequest {
  Ref: string;
}
export interface Vertex {
  digest?: string;
  inputs?: string[];
  name?: string;
  cached?: boolean;
  started?: Timestamp;
  completed?: Timestamp;
  error?: string;
  progressGroup?: ProgressGroup;
}
export interface VertexStatus {
  ID?: string;
  vertex?: string;
  name?: string;
  current?: Int64;
  total?: Int64;
  timestamp?: Timestamp;
  started?: Timestamp;
  completed?: Timestamp;
}
export interface VertexLog {
  vertex?: string;
  timestamp?: Timestamp;
  stream?: Int64;
  msg?: Buffer;
}
export interface SourceRange {
  start?: { line?: number; character?: number };
  end?: { line?: number; character?: number };
}
export interface VertexWarning {
  vertex?: string;
  level?: Int64;
  short?: Buffer;
  detail?: Buffer[];
  url?: string;
  info?: { filename?: string; data?: Buffer; language?: string };
  ranges?: SourceRange[];
}
export interface StatusResponse {
  vertexes?: Vertex[];
  statuses?: VertexStatus[];
  logs?: VertexLog[];
  warnings?: VertexWarning[];
}
export interface BytesMessage {
  data?: Buffer;
}
export interface ListWorkersRequest {
  filter?: string[];
}
export interface ListWorkersResponse {
  record?: WorkerRecord[];
}
export type InfoRequest = Record<string, never>;
export interface InfoResponse {
  buildkitVersion?: BuildkitVersion;
}

// --- fsutil.types ---
export const PacketType = {
  STAT: 0,
  REQ: 1,
  DATA: 2,
  FIN: 3,
  ERR: 4,
} as const;
export type PacketTypeValue = (typeof PacketType)[keyof typeof PacketType];

export interface Stat {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
  size?: Int64;
  modTime?: Int64;
  linkname?: string;
  devmajor?: Int64;
  devminor?: Int64;
}
export interface Packet {
  type?: PacketTypeValue;
  stat?: Stat;
  ID?: number;
  data?: Buffer;
}

// --- moby.filesync.v1 Auth, secrets, health ---
export interface CredentialsRequest {
  Host?: string;
}
export interface CredentialsResponse {
  Username?: string;
  Secret?: string;
}
export interface GetSecretRequest {
  ID?: string;
  annotations?: Record<string, string>;
}
export interface GetSecretResponse {
  data?: Buffer;
}
export interface HealthCheckRequest {
  service?: string;
}
export interface HealthCheckResponse {
  status?: number;
}

// --- google.rpc ---
export interface RpcStatus {
  code?: number;
  message?: string;
}

// --- moby.buildkit.v1.frontend (LLBBridge subset) ---
export interface GatewayRef {
  id?: string;
  def?: Definition;
}
export interface GatewayResult {
  result?: 'refDeprecated' | 'ref' | 'refs';
  refDeprecated?: string;
  ref?: GatewayRef;
  refs?: { refs?: Record<string, GatewayRef> };
  metadata?: Record<string, Buffer>;
}
export interface GatewaySolveRequest {
  Definition?: Definition;
  Frontend?: string;
  FrontendOpt?: Record<string, string>;
  allowResultReturn?: boolean;
  allowResultArrayRef?: boolean;
  Evaluate?: boolean;
}
export interface GatewaySolveResponse {
  ref?: string;
  result?: GatewayResult;
}
export interface GatewayReturnRequest {
  result?: GatewayResult;
  error?: RpcStatus;
}
export interface PongResponse {
  FrontendAPICaps?: { ID?: string; Enabled?: boolean }[];
  LLBCaps?: { ID?: string; Enabled?: boolean }[];
  Workers?: WorkerRecord[];
}

/** Fully qualified message names used with codec(). */
export const Messages = {
  Packet: 'fsutil.types.Packet',
  Stat: 'fsutil.types.Stat',
  BytesMessage: 'moby.buildkit.v1.BytesMessage',
  SolveRequest: 'moby.buildkit.v1.SolveRequest',
  SolveResponse: 'moby.buildkit.v1.SolveResponse',
  StatusRequest: 'moby.buildkit.v1.StatusRequest',
  ListWorkersRequest: 'moby.buildkit.v1.ListWorkersRequest',
  ListWorkersResponse: 'moby.buildkit.v1.ListWorkersResponse',
  InfoRequest: 'moby.buildkit.v1.InfoRequest',
  InfoResponse: 'moby.buildkit.v1.InfoResponse',
  StatusResponse: 'moby.buildkit.v1.StatusResponse',
  CredentialsRequest: 'moby.filesync.v1.CredentialsRequest',
  CredentialsResponse: 'moby.filesync.v1.CredentialsResponse',
  GetSecretRequest: 'moby.buildkit.secrets.v1.GetSecretRequest',
  GetSecretResponse: 'moby.buildkit.secrets.v1.GetSecretResponse',
  HealthCheckRequest: 'grpc.health.v1.HealthCheckRequest',
  HealthCheckResponse: 'grpc.health.v1.HealthCheckResponse',
} as const;

/** Fully qualified service names. */
export const Services = {
  Control: 'moby.buildkit.v1.Control',
  LLBBridge: 'moby.buildkit.v1.frontend.LLBBridge',
  Health: 'grpc.health.v1.Health',
  FileSync: 'moby.filesync.v1.FileSync',
  FileSend: 'moby.filesync.v1.FileSend',
  Auth: 'moby.filesync.v1.Auth',
  Secrets: 'moby.buildkit.secrets.v1.Secrets',
} as const;
