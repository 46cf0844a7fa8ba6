#!/usr/bin/env bash
# Installs and starts the real peers the end-to-end suite talks to: buildkitd
# and buildctl at every supported version (plain tcp and mutual-TLS daemons on
# loopback), the distribution registry (plain and htpasswd) and the envd CLI.
#
#   scripts/peers.sh install   install what is missing (idempotent)
#   scripts/peers.sh start     start what is not running yet (idempotent)
#   scripts/peers.sh up        install, then start
#   scripts/peers.sh stop      stop every peer this script started
#   scripts/peers.sh env VER   print the e2e variables for one BuildKit version
#   scripts/peers.sh versions  print the BuildKit versions, one per line
#
# Everything lives under PEERS_HOME (default /var/cache/erb-peers), outside the
# clone, so a second run on the same machine reuses the builds. Peers come from
# their ordinary clients only: apt-get (runc, docker-registry, htpasswd,
# openssl, busybox), the Go module proxy (buildkit) and PyPI (envd).
set -euo pipefail

PEERS_HOME=${PEERS_HOME:-/var/cache/erb-peers}
# Oldest supported (it still builds with current Go), the line envd v1.3.x and
# Docker 28 use, and the newest release the module proxy served when pinned.
BUILDKIT_VERSIONS=${BUILDKIT_VERSIONS:-"v0.11.6 v0.25.2 v0.34.2"}
ENVD_VERSION=${ENVD_VERSION:-1.3.4}
REGISTRY_PORT=${PEERS_REGISTRY_PORT:-15000}
AUTH_REGISTRY_PORT=${PEERS_AUTH_REGISTRY_PORT:-15001}
AUTH_USER=peer
TLS_SERVER_NAME=buildkitd.internal
# Each daemon's cache is pruned to this many MB when it starts.
STATE_KEEP_MB=${PEERS_STATE_KEEP_MB:-2048}

RUN=$PEERS_HOME/run
LOGS=$PEERS_HOME/logs
TLS=$PEERS_HOME/tls

log() { printf 'peers: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ROOTLESS_USER=${PEERS_ROOTLESS_USER:-erb-rootless}

mkdir -p "$RUN" "$LOGS"
# The BuildKit binaries are read by the rootless test's user too; the run
# directory (a registry password) and the TLS keys stay private.
chmod 0755 "$PEERS_HOME"
chmod 0700 "$RUN" "$LOGS"

# Each version gets two fixed loopback ports: plain tcp, then mutual TLS.
port_of() { # version kind(plain|tls)
  local i=0 v
  for v in $BUILDKIT_VERSIONS; do
    if [ "$v" = "$1" ]; then
      [ "$2" = plain ] && echo $((12340 + 10 * i)) || echo $((12341 + 10 * i))
      return
    fi
    i=$((i + 1))
  done
  die "unknown BuildKit version $1 (known: $BUILDKIT_VERSIONS)"
}

bk_bin() { echo "$PEERS_HOME/buildkit/$1/bin"; }
envd_bin() { echo "$PEERS_HOME/envd/$ENVD_VERSION/venv/bin/envd"; }

install_apt() {
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v openssl >/dev/null || missing+=(openssl)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  [ -x /bin/bash-static ] || missing+=(bash-static)
  command -v sudo >/dev/null || missing+=(sudo)
  command -v rootlesskit >/dev/null || missing+=(rootlesskit)
  command -v newuidmap >/dev/null || missing+=(uidmap)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
}

# `go install module/cmd@version` refuses modules whose go.mod has exclude
# directives (buildkit has them since v0.12), so the commands are built from
# the downloaded module itself, where that go.mod is the main module.
install_buildkit() { # version
  local v=$1 bin
  bin=$(bk_bin "$v")
  if [ -x "$bin/buildkitd" ] && [ -x "$bin/buildctl" ] && "$bin/buildkitd" --version 2>/dev/null | grep -qF " $v"; then
    return
  fi
  command -v go >/dev/null || die "go is needed to build buildkit $v"
  log "building buildkitd and buildctl $v (about a minute or two per version)"
  local dir
  dir=$(cd /tmp && go mod download -json "github.com/moby/buildkit@$v" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download github.com/moby/buildkit@$v gave no directory"
  mkdir -p "$bin"
  (cd "$dir" && GOFLAGS=-mod=mod GOBIN="$bin" go install -trimpath \
    -ldflags "-X github.com/moby/buildkit/version.Version=$v" ./cmd/buildkitd ./cmd/buildctl) \
    >"$LOGS/build-$v.log" 2>&1 || { tail -20 "$LOGS/build-$v.log" >&2; die "building buildkit $v failed"; }
  "$bin/buildkitd" --version | grep -qF " $v" || die "buildkitd $v does not report its version"
}

install_envd() {
  local bin venv
  bin=$(envd_bin)
  venv=$(dirname "$(dirname "$bin")")
  if [ -x "$bin" ] && "$bin" version --short 2>/dev/null | grep -qF "v$ENVD_VERSION"; then
    return
  fi
  log "installing envd $ENVD_VERSION from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "envd==$ENVD_VERSION"
  "$bin" version --short | grep -qF "v$ENVD_VERSION" || die "envd $ENVD_VERSION did not install a working binary"
}

# A CA that signs the daemons' and the client's certificates, and a second CA
# that signed nothing (the negative mTLS test). Made at run time, kept while valid.
make_tls() {
  if [ -f "$TLS/ca.pem" ] && openssl x509 -checkend 86400 -noout -in "$TLS/cert.pem" >/dev/null 2>&1; then
    return
  fi
  log "generating test certificates in $TLS"
  rm -rf "$TLS"
  mkdir -p "$TLS"
  chmod 0700 "$TLS"
  (
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=peers test CA" -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=unrelated CA" -keyout other-ca-key.pem -out other-ca.pem 2>/dev/null
    printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$TLS_SERVER_NAME" >server.ext
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$TLS_SERVER_NAME" -keyout daemon-key.pem -out daemon.csr 2>/dev/null
    openssl x509 -req -in daemon.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile server.ext -out daemon-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=e2e client" -keyout key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile client.ext -out cert.pem 2>/dev/null
    rm -f ./*.csr ./*.ext ./*.srl
    chmod 0600 ./*.pem
  )
}

# A pid file whose process still runs one of our peers: after a reboot or a
# cleanup the number may belong to some other process by now.
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE 'buildkitd|docker-registry'
}

# Waits until a started peer answers, or its process is gone.
wait_for() { # pidfile description command...
  local pidfile=$1 what=$2 i
  shift 2
  for i in $(seq 1 300); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$pidfile" || die "$what exited; see $LOGS"
    sleep 0.2
  done
  die "$what did not answer within 60 s; see $LOGS"
}

start_daemon() { # version kind
  local v=$1 kind=$2 port name bin pidfile
  port=$(port_of "$v" "$kind")
  name=buildkitd-$v-$kind
  bin=$(bk_bin "$v")
  pidfile=$RUN/$name.pid
  alive "$pidfile" && return
  local args=(--addr "tcp://127.0.0.1:$port" --root "$PEERS_HOME/state/$name"
    --oci-worker=true --containerd-worker=false --oci-worker-net=host)
  # Each its own trace socket: from v0.13 a buildkitd running as root takes the
  # fixed /run/buildkit/otel-grpc.sock (removing the previous daemon's).
  if [[ "$("$bin/buildkitd" --help 2>&1)" == *--otel-socket-path* ]]; then
    args+=(--otel-socket-path "$PEERS_HOME/state/$name/otel.sock")
  fi
  local client=("$bin/buildctl" --addr "tcp://127.0.0.1:$port")
  if [ "$kind" = tls ]; then
    args+=(--tlscacert "$TLS/ca.pem" --tlscert "$TLS/daemon-cert.pem" --tlskey "$TLS/daemon-key.pem")
    client+=(--tlsservername "$TLS_SERVER_NAME" --tlscacert "$TLS/ca.pem" --tlscert "$TLS/cert.pem" --tlskey "$TLS/key.pem")
  fi
  mkdir -p "$PEERS_HOME/state/$name"
  log "starting $name on 127.0.0.1:$port"
  PATH="$bin:$PATH" setsid "$bin/buildkitd" "${args[@]}" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_for "$pidfile" "$name" "${client[@]}" debug workers
  # The state outlives the runs (it is outside the clone), and buildkitd's own
  # GC lets each daemon keep a tenth of the disk (v0.11) or up to 100 GB, while
  # 20 % stays free (newer): six of them would fill the machine. Keep each near 2 GB.
  "${client[@]}" prune --keep-storage "$STATE_KEEP_MB" >/dev/null 2>&1 || log "could not prune $name (ignored)"
}

# The htpasswd registry keeps its blobs in memory (a few MB per CI run): it
# is where two builders push one image, and its filesystem storage rewrites a
# repository's blob link in place when a second upload of the same blob
# commits, so a manifest put reading that link meanwhile fails with "blob
# unknown" (distribution 2.8; a CI run failed on it). The in-memory store
# writes a link whole under a lock. The plain registry receives the large
# test images and keeps them on disk.
start_registry() { # name port [htpasswd-file]
  local name=$1 port=$2 auth=${3:-} pidfile=$RUN/$1.pid dir=$PEERS_HOME/$1 storage
  alive "$pidfile" && return
  mkdir -p "$dir"
  if [ -n "$auth" ]; then
    storage='  inmemory: {}\n'
  else
    mkdir -p "$dir/data"
    storage="  filesystem:\n    rootdirectory: $dir/data\n"
  fi
  {
    printf 'version: 0.1\nstorage:\n%b  delete:\n    enabled: true\n' "$storage"
    printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
    [ -n "$auth" ] && printf 'auth:\n  htpasswd:\n    realm: peers\n    path: %s\n' "$auth"
  } >"$dir/config.yml"
  log "starting $name on 127.0.0.1:$port"
  setsid docker-registry serve "$dir/config.yml" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_for "$pidfile" "$name" curl_like "http://127.0.0.1:$port/v2/"
}

# The registry answers /v2/ with 200 (plain) or 401 (htpasswd): either means up.
curl_like() { node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200||r.status===401?0:1),()=>process.exit(1))' "$1"; }

auth_password() {
  [ -f "$RUN/auth-password" ] || { openssl rand -hex 16 >"$RUN/auth-password"; chmod 0600 "$RUN/auth-password"; }
  cat "$RUN/auth-password"
}

# envd reads a base image's config itself (containers/image) before it
# builds; that library speaks plain HTTP only to registries listed as insecure.
trust_plain_registry() {
  local conf=/etc/containers/registries.conf.d/50-erb-peers.conf
  mkdir -p "$(dirname "$conf")"
  printf '# Written by envd-remote-build scripts/peers.sh: its loopback test registry serves plain HTTP.\n[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$REGISTRY_PORT" >"$conf"
}

# A non-root user with subordinate IDs: the real rootless test runs as it.
install_rootless_user() {
  id "$ROOTLESS_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$ROOTLESS_USER"
  grep -q "^$ROOTLESS_USER:" /etc/subuid || usermod --add-subuids 200000-265535 --add-subgids 200000-265535 "$ROOTLESS_USER"
}

cmd_install() {
  install_apt
  install_rootless_user
  local v
  for v in $BUILDKIT_VERSIONS; do install_buildkit "$v"; done
  install_envd
}

cmd_start() {
  make_tls
  local v
  for v in $BUILDKIT_VERSIONS; do
    start_daemon "$v" plain
    start_daemon "$v" tls
  done
  start_registry registry "$REGISTRY_PORT"
  trust_plain_registry
  local htfile=$RUN/htpasswd
  [ -f "$htfile" ] || htpasswd -nbB "$AUTH_USER" "$(auth_password)" >"$htfile"
  start_registry registry-auth "$AUTH_REGISTRY_PORT" "$htfile"
  for v in $BUILDKIT_VERSIONS; do cmd_env "$v" >"$RUN/$v.env"; done
  log "ready: buildkit $BUILDKIT_VERSIONS, registry 127.0.0.1:$REGISTRY_PORT (+ htpasswd :$AUTH_REGISTRY_PORT), envd $ENVD_VERSION"
}

cmd_stop() {
  local pidfile pid
  for pidfile in "$RUN"/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if alive "$pidfile"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

cmd_env() { # version
  local v=$1
  cat <<EOF
export BUILDKIT_VERSION=$v
export BUILDKIT_HOST=tcp://127.0.0.1:$(port_of "$v" plain)
export BUILDKIT_TLS_HOST=tcp://127.0.0.1:$(port_of "$v" tls)
export BUILDKIT_TLS_DIR=$TLS
export BUILDKIT_TLS_SERVER_NAME=$TLS_SERVER_NAME
export BUILDKITD_BIN=$(bk_bin "$v")/buildkitd
export BUILDCTL=$(bk_bin "$v")/buildctl
export E2E_REGISTRY=127.0.0.1:$REGISTRY_PORT
export E2E_AUTH_REGISTRY=127.0.0.1:$AUTH_REGISTRY_PORT
export E2E_AUTH_USER=$AUTH_USER
export E2E_AUTH_PASSWORD=$(auth_password)
export ENVD_BIN=$(envd_bin)
export ENVD_VERSION=$ENVD_VERSION
export PEERS_ROOTLESS_USER=$ROOTLESS_USER
export BUILDKITD_PID=$(cat "$RUN/buildkitd-$v-plain.pid" 2>/dev/null)
export BUILDKITD_TLS_PID=$(cat "$RUN/buildkitd-$v-tls.pid" 2>/dev/null)
EOF
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  up) cmd_install; cmd_start ;;
  stop) cmd_stop ;;
  env) [ -n "${2:-}" ] || die "usage: peers.sh env VERSION"; cmd_env "$2" ;;
  versions) printf '%s\n' $BUILDKIT_VERSIONS ;;
  *) die "usage: peers.sh install|start|up|stop|env VERSION|versions" ;;
esac
