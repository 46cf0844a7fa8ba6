// node:child_process, loaded the first time a program is run. Node compiles
// it on first load (2-3 ms measured on the bench machine), and a Dockerfile
// build that runs no program (no credential helper, no `git` for
// source-date-epoch, no local builder, no envd) never needs it, so it is not
// imported at start-up. Synchronous, so callers keep their shape.
// process.getBuiltinModule (Node 20.16+, 22.3+) rather than createRequire:
// the bundler rewrites createRequire(import.meta.url) and leaves no function.

type ChildProcessModule = typeof import('node:child_process');

let loaded: ChildProcessModule | undefined;

export function childProcess(): ChildProcessModule {
  return (loaded ??= process.getBuiltinModule('node:child_process'));
}
