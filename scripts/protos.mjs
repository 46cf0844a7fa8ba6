// Loads our .proto files (proto/) into one protobufjs Root with keepCase
// names: for the code generator (gen-proto.mjs) and for the test that checks
// our codecs (src/protocol/wire.ts) against protobufjs's reflection.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import protobuf from 'protobufjs';

const protoDir = new URL('../proto/', import.meta.url).pathname;

function listProtos(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listProtos(join(dir, e.name)) : e.name.endsWith('.proto') ? [join(dir, e.name)] : [],
  );
}

/** Every message and service of proto/, resolved. */
export function loadProtos() {
  const root = new protobuf.Root();
  // Our imports are relative to proto/; google/protobuf/* comes bundled with protobufjs.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protoDir, target));
  const files = listProtos(protoDir).sort();
  root.loadSync(files.map((f) => relative(protoDir, f)), { keepCase: true });
  root.resolveAll();
  return { root, files };
}
