#!/usr/bin/env bash
# kube-apiserver-build.sh: builds the real kube-apiserver and kube-controller-manager (Kubernetes 1.20.2) the e2e
# tests run against, offline, from Debian 12's `kubernetes` source package (all Go dependencies vendored), into
# ${JAAS_E2E_CACHE:-$HOME/.cache/jaas-e2e}/bin. A no-op when both are there. Takes 4-7 min on 2 cores the first time.
# All output goes to stderr. Env: JAAS_E2E_CACHE, JAAS_E2E_KEEP_SRC=1 (keep the ~2 GiB source and build tree).
set -euo pipefail
exec 1>&2
SCRIPT=kube-apiserver-build
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PROGRAMS=(kube-apiserver kube-controller-manager)
built() {
  local p
  for p in "${PROGRAMS[@]}"; do [[ -x $BIN/$p ]] || return 1; done
}

if built; then
  log "already built: $BIN/kube-apiserver $BIN/kube-controller-manager"
  exit 0
fi

# Two builds at once would delete each other's tree: the second one waits for the first and then finds it built.
mkdir -p "$CACHE" "$BIN"
exec 9>"$CACHE/kube-build.lock"
if ! flock -n 9; then
  log "another build is running: waiting for it (up to 20 min)"
  flock -w 1200 9 || die "gave up waiting for the other build (lock $CACHE/kube-build.lock)"
fi
if built; then
  log "built by the other run: $BIN/kube-apiserver $BIN/kube-controller-manager"
  exit 0
fi

start=$(date +%s)
has_kube_source() { apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; }

# 1. `apt-get source` needs deb-src entries (off by default); a fresh machine may also have no package lists.
if ! has_kube_source; then
  log "enabling deb-src entries and running apt-get update"
  if [[ -f /etc/apt/sources.list.d/debian.sources ]] && grep -q '^Types: deb$' /etc/apt/sources.list.d/debian.sources; then
    as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  elif [[ -f /etc/apt/sources.list ]] && grep -q '^deb ' /etc/apt/sources.list \
    && ! grep -q '^deb-src ' /etc/apt/sources.list && [[ ! -f /etc/apt/sources.list.d/jaas-deb-src.list ]]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | as_root tee /etc/apt/sources.list.d/jaas-deb-src.list >/dev/null
  fi
  with_apt_lock as_root apt-get update -qq
  has_kube_source || die "no source package 'kubernetes' (this needs Debian 12 with deb-src entries)"
fi

# 2. Toolchain: Go 1.19, dpkg-dev (for `apt-get source`), reflect2 1.0.2 sources, rsync (the Makefile uses it).
need=()
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v rsync >/dev/null || need+=(rsync)
[[ -x /usr/lib/go/bin/go ]] || need+=(golang-go)
R2=/usr/share/gocode/src/github.com/modern-go/reflect2
[[ -f $R2/go_above_118.go ]] || need+=(golang-github-modern-go-reflect2-dev)
((${#need[@]} == 0)) || apt_install "${need[@]}"

# 3. Unpack the source (1.20.5+really1.20.2 in Debian 12) in our own work dir.
WORK=$CACHE/kube-build
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
log "apt-get source kubernetes"
with_apt_lock apt-get source kubernetes >"$WORK/apt-source.log" 2>&1 || { cat "$WORK/apt-source.log"; die "apt-get source failed"; }
SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)
[[ -n $SRC && -f $SRC/Makefile ]] || die "the source did not unpack into $WORK"
cd "$SRC"

# 4. The vendored reflect2 1.0.1 crashes under Go >= 1.18 (json-iterator maps, hit by server-side apply): use 1.0.2.
[[ -f $R2/go_above_118.go ]] || die "$R2 is not reflect2 >= 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
mkdir -p vendor/github.com/modern-go/reflect2
cp "$R2"/*.go "$R2"/*.s vendor/github.com/modern-go/reflect2/

# 5. Build the way debian/rules does: GOPATH mode with the vendored deps, static binaries. (hack/ puts the Go build
#    cache under _output, so it goes away with the work dir.)
export GOPATH=$SRC/.go CGO_ENABLED=0 PATH=/usr/lib/go/bin:$PATH
mkdir -p .go/src/k8s.io
[[ -L .go/src/k8s.io/kubernetes ]] || ln -s ../../.. .go/src/k8s.io/kubernetes
log "building ${PROGRAMS[*]} (4-7 min on 2 cores)"
make WHAT="cmd/kube-apiserver cmd/kube-controller-manager"

# Install each binary under a temporary name, then rename: a half-copied binary never looks "built".
for p in "${PROGRAMS[@]}"; do
  install -m 0755 "_output/bin/$p" "$BIN/.$p.tmp"
  mv -f "$BIN/.$p.tmp" "$BIN/$p"
done

cd /
[[ ${JAAS_E2E_KEEP_SRC:-0} == 1 ]] || rm -rf "$WORK"
"$BIN/kube-apiserver" --version
log "done in $(($(date +%s) - start))s: $BIN/kube-apiserver $BIN/kube-controller-manager"
