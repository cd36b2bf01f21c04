#!/usr/bin/env bash
# tools/lanes.sh — copied into a benchmark kit by tools/benchkit.sh as
# KIT/lanes.sh: side-by-side runs on a many-core machine, in lanes of two
# pinned CPUs (the issues' 2-core machine), for A/B comparisons of builds.
#
#   VARIANTS="A B"  builds to compare: KIT/bin/bt_A, gcb_A, pause_A, ... (copy
#                   a build's bench_binarytrees, bench_gcbench and bench_pause
#                   there; default "cur": the kit's own bench_* programs)
#   LANES=7         binary-trees/GCBench lanes at once (CPU pairs 2,3 4,5 ...)
#   ROUNDS=4        pause rounds per pause lane (2 lanes at once, quiet)
#   PARAM=21        binary-trees depth
#   QUICK=1         a dry run: small heaps, one round
#
# Phase 1: each lane runs binary-trees for every variant, then Boehm, then
# GCBench likewise; 2-bt.txt gets one row per run: wall, CPU (all threads),
# CPU (program's thread), peak RSS, collections. Phase 2: two lanes run
# bench_pause of the last variant beside Go (TC_DEBUG=gctrace=1), with 2
# mutator threads ROUNDS times, then once with 4: 1-pause-laneN.txt.
# Results go to $OUT (or KIT/results); timing is reported, never asserted.
cd "$(dirname "$0")" || exit 1
export LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
O=${OUT:-$PWD/results}
mkdir -p "$O"
T=$(mktemp -d)
VARIANTS=${VARIANTS:-cur}
LANES=${LANES:-7}
if [ "${QUICK:-0}" = 1 ]; then LIVE=64M DUR=2 PARAM=16 ROUNDS=1; else LIVE=1G DUR=10; fi
PARAM=${PARAM:-21}
ROUNDS=${ROUNDS:-4}
ts() { if [ "$(nproc)" -ge $((2 * LANES + 2)) ]; then taskset -c "$@"; else shift; "$@"; fi; }
prog() { # prog KIND VARIANT: the binary of a kind (bt, gcb, pause) for a variant
  if [ "$2" = cur ]; then
    case $1 in bt) echo bin/bench_binarytrees ;; gcb) echo bin/bench_gcbench ;; pause) echo bin/bench_pause ;; esac
  else
    echo "bin/$1_$2"
  fi
}
row() { grep -E '^(wall time|CPU time|peak RSS|GC count)' "$1" | awk '{print $NF}' | tr '\n' ' '; }
{ echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "kernel $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
  echo "variants: $VARIANTS; lanes: $LANES; depth $PARAM; pause rounds $ROUNDS"; date; } > "$O/0-machine.txt"

gc_lane() { # gc_lane N CPUS
  local l=$1 cpus=$2 v last=""
  for v in $VARIANTS; do
    ts "$cpus" "$(prog bt "$v")" --backends=tricolor --param="$PARAM" --reps=1 > "$T/bt$l.$v" 2>&1
    echo "lane $l bt $v $(row "$T/bt$l.$v")" >> "$T/lane$l"
    last=$v
  done
  ts "$cpus" "$(prog bt "$last")" --backends=boehm --param="$PARAM" --reps=1 > "$T/bt$l.boehm" 2>&1
  echo "lane $l bt boehm $(row "$T/bt$l.boehm")" >> "$T/lane$l"
  for v in $VARIANTS; do
    ts "$cpus" "$(prog gcb "$v")" --backends=tricolor --reps=3 > "$T/gcb$l.$v" 2>&1
    echo "lane $l gcbench $v $(row "$T/gcb$l.$v")" >> "$T/lane$l"
  done
  ts "$cpus" "$(prog gcb "$last")" --backends=boehm --reps=3 > "$T/gcb$l.boehm" 2>&1
  echo "lane $l gcbench boehm $(row "$T/gcb$l.boehm")" >> "$T/lane$l"
}
t0=$(date +%s)
for l in $(seq 0 $((LANES - 1))); do gc_lane "$l" "$((2 * l + 2)),$((2 * l + 3))" & done
wait
echo "gc phase $(($(date +%s) - t0)) s" >> "$O/0-machine.txt"
{ cat "$T"/lane*; echo "(fields: wall, CPU all threads, CPU program's thread, peak RSS, collections)"; } > "$O/2-bt.txt"

PEERS=tricolor GO_ARG=""
if [ -x go/pause ]; then PEERS=tricolor,go GO_ARG=--go=go/pause; fi
pause_lane() { # pause_lane N CPUS
  local l=$1 cpus=$2 r p f="$O/1-pause-lane$1.txt"
  p=$(prog pause "${VARIANTS##* }")
  for r in $(seq 1 "$ROUNDS"); do
    echo "=== lane $l round $r threads 2 $(date +%T)" >> "$f"
    TC_DEBUG=gctrace=1 ts "$cpus" "$p" --live=$LIVE --threads=2 --duration=$DUR --backends=$PEERS $GO_ARG >> "$f" 2>&1
  done
  echo "=== lane $l threads 4 $(date +%T)" >> "$f"
  TC_DEBUG=gctrace=1 ts "$cpus" "$p" --live=$LIVE --threads=4 --duration=$DUR --backends=$PEERS $GO_ARG >> "$f" 2>&1
}
t0=$(date +%s)
pause_lane 0 2,3 &
pause_lane 1 10,11 &
wait
echo "pause phase $(($(date +%s) - t0)) s" >> "$O/0-machine.txt"
rm -rf "$T"
echo "results in $O"
