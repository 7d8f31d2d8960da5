#!/usr/bin/env bash
# Swift 6 on Linux for watchapp/: a Debian trixie chroot with Debian's `swiftlang`
# package, created once and cached OUTSIDE the clone at $LW_CACHE/swift-chroot.
#
#   scripts/swift-chroot.sh setup                 create/refresh the chroot only
#   scripts/swift-chroot.sh test [swift-test-args] run `swift test` for watchapp/
#   scripts/swift-chroot.sh run CMD...            run CMD in the chroot, with watchapp/ at /src/watchapp
#
# Environment passed into the chroot: every LW_* variable (e.g. LW_API_URL and
# LW_API_TOKEN for the live integration test).
#
# Mounts (/proc, /dev, the package, the build cache) are made inside a private
# mount namespace (unshare -m), so they disappear with the process whatever way it
# ends; a trap unmounts them as well for the case where the namespace outlives us.
# Needs root (debootstrap, chroot, mount). Build parallelism: LW_SWIFT_JOBS (default 2).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LW_CACHE:-$HOME/.cache/latencywatch}"
root="$cache/swift-chroot"
buildcache="$cache/swift-build"
suite=trixie
# Bump when the package set below changes so existing chroots get the additions.
want_stamp="swiftlang libcurl4-openssl-dev ca-certificates v1"
stamp="$root/.lw-ready"

die() { echo "swift-chroot: $*" >&2; exit 1; }
log() { echo "swift-chroot: $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot and mount)"

# The same Debian mirror as this machine's apt sources (deb822 or one-line format),
# falling back to deb.debian.org.
debian_mirror() {
  local uri=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
      /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  fi
  if [[ -z "$uri" ]]; then
    uri="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/ && $i ~ /\/debian\/?$/) { print $i; exit } }' || true)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

ensure_host_tools() {
  command -v debootstrap >/dev/null && command -v unshare >/dev/null && return 0
  log "installing debootstrap on the host"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2
}

setup() {
  ensure_host_tools
  mkdir -p "$cache"
  exec 8>"$cache/swift-chroot.lock"
  flock 8
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
    return 0
  fi
  local mirror start
  mirror="$(debian_mirror)"
  start=$(date +%s)
  if [[ ! -x "$root/usr/bin/apt-get" ]]; then
    log "debootstrap --variant=minbase $suite from $mirror into $root (once; cached)"
    rm -rf "$root"
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2 ||
      die "debootstrap failed; see $root/debootstrap/debootstrap.log"
  fi
  printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  log "installing swiftlang in the chroot"
  unshare --mount --propagation private bash -euo pipefail -c '
    root="$1"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
      bash -c "apt-get update -q && apt-get install -y -q --no-install-recommends swiftlang libcurl4-openssl-dev ca-certificates && apt-get clean"
  ' _ "$root" >&2
  echo "$want_stamp" >"$stamp"
  log "chroot ready in $(( $(date +%s) - start ))s, $(du -sh "$root" 2>/dev/null | cut -f1)"
}

# run_in_chroot CMD... — runs CMD as root in the chroot with watchapp/ at
# /src/watchapp and the build cache at /lwbuild.
run_in_chroot() {
  mkdir -p "$buildcache"
  local envs=() v
  while IFS= read -r v; do envs+=("$v=${!v}"); done < <(compgen -e | grep '^LW_' || true)
  # Build products go to the cache, never into the clone; .build in the package is
  # therefore never created (and ignored by watchapp/.gitignore if it is).
  unshare --mount --propagation private bash -euo pipefail -c '
    root="$1"; pkg="$2"; bc="$3"; shift 3
    cleanup() { umount -R "$root/src/watchapp" "$root/lwbuild" "$root/dev" "$root/proc" 2>/dev/null || true; }
    trap cleanup EXIT
    mkdir -p "$root/src/watchapp" "$root/lwbuild"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
    mount --bind "$pkg" "$root/src/watchapp"
    mount --bind "$bc" "$root/lwbuild"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
  ' _ "$root" "$repo/watchapp" "$buildcache" "${envs[@]}" "$@"
}

cmd="${1:-test}"
shift || true
case "$cmd" in
  setup) setup ;;
  run) setup; run_in_chroot "$@" ;;
  test)
    setup
    jobs="${LW_SWIFT_JOBS:-2}"
    run_in_chroot bash -c 'cd /src/watchapp && exec swift test --disable-swift-testing --scratch-path /lwbuild/watchapp -j "$0" "$@"' "$jobs" "$@"
    ;;
  *) die "unknown command '$cmd' (setup | test [args] | run CMD...)" ;;
esac
