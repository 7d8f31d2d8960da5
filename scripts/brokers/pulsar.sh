#!/usr/bin/env bash
# Real Apache Pulsar standalone (RocksDB metadata, one bookie, no functions worker,
# no stream storage) from Maven Central jars.
#
#   pulsar.sh fetch            resolve jars into $LW_CACHE/pulsar-<ver>/lib (idempotent)
#   pulsar.sh start <rundir>   start (or resume) the standalone whose state lives in <rundir>
#   pulsar.sh stop  <rundir>   SIGTERM, SIGKILL after a timeout; data is kept
#   pulsar.sh wait  <rundir>   block until admin REST + produce/consume round trip work
#   pulsar.sh env   <rundir>   print `export LW_PULSAR_...=` lines
#
# See docs/brokers.md.
set -euo pipefail
LW_NAME=pulsar
LW_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$LW_SCRIPT_DIR/lib.sh"

PULSAR_VERSION="${LW_PULSAR_VERSION:-4.0.7}"
SLF4J_VERSION=2.0.17
LOG4J_VERSION=2.24.3
PDIR="$LW_CACHE/pulsar-$PULSAR_VERSION"
STOP_TIMEOUT="${LW_PULSAR_STOP_TIMEOUT:-30}"
WAIT_TIMEOUT="${LW_PULSAR_WAIT_TIMEOUT:-180}"

cmd_fetch() {
  mkdir -p "$PDIR"
  # pulsar-broker (unshaded: the shaded jar breaks the embedded bookie) plus a
  # logging binding, which only the binary distribution adds.
  cat >"$PDIR/pom.xml.new" <<EOT
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>latencywatch.brokers</groupId>
  <artifactId>pulsar-lib</artifactId>
  <version>$PULSAR_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.pulsar</groupId><artifactId>pulsar-broker</artifactId><version>$PULSAR_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOT
  if ! cmp -s "$PDIR/pom.xml.new" "$PDIR/pom.xml"; then mv "$PDIR/pom.xml.new" "$PDIR/pom.xml"; else rm -f "$PDIR/pom.xml.new"; fi
  mvn_fetch "$PDIR"
  ls "$PDIR"/lib/pulsar-broker-"$PULSAR_VERSION".jar >/dev/null 2>&1 || die "no pulsar-broker jar in $PDIR/lib"
}

# JVM flags bin/pulsar adds on Java 9+ (reflection into JDK internals for netty,
# zip and metrics); missing ones only cost warnings and fallbacks, so keep them.
JAVA_OPENS=(
  --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.util.zip=ALL-UNNAMED
  --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED
  --add-opens java.base/sun.net=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/jdk.internal.platform=ALL-UNNAMED
)

# init_rundir picks ports and writes standalone.conf. Runs only once per rundir,
# so a restart reuses ports and data.
init_rundir() {
  local run=$1
  if [[ -f $run/ports.env ]]; then return 0; fi
  local pport wport bkport tport twport
  read -r pport wport bkport tport twport <<<"$(free_ports 5)"
  [[ -n $twport ]] || die "could not pick ports"
  write_log4j2 "$run/log4j2.properties" org.apache.pulsar.PulsarStandalone
  # TLS ports + token auth in the same process: self-signed CA + server cert,
  # an HS256 secret and a token for the super-user "admin". anonymousUserRole
  # keeps clients without a token working on every port.
  gen_tls "$run/tls"
  (umask 077 && head -c 32 /dev/urandom >"$run/tls/token-secret.key" && hs256_jwt "$run/tls/token-secret.key" admin >"$run/tls/admin.token")
  mkdir -p "$run/data"
  cat >"$run/standalone.conf" <<EOT
clusterName=standalone
bindAddress=127.0.0.1
advertisedAddress=127.0.0.1
brokerServicePort=$pport
webServicePort=$wport
metadataStoreUrl=
managedLedgerDefaultEnsembleSize=1
managedLedgerDefaultWriteQuorum=1
managedLedgerDefaultAckQuorum=1
functionsWorkerEnabled=false
loadManagerClassName=org.apache.pulsar.broker.loadbalance.NoopLoadManager
loadBalancerEnabled=false
brokerDeleteInactiveTopicsEnabled=false
allowAutoTopicCreation=true
allowAutoTopicCreationType=non-partitioned
transactionCoordinatorEnabled=false
# bookie part (the standalone reads this same file as the BookKeeper config)
ledgerStorageClass=org.apache.bookkeeper.bookie.storage.ldb.DbLedgerStorage
allowLoopback=true
journalSyncData=false
diskUsageThreshold=0.99
diskUsageWarnThreshold=0.99
dbStorage_writeCacheMaxSizeMb=32
dbStorage_readAheadCacheMaxSizeMb=32
dbStorage_rocksDB_blockCacheSize=16777216
# security: TLS listeners beside the plaintext ones, token authentication
brokerServicePortTls=$tport
webServicePortTls=$twport
tlsCertificateFilePath=$run/tls/server.pem
tlsKeyFilePath=$run/tls/server.key
tlsTrustCertsFilePath=$run/tls/ca.pem
tlsRequireTrustedClientCertOnConnect=false
tlsAllowInsecureConnection=false
authenticationEnabled=true
authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken
tokenSecretKey=file://$run/tls/token-secret.key
anonymousUserRole=anonymous
authorizationEnabled=false
superUserRoles=admin
brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken
brokerClientAuthenticationParameters=file://$run/tls/admin.token
httpServerEnabled=false
# BKCluster only honours --bookkeeper-port with allowEphemeralPorts=true; listeningInterface makes the bookie bind to loopback only
allowEphemeralPorts=true
listeningInterface=lo
EOT
  cat >"$run/ports.env" <<EOT
PULSAR_PORT=$pport
PULSAR_HTTP_PORT=$wport
PULSAR_BOOKIE_PORT=$bkport
PULSAR_TLS_PORT=$tport
PULSAR_HTTPS_PORT=$twport
EOT
}

cmd_start() {
  local run=${1:?usage: pulsar.sh start <rundir>}
  mkdir -p "$run"; run=$(cd "$run" && pwd)
  cmd_fetch
  if pid_alive "$run" pulsar; then log "already running (PID $(<"$run/pulsar.pid"))"; return 0; fi
  init_rundir "$run"
  write_ctl "$run" "$LW_SCRIPT_DIR/pulsar.sh"
  # shellcheck source=/dev/null
  source "$run/ports.env"
  local p
  for p in "$PULSAR_PORT" "$PULSAR_HTTP_PORT" "$PULSAR_BOOKIE_PORT" "$PULSAR_TLS_PORT" "$PULSAR_HTTPS_PORT"; do
    port_in_use "$p" && die "port $p (remembered in $run/ports.env) is taken by another process; stop it or delete $run"
  done
  # A zookeeper dir would silently switch the standalone to ZooKeeper mode; RocksDB only here.
  rm -rf "$run/data/zookeeper"
  # cd into the rundir: the standalone resolves some defaults relative to the working directory.
  (
    cd "$run"
    unset PULSAR_STANDALONE_USE_ZOOKEEPER
    launch "$run" pulsar java -Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g -XX:+UseG1GC \
      "${JAVA_OPENS[@]}" -Dio.netty.tryReflectionSetAccessible=true -Djava.net.preferIPv4Stack=true \
      -Djute.maxbuffer=10485760 \
      -Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver \
      -Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver \
      -Dlog4j2.configurationFile="$run/log4j2.properties" -Dlog4j.shutdownHookEnabled=false \
      -Dpulsar.rundir="$run" \
      -cp "$PDIR/lib/*" org.apache.pulsar.PulsarStandaloneStarter --config "$run/standalone.conf" \
      -nfw -nss --bookkeeper-port "$PULSAR_BOOKIE_PORT" --metadata-dir "$run/data/metadata" \
      --bookkeeper-dir "$run/data/bookkeeper" --zookeeper-dir "$run/data/zookeeper" -a 127.0.0.1
  )
  log "started PID $(<"$run/pulsar.pid"), pulsar://127.0.0.1:$PULSAR_PORT http://127.0.0.1:$PULSAR_HTTP_PORT, log $run/pulsar.log"
}

cmd_stop() {
  local run=${1:?usage: pulsar.sh stop <rundir>}
  [[ -d $run ]] || { log "no rundir $run"; return 0; }
  stop_pid "$(cd "$run" && pwd)" pulsar "$STOP_TIMEOUT"
}

cmd_wait() {
  local run=${1:?usage: pulsar.sh wait <rundir>}
  run=$(cd "$run" && pwd)
  # shellcheck source=/dev/null
  source "$run/ports.env"
  local bc; bc=$(brokercheck_bin)
  "$bc" pulsar -url "pulsar://127.0.0.1:$PULSAR_PORT" -http "http://127.0.0.1:$PULSAR_HTTP_PORT" \
    -timeout "${WAIT_TIMEOUT}s" -pidfile "$run/pulsar.pid" \
    || { tail -n 30 "$run/pulsar.log" >&2; die "not ready after ${WAIT_TIMEOUT}s (log: $run/pulsar.log)"; }
  "$bc" pulsar -url "pulsar+ssl://127.0.0.1:$PULSAR_TLS_PORT" -http "https://127.0.0.1:$PULSAR_HTTPS_PORT" \
    -ca "$run/tls/ca.pem" -token-file "$run/tls/admin.token" -timeout 60s -pidfile "$run/pulsar.pid" \
    || { tail -n 30 "$run/pulsar.log" >&2; die "TLS/token listener not ready (log: $run/pulsar.log)"; }
}

cmd_env() {
  local run=${1:?usage: pulsar.sh env <rundir>}
  run=$(cd "$run" && pwd)
  # shellcheck source=/dev/null
  source "$run/ports.env"
  echo "export LW_PULSAR_URL=pulsar://127.0.0.1:$PULSAR_PORT"
  echo "export LW_PULSAR_HTTP_URL=http://127.0.0.1:$PULSAR_HTTP_PORT"
  echo "export LW_PULSAR_TLS_URL=pulsar+ssl://127.0.0.1:$PULSAR_TLS_PORT"
  echo "export LW_PULSAR_HTTPS_URL=https://127.0.0.1:$PULSAR_HTTPS_PORT"
  echo "export LW_PULSAR_CA_FILE='$run/tls/ca.pem'"
  echo "export LW_PULSAR_TOKEN_FILE='$run/tls/admin.token'"
  echo "export LW_PULSAR_TOKEN=$(<"$run/tls/admin.token")"
  echo "export LW_PULSAR_CTL='$run/ctl'"
  echo "export LW_PULSAR_RUNDIR='$run'"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start | stop | wait | env) c=$1; shift; "cmd_$c" "$@" ;;
  *) echo "usage: $0 fetch | start|stop|wait|env <rundir>" >&2; exit 2 ;;
esac
