#!/usr/bin/env bash
# tools/benchkit.sh [KIT_DIR] [BUILD_DIR]
#
# Packs the benchmarks into one self-contained folder (default .benchkit/,
# about 10 MB) that runs on another x86-64 Linux machine with no compiler,
# no apt and no network: a quiet many-core box, say, where this build
# machine is shared and has 2 cores. The folder holds
#   bin/   the bench_* programs of BUILD_DIR (tricolor is linked in statically)
#   lib/   the peers' shared libraries (mimalloc, jemalloc, Boehm GC), when
#          this machine has them
#   go/    the Go versions of the GC benchmarks, when `go` is installed
#   run.sh the standard run: each benchmark pinned to two CPUs (the target
#          machine of the issues) via taskset when there is one, then
#          bench_scaling on every CPU; results go to $OUT or ./results/.
#   lanes.sh  A/B runs of several builds side by side in lanes of two CPUs
#          (tools/lanes.sh says how).
# The target needs a glibc at least as new as this machine's (Debian 12:
# 2.36) and libstdc++ for jemalloc. Copy the folder over and run
# `bash KIT_DIR/run.sh`; `RUN_ONLY="alloc gc"` picks parts (alloc, gc,
# pause, scaling). Timing is reported, never asserted.
set -eu
cd "$(dirname "$0")/.."
KIT=${1:-.benchkit}
BUILD=${2:-build}

cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
rm -rf "$KIT"
mkdir -p "$KIT/bin" "$KIT/lib" "$KIT/go"
for b in alloc binarytrees gcbench allocrate pause scaling unmanaged; do
  cp "$BUILD/bench/bench_$b" "$KIT/bin/"
done
strip "$KIT"/bin/* 2>/dev/null || true
for l in libmimalloc.so.2 libjemalloc.so.2 libgc.so.1; do
  p=$(ldconfig -p 2>/dev/null | awk -v l="$l" '$1 == l { print $NF; exit }')
  if [ -n "$p" ]; then cp -L "$p" "$KIT/lib/"; else echo "benchkit: $l not found; that peer shows as n/a"; fi
done
if command -v go >/dev/null 2>&1; then
  for prog in binarytrees gcbench allocrate pause; do
    env -u GOFLAGS GO111MODULE=off GOPROXY=off GOCACHE="$PWD/$BUILD/bench/go/cache" \
      GOPATH="$PWD/$BUILD/bench/go/path" go build -o "$KIT/go/$prog" "bench/go/$prog.go" \
      || echo "benchkit: go build of $prog failed"
  done
fi

cp tools/lanes.sh "$KIT/lanes.sh"
cat > "$KIT/run.sh" <<'RUN'
#!/usr/bin/env bash
# Written by tools/benchkit.sh: the standard run of a packed benchmark kit.
cd "$(dirname "$0")" || exit 1
export LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
O=${OUT:-$PWD/results}
mkdir -p "$O"
B=./bin
ONLY=${RUN_ONLY:-alloc gc pause scaling}
TWO=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 4 ]; then TWO="taskset -c 2,3"; fi
go_arg() { [ -x "go/$1" ] && echo "--go=go/$1"; }
{ echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "kernel $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
  echo "pinned: ${TWO:-no}"; } > "$O/0-machine.txt"
case " $ONLY " in *" alloc "*)
  $TWO $B/bench_alloc --reps=3 > "$O/1-alloc.txt" 2>&1 ;; esac
case " $ONLY " in *" gc "*)
  { $TWO $B/bench_binarytrees --reps=1 $(go_arg binarytrees)
    $TWO $B/bench_gcbench --reps=3 $(go_arg gcbench)
    $TWO $B/bench_allocrate --reps=3 $(go_arg allocrate); } > "$O/2-gc.txt" 2>&1 ;; esac
case " $ONLY " in *" pause "*)
  { $TWO $B/bench_pause --live=1G --threads=2 --duration=10 $(go_arg pause)
    $TWO $B/bench_pause --live=1G --threads=4 --duration=10 --backends=tricolor,go $(go_arg pause)
  } > "$O/3-pause.txt" 2>&1 ;; esac
case " $ONLY " in *" scaling "*)
  $B/bench_scaling --live=128M --alloc=1M --reps=3 > "$O/4-scaling.txt" 2>&1 ;; esac
echo "results in $O"
RUN
chmod +x "$KIT/run.sh"
echo "benchkit: $(du -sh "$KIT" | cut -f1) in $KIT; run it with: bash $KIT/run.sh"
