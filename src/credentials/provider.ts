// Combines the docker config, DOCKER_AUTH_CONFIG and credential helpers into
// one "credentials for host X" lookup, and tells the caller about every secret
// it hands out so the action can mask it in logs.
import { CredentialHelperRunner } from './credential-helper.js';
import {
  NO_CREDENTIALS,
  credentialsFromEntry,
  dockerConfigPath,
  loadDockerConfig,
  parseDockerAuthConfigEnv,
  selectCredentialSource,
  type DockerConfig,
  type RegistryCredentials,
} from './docker-config.js';

/** Anything that can answer the daemon's `Auth.Credentials` for one host. */
export interface CredentialProvider {
  /**
   * Credentials for exactly `host` (`host[:port]` as the daemon sends it).
   * Resolves NO_CREDENTIALS when none are configured; rejects only when a
   * configured source is broken (helper failed, corrupt `auth` value).
   */
  credentials(host: string, signal?: AbortSignal): Promise<RegistryCredentials>;
}

export interface DockerCredentialProviderOptions {
  /** Environment for DOCKER_CONFIG, DOCKER_AUTH_CONFIG and the helpers' PATH. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Explicit config.json path. Default: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  readonly configPath?: string;
  /** Timeout for one helper run. Default 30 s. */
  readonly helperTimeoutMs?: number;
  /** How long helper answers are reused. Default 4 min 50 s. */
  readonly helperCacheTtlMs?: number;
  /** Shared runner, e.g. to share the cache between builds. Overrides the two options above. */
  readonly helpers?: CredentialHelperRunner;
  /**
   * Called once for every distinct secret handed out, before the daemon gets
   * it, and also for the base64 `user:secret` form that ends up in Basic
   * Authorization headers. The action wires this to `runner.setSecret`.
   */
  readonly onSecret?: (secret: string) => void;
}

/** Docker-compatible provider (reference §5.3). */
export class DockerCredentialProvider implements CredentialProvider {
  private readonly helpers: CredentialHelperRunner;
  private readonly masked = new Set<string>();

  /**
   * @param config the parsed config.json (see loadDockerConfig)
   * @param envConfig the parsed DOCKER_AUTH_CONFIG, consulted first
   */
  constructor(
    readonly config: DockerConfig,
    readonly envConfig: DockerConfig | undefined,
    private readonly options: DockerCredentialProviderOptions = {},
  ) {
    this.helpers =
      options.helpers ??
      new CredentialHelperRunner({
        ...(options.helperTimeoutMs !== undefined ? { timeoutMs: options.helperTimeoutMs } : {}),
        ...(options.helperCacheTtlMs !== undefined ? { cacheTtlMs: options.helperCacheTtlMs } : {}),
        ...(options.env !== undefined ? { env: options.env } : {}),
      });
  }

  async credentials(host: string, signal?: AbortSignal): Promise<RegistryCredentials> {
    const source = selectCredentialSource(host, this.config, this.envConfig);
    let creds: RegistryCredentials;
    switch (source.kind) {
      case 'none':
        return NO_CREDENTIALS;
      case 'entry':
        creds = credentialsFromEntry(source.entry, `auths["${source.key}"] in ${source.source}`);
        break;
      case 'helper':
        creds = (await this.helpers.get(source.helper, source.key, signal)) ?? NO_CREDENTIALS;
        break;
    }
    this.reveal(creds);
    return creds;
  }

  private reveal(creds: RegistryCredentials): void {
    const onSecret = this.options.onSecret;
    if (!onSecret || creds.Secret === '') return;
    const forms = [creds.Secret];
    if (creds.Username !== '') forms.push(Buffer.from(`${creds.Username}:${creds.Secret}`).toString('base64'));
    for (const form of forms) {
      if (this.masked.has(form)) continue;
      this.masked.add(form);
      onSecret(form);
    }
  }
}

/**
 * Reads config.json and DOCKER_AUTH_CONFIG now, so a malformed config fails
 * the action at start-up with a clear message instead of as a 401 mid-build.
 * @throws DockerConfigError
 */
export async function createDockerCredentialProvider(options: DockerCredentialProviderOptions = {}): Promise<DockerCredentialProvider> {
  const env = options.env ?? process.env;
  const envConfig = parseDockerAuthConfigEnv(env);
  const config = await loadDockerConfig(options.configPath ?? dockerConfigPath(env));
  return new DockerCredentialProvider(config, envConfig, options);
}

/** A provider that never has credentials (anonymous pulls only). */
export const anonymousCredentialProvider: CredentialProvider = {
  credentials: () => Promise.resolve(NO_CREDENTIALS),
};
