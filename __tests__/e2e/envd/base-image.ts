// A base image the real envd can use offline, pushed to the e2e registry:
// a static busybox and a static bash (envd runs every run() as `bash -c`).
// It is built by the action itself. envd reads the image's config from the
// registry before it builds, so the plain-HTTP registry must be listed as
// insecure in /etc/containers/registries.conf.d (scripts/peers.sh does).
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAction } from '../../helpers/run-action.js';
import { BUILDKIT_HOST, E2E_REGISTRY, makeContext, uniqueRepo } from '../env.js';

const BASH_STATIC = '/bin/bash-static';
const REGISTRIES_CONF = '/etc/containers/registries.conf.d/50-erb-peers.conf';

/** Builds and pushes the image; returns its reference. */
export async function pushEnvdBaseImage(name: string): Promise<string> {
  if (!existsSync(REGISTRIES_CONF) || !readFileSync(REGISTRIES_CONF, 'utf8').includes(`"${E2E_REGISTRY}"`)) {
    throw new Error(`${REGISTRIES_CONF} does not list ${E2E_REGISTRY} as insecure: run scripts/peers.sh start`);
  }
  if (!existsSync(BASH_STATIC)) throw new Error(`${BASH_STATIC} is missing: apt-get install bash-static`);
  const context = makeContext({
    Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY bash /bin/bash\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n',
  });
  copyFileSync(BASH_STATIC, join(context, 'bash'));
  const ref = `${E2E_REGISTRY}/${uniqueRepo(name)}:1`;
  const run = await runAction({ builder: BUILDKIT_HOST, context, tags: ref, push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
  if (run.code !== 0) throw new Error(`building the envd base image failed:\n${run.stdout}`);
  return ref;
}
