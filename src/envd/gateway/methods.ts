// The only gRPC methods the gateway passes on to the builder.
//
// The gateway carries the job's identity (mTLS client certificate, or the
// runner's access to a local daemon socket). Anything that reaches it could
// otherwise prune the builder's cache, read or rewrite its build history or
// start builds of its own. So it forwards exactly what `envd build` calls and
// refuses the rest before any upstream call exists.
//
// Where each method comes from (envd v1.3.4, whose BuildKit client is
// v0.25.1; read in their sources, and seen on the wire with the real envd):
//   Control/ListWorkers  envd pkg/buildkitd: the readiness poll behind
//                        BUILDKIT_CONNECTING_TIMEOUT; BuildKit client.Build
//                        also lists the workers before every build.
//   Control/Solve        client.Build -> client solve: the build itself, with
//                        no frontend, so the client drives it over LLBBridge.
//   Control/Status       client solve: the progress stream envd prints.
//   Control/Session      client solve: the session tunnel (local context
//                        files, registry credentials) via the hijack dialer.
//   LLBBridge/Ping       gateway grpcclient.New: capabilities before the build
//                        function runs.
//   LLBBridge/Solve      envd's build function (pkg/builder/build_func.go)
//                        solving its LLB definition.
//   LLBBridge/Return     grpcclient Run: hands the result (or error) back so
//                        the daemon exports it.
// Not used by envd's build path and therefore refused: Control/Prune,
// DiskUsage, Info, ListenBuildHistory, UpdateBuildHistory, and the other
// LLBBridge calls (ReadFile, ReadDir, StatFile, Evaluate, Inputs, Warn,
// ResolveImageConfig, ResolveSourceMeta, NewContainer, ReleaseContainer,
// ExecProcess), as well as every other service.

const CONTROL = 'moby.buildkit.v1.Control';
const LLB_BRIDGE = 'moby.buildkit.v1.frontend.LLBBridge';

/** Full gRPC paths (`/<service>/<method>`) envd's builds use. */
export const ENVD_BUILD_METHODS: ReadonlySet<string> = new Set([
  `/${CONTROL}/ListWorkers`,
  `/${CONTROL}/Solve`,
  `/${CONTROL}/Status`,
  `/${CONTROL}/Session`,
  `/${LLB_BRIDGE}/Ping`,
  `/${LLB_BRIDGE}/Solve`,
  `/${LLB_BRIDGE}/Return`,
]);

/**
 * Of those, the calls whose answers do not mean a build has started: the
 * worker list envd polls first, and the Session tunnel, whose bytes from the
 * builder begin with its HTTP/2 preface and health checks as soon as the
 * session is attached. Any other answer (progress on Status, a Solve's
 * result, a frontend's LLBBridge call) does; progress arrives as soon as the
 * builder has a step, long before anything is exported.
 */
export const ANSWERED_BEFORE_START: ReadonlySet<string> = new Set([`/${CONTROL}/ListWorkers`, `/${CONTROL}/Session`]);

/** Exact match only: the path is used as given for the upstream call. */
export function isEnvdBuildMethod(path: string): boolean {
  return ENVD_BUILD_METHODS.has(path);
}
