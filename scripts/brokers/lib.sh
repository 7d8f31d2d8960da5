# shellcheck shell=bash
# Shared helpers for scripts/brokers/{kafka,pulsar}.sh. Sourced, not executed.
#
# Conventions:
#   $LW_CACHE      download cache (default ~/.cache/latencywatch), never inside the repo
#   $LW_CACHE/m2   Maven local repository used by every fetch
#   <rundir>       one broker's state: ports.env, pid, logs, data, generated certs

LW_CACHE="${LW_CACHE:-$HOME/.cache/latencywatch}"
LW_M2="$LW_CACHE/m2"
# Pinned so a fetch does not depend on whatever Maven would pick as "latest".
LW_DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"

# Messages go to stderr; a failed write (reader gone after Ctrl-C on `| tee`)
# must not abort a stop half way under `set -e`.
die() { echo "$LW_NAME: $*" >&2 2>/dev/null || true; exit 1; }
log() { echo "$LW_NAME: $*" >&2 2>/dev/null || true; }

# need_tools makes sure java 17+ and mvn exist; on a fresh Debian box (root) it
# installs them with apt, so the script alone is enough on a new machine.
need_tools() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v keytool >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "installing ${missing[*]} with apt-get"
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
    else
      die "missing tools: ${missing[*]} (install Java 17+ and Maven)"
    fi
  fi
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  [[ ${v%%.*} -ge 17 ]] 2>/dev/null || die "Java 17+ required, found specification version '${v}'"
}

# Some POMs (Pulsar's) declare extra repositories that cannot be reached here;
# route every repository to Maven Central. Override with LW_MAVEN_SETTINGS.
write_maven_settings() {
  if [[ -n ${LW_MAVEN_SETTINGS:-} ]]; then return 0; fi
  LW_MAVEN_SETTINGS="$LW_CACHE/maven-settings.xml"
  cat >"$LW_MAVEN_SETTINGS.tmp" <<'EOT'
<settings xmlns="http://maven.apache.org/SETTINGS/1.0.0">
  <mirrors>
    <mirror>
      <id>central-only</id>
      <mirrorOf>*</mirrorOf>
      <url>https://repo.maven.apache.org/maven2</url>
    </mirror>
  </mirrors>
</settings>
EOT
  mv "$LW_MAVEN_SETTINGS.tmp" "$LW_MAVEN_SETTINGS"
}

# mvn_fetch DIR: resolve DIR/pom.xml's runtime closure into DIR/lib.
# Idempotent: DIR/lib/.stamp holds the pom's checksum; a matching stamp means done.
# Concurrent callers serialise on DIR.lock; the copy goes to lib.tmp and is
# renamed, so a half-written lib dir is never used.
mvn_fetch() {
  local dir=$1 sum
  sum=$(sha256sum "$dir/pom.xml" | cut -d' ' -f1)
  if [[ -f $dir/lib/.stamp && $(<"$dir/lib/.stamp") == "$sum" ]]; then return 0; fi
  need_tools
  (
    flock 9
    if [[ -f $dir/lib/.stamp && $(<"$dir/lib/.stamp") == "$sum" ]]; then exit 0; fi
    log "resolving $(basename "$dir") jars with mvn into $dir/lib (Maven repo $LW_M2)"
    rm -rf "$dir/lib.tmp"
    write_maven_settings
    mvn -B -q -s "$LW_MAVEN_SETTINGS" -f "$dir/pom.xml" -Dmaven.repo.local="$LW_M2" \
      "$LW_DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$dir/lib.tmp" \
      >"$dir/mvn.log" 2>&1 || { tail -n 40 "$dir/mvn.log" >&2; die "mvn copy-dependencies failed (full log: $dir/mvn.log)"; }
    echo "$sum" >"$dir/lib.tmp/.stamp"
    rm -rf "$dir/lib" && mv "$dir/lib.tmp" "$dir/lib"
  ) 9>"$dir.lock"
}

# free_ports N prints N distinct TCP ports on 127.0.0.1 that nothing listens
# on right now. They come from below the kernel's ephemeral range, so an
# outgoing connection cannot sit on a broker's port while it is stopped for a
# restart. Ports handed out in the last 10 minutes (by any harness on this
# machine, recorded in $LW_CACHE/ports.recent) are skipped, so two brokers
# starting at the same time cannot pick the same port before either binds it.
free_ports() {
  local n=$1 lo=10000 hi
  hi=$(awk '{print $1 - 1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32767)
  ((hi > lo + 1000)) || { lo=20000; hi=29999; }
  mkdir -p "$LW_CACHE"
  (
    flock 9
    local now recent=" " picked=() p
    now=$(date +%s)
    if [[ -f $LW_CACHE/ports.recent ]]; then
      recent+=$(awk -v now="$now" '$2 > now - 600 {printf "%s ", $1}' "$LW_CACHE/ports.recent")
      awk -v now="$now" '$2 > now - 600' "$LW_CACHE/ports.recent" >"$LW_CACHE/ports.recent.tmp"
      mv "$LW_CACHE/ports.recent.tmp" "$LW_CACHE/ports.recent"
    fi
    for _ in $(seq 1 500); do
      ((${#picked[@]} == n)) && break
      p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
      [[ $recent == *" $p "* ]] && continue
      port_in_use "$p" && continue
      ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
      recent+="$p "
      picked+=("$p")
      echo "$p $now" >>"$LW_CACHE/ports.recent"
    done
    ((${#picked[@]} == n)) || die "no $n free loopback ports found"
    echo "${picked[*]}"
  ) 9>"$LW_CACHE/ports.lock"
}

# port_in_use PORT: true if something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pid_alive RUNDIR NAME: true if RUNDIR/NAME.pid names a live process whose
# command line mentions RUNDIR (guards against a stale PID reused by another process).
pid_alive() {
  local f="$1/$2.pid" pid
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1" || return 1
}

# stop_pid RUNDIR NAME TIMEOUT: SIGTERM the process (group) in RUNDIR/NAME.pid,
# SIGKILL after TIMEOUT seconds. Data stays so `start` can resume it.
stop_pid() {
  local rundir=$1 name=$2 timeout=${3:-30} pid
  if ! pid_alive "$rundir" "$name"; then
    rm -f "$rundir/$name.pid"
    log "not running (no live PID in $rundir/$name.pid)"
    return 0
  fi
  pid=$(<"$rundir/$name.pid")
  log "stopping PID $pid (SIGTERM, SIGKILL after ${timeout}s)"
  # The JVM was started with setsid, so its PID is also its process group.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "PID $pid still alive after ${timeout}s; SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$rundir/$name.pid"
}

# launch RUNDIR NAME CMD...: start CMD in its own session (process group) with
# output to RUNDIR/NAME.log, record the PID in RUNDIR/NAME.pid.
launch() {
  local rundir=$1 name=$2; shift 2
  : >>"$rundir/$name.log"
  echo "=== start $(date -u +%FT%TZ)" >>"$rundir/$name.log"
  setsid "$@" </dev/null >>"$rundir/$name.log" 2>&1 &
  echo $! >"$rundir/$name.pid"
}

# brokercheck_bin prints the path of the Go readiness checker (cmd/brokercheck),
# building it into $LW_CACHE/bin first. The binary is keyed by a hash of its
# sources and go.mod/go.sum (a link alone costs seconds on a busy 2-core box);
# with-brokers.sh builds it once and passes LW_BROKERCHECK along.
brokercheck_bin() {
  if [[ -n ${LW_BROKERCHECK:-} && -x $LW_BROKERCHECK ]]; then echo "$LW_BROKERCHECK"; return 0; fi
  local repo sum bin
  repo=$(cd "$LW_SCRIPT_DIR/../.." && pwd)
  sum=$(cat "$repo"/cmd/brokercheck/*.go "$repo"/internal/testbrokers/probe/*.go "$repo/go.mod" "$repo/go.sum" | sha256sum | cut -c1-16)
  bin="$LW_CACHE/bin/brokercheck-$sum"
  if [[ ! -x $bin ]]; then
    mkdir -p "$LW_CACHE/bin"
    (
      flock 9
      [[ -x $bin ]] && exit 0
      rm -f "$LW_CACHE"/bin/brokercheck-*
      cd "$repo" && go build -o "$bin.tmp" ./cmd/brokercheck && mv "$bin.tmp" "$bin"
    ) 9>"$LW_CACHE/bin/brokercheck.lock" >&2 || die "building cmd/brokercheck failed"
  fi
  echo "$bin"
}

# write_ctl RUNDIR SCRIPT: write RUNDIR/ctl, the command tests use to stop and
# start this broker (`ctl stop`, `ctl start` = start + wait until ready).
write_ctl() {
  local run=$1 script=$2
  cat >"$run/ctl" <<EOT
#!/usr/bin/env bash
# Generated by $(basename "$script"): stop/start the broker in this directory.
#   ctl stop     stop it (SIGTERM, then SIGKILL); data is kept
#   ctl start    start it again on the same ports and data, wait until it serves
set -euo pipefail
case "\${1:-}" in
  start) $(printf %q "$script") start $(printf %q "$run") && exec $(printf %q "$script") wait $(printf %q "$run") ;;
  stop | wait | env) exec $(printf %q "$script") "\$1" $(printf %q "$run") ;;
  *) echo "usage: \$0 start|stop|wait|env" >&2; exit 2 ;;
esac
EOT
  chmod +x "$run/ctl"
}

# gen_tls DIR: self-signed CA (DIR/ca.pem) and a server certificate for
# 127.0.0.1/localhost signed by it (DIR/server.pem, PKCS#8 key DIR/server.key).
gen_tls() {
  local d=$1
  [[ -f $d/server.pem ]] && return 0
  mkdir -p "$d" && chmod 700 "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.pem \
      -subj "/CN=LatencyWatch test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key.raw -out server.csr -subj "/CN=localhost"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -sha256 -days 3650 -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -extfile server.ext -out server.pem.tmp
    openssl pkcs8 -topk8 -nocrypt -in server.key.raw -out server.key
    rm -f server.key.raw server.csr server.ext
    mv server.pem.tmp server.pem
  ) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "generating TLS certificates in $d failed"; }
}

# random_secret N: N random bytes as lowercase hex.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# b64url: base64url without padding (JWT encoding) of stdin.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# hs256_jwt SECRET_FILE SUBJECT: an HS256 JWT {"sub":SUBJECT} signed with the
# raw key bytes in SECRET_FILE (what Pulsar's AuthenticationProviderToken checks).
hs256_jwt() {
  local key hdr body sig
  key=$(od -An -tx1 <"$1" | tr -d ' \n')
  hdr=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  body=$(printf '{"sub":"%s"}' "$2" | b64url)
  sig=$(printf '%s.%s' "$hdr" "$body" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | b64url)
  printf '%s.%s.%s\n' "$hdr" "$body" "$sig"
}

# Logging config shared by both JVMs: warnings to stderr (-> NAME.log), plus the
# start-up line of each broker at info.
write_log4j2() {
  local file=$1 infologger=$2
  cat >"$file" <<EOT
status = warn
appender.err.type = Console
appender.err.name = ERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.err.ref = ERR
logger.started.name = $infologger
logger.started.level = info
EOT
}
