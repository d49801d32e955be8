#!/usr/bin/env bash
# scripts/ceph-rgw.sh — a real, throwaway, single-node Ceph RADOS Gateway (S3) on 127.0.0.1,
# for tests and for trying Cairn's S3 chunk store. See docs/ceph-rgw.md.
#
#   scripts/ceph-rgw.sh start    install the Debian packages if missing (as root), start, print the settings
#   scripts/ceph-rgw.sh stop     stop the daemons (radosgw, OSD, then monitor) and remove the directory
#   scripts/ceph-rgw.sh status   say "up" (exit 0) or "down" (exit 1)
#   scripts/ceph-rgw.sh env      print the settings as export lines
#
#   eval "$(scripts/ceph-rgw.sh start)"     # then CAIRN_S3_ENDPOINT, AWS_* and CAIRN_CHUNK_STORE are set
#
# What it starts, all from Debian 12's ceph-mon, ceph-osd and radosgw (Ceph 16 "Pacific"), without
# systemd, cephx or a manager: one monitor (mon.a), one OSD (osd.0) on memstore, which keeps every
# object in RAM and loses it on stop, and radosgw (client.rgw.a) with the beast frontend. Everything
# (config, monitor store, logs, pid files, sockets) lives in $CAIRN_CEPH_DIR; nothing is written to
# /etc/ceph or /var/lib/ceph. Start takes 1.5-5 s once the packages are installed (CPU-bound).
#
# Settings (environment; the defaults are fixed so that tests can rely on them):
#   CAIRN_CEPH_DIR         private directory              /tmp/cairn-ceph
#   CAIRN_CEPH_RGW_PORT    S3 endpoint port on 127.0.0.1  7480
#   CAIRN_CEPH_MON_PORT    monitor port on 127.0.0.1      3300  (the OSD takes ports from 6800 up)
#   CAIRN_CEPH_BUCKET      bucket created at start        cairn-test
#   CAIRN_CEPH_ACCESS_KEY  S3 access key                  cairn-test-access-key
#   CAIRN_CEPH_SECRET_KEY  S3 secret key                  cairn-test-secret-key-not-for-production
#   CAIRN_CEPH_MEMSTORE_MB memstore size: the data it may hold (RAM used is 2-3x that; when it is
#                          full, writes hang)             1024
#   CAIRN_CEPH_TIMEOUT     seconds to wait for radosgw    60
set -euo pipefail

DIR=${CAIRN_CEPH_DIR:-/tmp/cairn-ceph}
RGW_PORT=${CAIRN_CEPH_RGW_PORT:-7480}
MON_PORT=${CAIRN_CEPH_MON_PORT:-3300}
BUCKET=${CAIRN_CEPH_BUCKET:-cairn-test}
ACCESS_KEY=${CAIRN_CEPH_ACCESS_KEY:-cairn-test-access-key}
SECRET_KEY=${CAIRN_CEPH_SECRET_KEY:-cairn-test-secret-key-not-for-production}
MEMSTORE_MB=${CAIRN_CEPH_MEMSTORE_MB:-1024}
REGION=default
# A program from each package that start needs (ceph-base, with monmaptool, comes with ceph-mon).
PACKAGES=(ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw radosgw-admin:ceph-common monmaptool:ceph-base curl:curl)
CONF=$DIR/ceph.conf
# Seconds to wait for a daemon to come up / go away.
UP_TIMEOUT=${CAIRN_CEPH_TIMEOUT:-60}

say() { printf 'ceph-rgw: %s\n' "$*" >&2; }

die() {
  say "$1"
  shift
  local log
  for log in "$@"; do
    if [[ -f $log ]]; then
      printf '\n--- last lines of %s ---\n' "$log" >&2
      tail -n 40 "$log" >&2
    fi
  done
  if [[ -n $STARTING ]]; then
    say "stopping what was started; the logs stay in $DIR/log (a new start or stop removes them)"
    kill_daemons
  fi
  exit 1
}
STARTING=''

# Whether something listens on a port of 127.0.0.1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The export lines, from the settings the running cluster was started with when there is one.
print_env() {
  if [[ -f $DIR/env ]]; then
    cat "$DIR/env"
  else
    env_lines
  fi
}

env_lines() {
  cat <<EOF
export CAIRN_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$REGION
export CAIRN_CHUNK_STORE=s3://$BUCKET
EOF
}

# A process that has exited but is not yet reaped (a zombie) counts as gone: the daemons detach,
# and some inits (in containers, micro-VMs) reap their orphans only every second or two.
running() { # pid
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

pid_alive() { # pid file
  local pid
  [[ -f $1 ]] && pid=$(<"$1") && [[ -n $pid ]] && running "$pid"
}

is_up() {
  pid_alive "$DIR/run/mon.a.pid" && pid_alive "$DIR/run/osd.0.pid" && pid_alive "$DIR/run/client.rgw.a.pid" &&
    [[ -f $DIR/env ]] && curl -s -o /dev/null --max-time 2 "$(rgw_url)/"
}

rgw_url() {
  if [[ -f $DIR/env ]]; then
    sed -n 's/^export CAIRN_S3_ENDPOINT=//p' "$DIR/env"
  else
    echo "http://127.0.0.1:$RGW_PORT"
  fi
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    command -v "${p%%:*}" >/dev/null || missing+=("${p#*:}")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((EUID != 0)); then
    die "missing Debian packages: ${missing[*]} (run this as root once, or: sudo apt-get install --no-install-recommends ${missing[*]})"
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

write_conf() {
  local fsid=$1
  cat >"$CONF" <<EOF
# Written by scripts/ceph-rgw.sh: a throwaway single-node cluster, see docs/ceph-rgw.md.
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false

# No cephx. With auth off the messenger must not insist on "secure" mode (it needs a session
# key that only cephx provides): the mon-facing modes default to "secure crc", and radosgw then
# hangs at start. Prefer crc everywhere.
auth cluster required = none
auth service required = none
auth client required = none
ms cluster mode = crc secure
ms service mode = crc secure
ms client mode = crc secure
ms mon cluster mode = crc secure
ms mon service mode = crc secure
ms mon client mode = crc secure

# One monitor proposes at once instead of batching changes for a second (12 s to start -> ~1 s).
paxos propose interval = 0.05
paxos min wait = 0.01

# One OSD: pools of one replica, few placement groups, no manager to autoscale them.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0

# Everything in this directory.
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
keyring = $DIR/keyring
log to stderr = false
err to stderr = true
# A full /tmp must not make the monitor shut itself down.
mon data avail crit = 0
mon data avail warn = 0

[mon]
mon data = $DIR/mon/\$cluster-\$id

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $((MEMSTORE_MB * 1024 * 1024))

[client.rgw.a]
# tcp_nodelay: without it every small GET/List waits ~40 ms for the peer's delayed ACK.
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw data = $DIR/rgw
rgw thread pool size = 64
rgw enable apis = s3, admin
rgw zone = default
EOF
}

# Waits for a command to succeed while the daemons that it needs still run.
wait_for() { # what, command...
  local what=$1 deadline=$((SECONDS + UP_TIMEOUT)) name
  shift
  until "$@"; do
    for name in mon.a osd.0 client.rgw.a; do
      pid_alive "$DIR/run/$name.pid" || die "$name exited while waiting for $what" "$DIR/log/$name.log"
    done
    ((SECONDS < deadline)) || die "$what did not come up within ${UP_TIMEOUT}s" "$DIR/log/client.rgw.a.log"
    sleep 0.05
  done
}

start() {
  if is_up; then
    print_env
    return 0
  fi
  if [[ -d $DIR ]]; then
    say "$DIR holds a cluster that is not (fully) up: stopping it first"
    stop
  fi
  install_packages
  local port
  for port in "$RGW_PORT" "$MON_PORT"; do
    ! port_busy "$port" || die "port $port of 127.0.0.1 is in use (set CAIRN_CEPH_RGW_PORT / CAIRN_CEPH_MON_PORT)"
  done

  local t0=$EPOCHREALTIME fsid osd_uuid
  STARTING=1
  mkdir -p "$DIR"/{run,log,crash,mon,osd/ceph-0,rgw}
  : >"$DIR/keyring"
  fsid=$(</proc/sys/kernel/random/uuid)
  osd_uuid=$(</proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  export CEPH_CONF=$CONF

  # The OSD's store is made first and needs no monitor (--no-mon-config: the fsid is in ceph.conf).
  ceph-osd --no-mon-config --mkfs -i 0 --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs failed" "$DIR/log/mkfs.log" "$DIR/log/osd.0.log"

  # Monitor, made with an OSD map that already holds osd.0 (saves a `ceph osd new`, ~1 s of Python).
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  osdmaptool --createsimple 1 --clobber "$DIR/osdmap" >>"$DIR/log/mkfs.log" 2>&1 ||
    die "osdmaptool failed" "$DIR/log/mkfs.log"
  ceph-mon --mkfs -i a --monmap "$DIR/monmap" --osdmap "$DIR/osdmap" >>"$DIR/log/mkfs.log" 2>&1 ||
    die "ceph-mon --mkfs failed" "$DIR/log/mkfs.log" "$DIR/log/mon.a.log"
  ceph-mon -i a >>"$DIR/log/daemons.log" 2>&1 || die "ceph-mon did not start" "$DIR/log/daemons.log" "$DIR/log/mon.a.log"
  ceph-osd -i 0 >>"$DIR/log/daemons.log" 2>&1 || die "ceph-osd did not start" "$DIR/log/daemons.log" "$DIR/log/osd.0.log"

  # radosgw: creates its pools and only then listens.
  radosgw -n client.rgw.a >>"$DIR/log/daemons.log" 2>&1 ||
    die "radosgw did not start" "$DIR/log/daemons.log" "$DIR/log/client.rgw.a.log"
  wait_for "radosgw on port $RGW_PORT" curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"

  # S3 user with fixed keys, and the bucket (created through S3 itself: radosgw-admin cannot).
  radosgw-admin user create --uid=cairn --display-name=Cairn \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >>"$DIR/log/admin.log" 2>&1 </dev/null ||
    die "radosgw-admin user create failed" "$DIR/log/admin.log"
  local code
  # curl 7.88 signs but does not send the payload hash; RGW needs it (else SignatureDoesNotMatch).
  local EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  code=$(curl -s -o "$DIR/log/bucket.xml" -w '%{http_code}' -X PUT \
    -H "x-amz-content-sha256: $EMPTY_SHA256" --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    "http://127.0.0.1:$RGW_PORT/$BUCKET")
  [[ $code == 200 ]] || die "creating bucket $BUCKET answered HTTP $code" "$DIR/log/bucket.xml" "$DIR/log/client.rgw.a.log"

  env_lines >"$DIR/env"
  STARTING=''
  local ms=$(((${EPOCHREALTIME/./} - ${t0/./}) / 1000))
  say "up in $((ms / 1000)).$(printf %03d $((ms % 1000)))s: S3 on http://127.0.0.1:$RGW_PORT, bucket $BUCKET, files in $DIR"
  print_env
}

# Sends a signal to the daemon of a pid file and waits up to $3 seconds for it to exit.
stop_daemon() { # pid file, signal, seconds
  local pidfile=$1 sig=$2 wait=$3 pid deadline
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  [[ -n $pid ]] || return 0
  kill "-$sig" "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + wait))
  while running "$pid"; do
    if ((SECONDS >= deadline)); then
      say "$(basename "$pidfile" .pid) (pid $pid) still runs after SIG$sig: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      sig=KILL
    fi
    sleep 0.05
  done
}

# radosgw first (it exits at once on SIGTERM, unless its writes are stuck on a full OSD), then the
# OSD with SIGKILL: memstore would otherwise write every object to $DIR on a clean shutdown, only
# for it to be removed. The monitor last: an OSD that outlives its monitor waits ~5 s for it.
kill_daemons() {
  stop_daemon "$DIR/run/client.rgw.a.pid" TERM 5
  stop_daemon "$DIR/run/osd.0.pid" KILL 5
  stop_daemon "$DIR/run/mon.a.pid" TERM 5
}

stop() {
  [[ -d $DIR ]] || return 0
  kill_daemons
  rm -rf "$DIR"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status)
    if is_up; then
      echo up
    else
      echo down
      exit 1
    fi
    ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
