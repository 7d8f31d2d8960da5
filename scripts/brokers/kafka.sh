#!/usr/bin/env bash
# Real Apache Kafka (KRaft, one combined broker+controller node) from Maven Central jars.
#
#   kafka.sh fetch            resolve jars into $LW_CACHE/kafka-<ver>/lib (idempotent)
#   kafka.sh start <rundir>   start (or resume) the broker whose state lives in <rundir>
#   kafka.sh stop  <rundir>   SIGTERM, SIGKILL after a timeout; data is kept
#   kafka.sh wait  <rundir>   block until metadata + produce/consume round trip work
#   kafka.sh env   <rundir>   print `export LW_KAFKA_...=` lines
#
# See docs/brokers.md.
set -euo pipefail
LW_NAME=kafka
LW_SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$LW_SCRIPT_DIR/lib.sh"

KAFKA_VERSION="${LW_KAFKA_VERSION:-4.1.2}"
SLF4J_VERSION=2.0.17
LOG4J_VERSION=2.24.3
KDIR="$LW_CACHE/kafka-$KAFKA_VERSION"
SCRAM_USER=lw-scram
STOP_TIMEOUT="${LW_KAFKA_STOP_TIMEOUT:-30}"
WAIT_TIMEOUT="${LW_KAFKA_WAIT_TIMEOUT:-120}"

cmd_fetch() {
  mkdir -p "$KDIR"
  # The Kafka POMs carry no logging binding (it is tarball-only since 4.0), so add one.
  cat >"$KDIR/pom.xml.new" <<EOT
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>latencywatch.brokers</groupId>
  <artifactId>kafka-lib</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOT
  if ! cmp -s "$KDIR/pom.xml.new" "$KDIR/pom.xml"; then mv "$KDIR/pom.xml.new" "$KDIR/pom.xml"; else rm -f "$KDIR/pom.xml.new"; fi
  mvn_fetch "$KDIR"
  ls "$KDIR"/lib/kafka_2.13-*.jar >/dev/null 2>&1 || die "no kafka_2.13 jar in $KDIR/lib"
}

# kjava RUNDIR ARGS...: run java on the Kafka lib dir with the rundir's logging config.
kjava() {
  local run=$1; shift
  java -Djava.awt.headless=true -Dlog4j2.configurationFile="$run/log4j2.properties" -cp "$KDIR/lib/*" "$@"
}

# init_rundir picks ports, writes config, formats storage. Runs only once per rundir.
init_rundir() {
  local run=$1
  if [[ -f $run/ports.env ]]; then return 0; fi
  local bport cport sport
  read -r bport cport sport <<<"$(free_ports 3)"
  [[ -n $sport ]] || die "could not pick ports"
  write_log4j2 "$run/log4j2.properties" kafka.server.KafkaRaftServer
  # SASL_SSL listener: self-signed CA + server cert (PEM keystore = PKCS#8 key
  # followed by the certificate) and one SCRAM-SHA-512 user created at format time.
  gen_tls "$run/tls"
  cat "$run/tls/server.key" "$run/tls/server.pem" >"$run/tls/keystore.pem"
  (umask 077 && random_hex 16 >"$run/tls/scram-password")
  cat >"$run/ports.env.tmp" <<EOT
KAFKA_PORT=$bport
KAFKA_CONTROLLER_PORT=$cport
KAFKA_SASL_PORT=$sport
EOT
  cat >"$run/server.properties" <<EOT
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport,SASL_SSL://127.0.0.1:$sport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport,SASL_SSL://127.0.0.1:$sport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=PLAINTEXT
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$run/tls/keystore.pem
listener.name.sasl_ssl.ssl.client.auth=none
log.dirs=$run/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
default.replication.factor=1
min.insync.replicas=1
EOT
  local cid
  cid=$(kjava "$run" kafka.tools.StorageTool random-uuid) || die "StorageTool random-uuid failed"
  kjava "$run" kafka.tools.StorageTool format -t "$cid" -c "$run/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$(<"$run/tls/scram-password")]" \
    >>"$run/format.log" 2>&1 || { cat "$run/format.log" >&2; die "StorageTool format failed (log: $run/format.log)"; }
  mv "$run/ports.env.tmp" "$run/ports.env"
}

cmd_start() {
  local run=${1:?usage: kafka.sh start <rundir>}
  mkdir -p "$run"; run=$(cd "$run" && pwd)
  cmd_fetch
  if pid_alive "$run" kafka; then log "already running (PID $(<"$run/kafka.pid"))"; return 0; fi
  init_rundir "$run"
  write_ctl "$run" "$LW_SCRIPT_DIR/kafka.sh"
  # shellcheck source=/dev/null
  source "$run/ports.env"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$KAFKA_SASL_PORT"; do
    port_in_use "$p" && die "port $p (remembered in $run/ports.env) is taken by another process; stop it or delete $run"
  done
  launch "$run" kafka java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$run/log4j2.properties" -cp "$KDIR/lib/*" kafka.Kafka "$run/server.properties"
  log "started PID $(<"$run/kafka.pid"), broker 127.0.0.1:$KAFKA_PORT, log $run/kafka.log"
}

cmd_stop() {
  local run=${1:?usage: kafka.sh stop <rundir>}
  [[ -d $run ]] || { log "no rundir $run"; return 0; }
  stop_pid "$(cd "$run" && pwd)" kafka "$STOP_TIMEOUT"
}

cmd_wait() {
  local run=${1:?usage: kafka.sh wait <rundir>}
  run=$(cd "$run" && pwd)
  # shellcheck source=/dev/null
  source "$run/ports.env"
  local bc; bc=$(brokercheck_bin)
  local pidfile="$run/kafka.pid"
  "$bc" kafka -brokers "127.0.0.1:$KAFKA_PORT" -timeout "${WAIT_TIMEOUT}s" -pidfile "$pidfile" \
    || { tail -n 30 "$run/kafka.log" >&2; die "not ready after ${WAIT_TIMEOUT}s (log: $run/kafka.log)"; }
  "$bc" kafka -brokers "127.0.0.1:$KAFKA_SASL_PORT" -scram-user "$SCRAM_USER" \
    -scram-password-file "$run/tls/scram-password" -ca "$run/tls/ca.pem" -timeout 60s -pidfile "$pidfile" \
    || { tail -n 30 "$run/kafka.log" >&2; die "SASL_SSL listener not ready (log: $run/kafka.log)"; }
}

cmd_env() {
  local run=${1:?usage: kafka.sh env <rundir>}
  run=$(cd "$run" && pwd)
  # shellcheck source=/dev/null
  source "$run/ports.env"
  echo "export LW_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export LW_KAFKA_SASL_BROKERS=127.0.0.1:$KAFKA_SASL_PORT"
  echo "export LW_KAFKA_SCRAM_USER=$SCRAM_USER"
  echo "export LW_KAFKA_SCRAM_PASSWORD=$(<"$run/tls/scram-password")"
  echo "export LW_KAFKA_CA_FILE='$run/tls/ca.pem'"
  echo "export LW_KAFKA_CTL='$run/ctl'"
  echo "export LW_KAFKA_RUNDIR='$run'"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start | stop | wait | env) c=$1; shift; "cmd_$c" "$@" ;;
  *) echo "usage: $0 fetch | start|stop|wait|env <rundir>" >&2; exit 2 ;;
esac
