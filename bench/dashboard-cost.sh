#!/bin/bash
# bench/dashboard-cost.sh MSGROUTERD RLOAD (docs/ADMIN.md, "Cost"): build the
# daemon without sanitizers (make tests/msgrouterd-plain) and rload from
# the shared tools (cc -O2 -o rload rload.c -lpthread); needs chromium.
# Cost of the dashboard's polling to msgrouterd: (1) the admin requests' own
# CPU, measured against an otherwise idle daemon with 100 clients connected;
# (2) the daemon under rload with and without a headless Chromium on /dashboard.
set -u
trap 'rm -rf "$T"' EXIT
D=${1:?usage: dashboard-cost.sh MSGROUTERD RLOAD}
R=${2:?usage: dashboard-cost.sh MSGROUTERD RLOAD}
T=$(mktemp -d)
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
start() {
  $D -l 127.0.0.1:0 --admin 127.0.0.1:0 --log-level info >$T/d.log 2>&1 &
  DP=$!
  for i in $(seq 50); do grep -q "admin listening" $T/d.log && break; sleep 0.1; done
  PORT=$(grep " info  listening on" $T/d.log | sed 's/.*://')
  APORT=$(grep "admin listening on" $T/d.log | sed 's/.*://')
}
stop() { kill $DP; wait $DP 2>/dev/null; }
echo "== (1) admin requests alone"
start
# CLIENTS (default 100, as rload's 50 pairs) idle clients connected.
python3 - "$PORT" "$APORT" "$DP" "$HZ" <<'PY'
import socket, sys, time, urllib.request
port, aport, pid, hz = map(int, sys.argv[1:5])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(int(__import__("os").environ.get("CLIENTS", "100")))]
for s in socks: s.recv(4)
def ticks():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
paths = ["/stats", "/clients?sort=queued&limit=10", "/clients?state=closed&limit=10"]
N = 2000
t0 = ticks(); w0 = time.monotonic()
for i in range(N):
    for p in paths:
        urllib.request.urlopen("http://127.0.0.1:%d%s" % (aport, p)).read()
t1 = ticks(); w1 = time.monotonic()
cpu = (t1 - t0) / hz
print("polls %d (3 requests each) in %.1f s wall: daemon CPU %.2f s = %.0f us per poll = %.3f%% of a core at one poll/s"
      % (N, w1 - w0, cpu, cpu / N * 1e6, cpu / N * 100))
PY
stop
echo "== (2) under rload, 3 runs each, alternating"
for run in 1 2 3; do
 for mode in none dash; do
  start
  CP=
  if [ $mode = dash ]; then
    chromium --headless=new --no-sandbox --disable-gpu --user-data-dir=$T/profile \
      --remote-debugging-port=0 --window-size=1280,800 "http://127.0.0.1:$APORT/dashboard" >/dev/null 2>&1 &
    CP=$!
    sleep 3
  fi
  a=$(ticks $DP)
  out=$($R --port $PORT --duration 10 -q 2>&1 | tail -3 | tr '\n' ' ')
  b=$(ticks $DP)
  [ -n "$CP" ] && kill $CP && wait $CP 2>/dev/null
  echo "$mode run $run: daemon CPU $(awk -v a=$a -v b=$b -v h=$HZ 'BEGIN{printf "%.1f", (b-a)/h}') s over the run; rload: $out"
  stop
 done
done
