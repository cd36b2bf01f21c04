#!/usr/bin/env bash
# bench/run.sh [--quick] [--pause] [--ref=NAME] [BUILD_DIR]  (make bench calls it)
# bench/run.sh --scaling [--quick] [bench_scaling's options] [BUILD_DIR]
#
# Runs tricolor's benchmarks side by side with the peers a user would pick
# instead, and prints one table of ratios per benchmark:
#   bench_unmanaged    fixalloc / persistent vs glibc, mimalloc, jemalloc (issue 2)
#   bench_alloc        allocation without free vs glibc, mimalloc, jemalloc, Boehm (issue 3)
#   bench_binarytrees, bench_gcbench, bench_allocrate
#                      GC workloads vs malloc/free peers, Boehm GC and Go (issue 4)
#   bench_pause        stops, op latency, utilisation under churn vs Go, Boehm (issue 5);
#                      256 MiB live for 5 s by default, 64 MiB for 2 s with --quick,
#                      the full 1 GiB for 10 s only with --pause (about 3 minutes more)
# Missing peers are installed with apt-get (libmimalloc-dev libjemalloc-dev
# libgc-dev golang-go) when we are root or have sudo; a peer still missing
# shows as n/a. --quick is a smoke run (under a minute). --ref picks the
# reference column of the GC tables and bench_alloc (default tricolor).
# --scaling runs bench_scaling alone instead (allocation and marking by
# thread count, for many-core machines; not part of the default run), with
# its options passed on: --threads= --reps= --alloc= --live= --gcs= --only=
# --concurrent --oversubscribe (see bench/scaling.c; Go is not built).
# Timing is reported, never asserted.
set -u
cd "$(dirname "$0")/.." || exit 1

QUICK=""
PAUSE=""
SCALING=""
SCALING_ARGS=()
REF=--ref=tricolor
BUILD=build
for a in "$@"; do
  case "$a" in
    --quick) QUICK=--quick ;;
    --pause) PAUSE=1 ;;
    --scaling) SCALING=1 ;;
    --threads=*|--reps=*|--alloc=*|--live=*|--gcs=*|--only=*|--concurrent|--oversubscribe)
      SCALING_ARGS+=("$a") ;;
    --ref=*) REF="$a" ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) BUILD="$a" ;;
  esac
done

# ---- peers -------------------------------------------------------------
PEERS="libmimalloc-dev libjemalloc-dev libgc-dev golang-go"
[ -n "$SCALING" ] && PEERS="libmimalloc-dev libjemalloc-dev libgc-dev"
if [ -z "$SCALING" ] && [ ${#SCALING_ARGS[@]} -gt 0 ]; then
  echo "bench: ${SCALING_ARGS[*]} only go with --scaling" >&2
  exit 2
fi
missing=""
for p in $PEERS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
  fi
  if [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; then
    echo "bench: installing missing peers:$missing"
    $SUDO apt-get update -qq >/dev/null 2>&1 || echo "bench: apt-get update failed; trying anyway"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null 2>&1 \
      || echo "bench: apt-get install failed; the missing peers show as n/a"
  else
    echo "bench: peers missing ($missing) and no root to install them; they show as n/a"
  fi
fi

# ---- build ---------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" >/dev/null || exit 1
fi
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || { echo "bench: build failed"; exit 1; }

if [ -n "$SCALING" ]; then
  echo "tricolor scaling benchmark on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "peers: $(for p in $PEERS; do printf '%s=%s ' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"; done)"
  exec "$BUILD/bench/bench_scaling" ${QUICK:+"$QUICK"} "${SCALING_ARGS[@]}"
fi

GODIR="$BUILD/bench/go"
mkdir -p "$GODIR"
GODIR="$(cd "$GODIR" && pwd)"
for prog in binarytrees gcbench allocrate pause; do
  rm -f "$GODIR/$prog"
  if command -v go >/dev/null 2>&1; then
    # Plain single-file programs: no module, no network.
    env -u GOFLAGS GO111MODULE=off GOPROXY=off GOCACHE="$GODIR/cache" GOPATH="$GODIR/path" \
      go build -o "$GODIR/$prog" "bench/go/$prog.go" \
      || echo "bench: go build of $prog failed; Go shows as n/a"
  fi
done

B="$BUILD/bench"
echo "tricolor benchmarks ${QUICK:+(quick) }on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "peers: $(for p in $PEERS; do printf '%s=%s ' "$p" "$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo missing)"; done)"

# Medians of 3 processes, except binary-trees at full depth: one process per
# side (each runs for seconds) keeps the whole run near 5 minutes on 2 cores.
REPS=--reps=3 TREE_REPS=--reps=1
[ -n "$QUICK" ] && REPS=--reps=1
COMMON=("$REF")
[ -n "$QUICK" ] && COMMON+=("$QUICK")
status=0
"$B/bench_unmanaged" ${QUICK:+"$QUICK"} || status=1
"$B/bench_alloc" "${COMMON[@]}" || status=1
"$B/bench_binarytrees" "${COMMON[@]}" "$TREE_REPS" --go="$GODIR/binarytrees" || status=1
"$B/bench_gcbench" "${COMMON[@]}" "$REPS" --go="$GODIR/gcbench" || status=1
"$B/bench_allocrate" "${COMMON[@]}" "$REPS" --go="$GODIR/allocrate" || status=1
if [ -n "$PAUSE" ]; then
  PAUSE_ARGS=()                                # 1 GiB live, 10 s
elif [ -n "$QUICK" ]; then
  PAUSE_ARGS=(--quick)                         # 64 MiB live, 2 s
else
  PAUSE_ARGS=(--live=256MiB --duration=5)
fi
"$B/bench_pause" "${PAUSE_ARGS[@]}" --go="$GODIR/pause" || status=1
exit $status
