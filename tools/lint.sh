#!/usr/bin/env bash
# tools/lint.sh — the project's static checks (`make lint`).
#
#   tools/lint.sh            run every check below, report each, fail if any failed
#   tools/lint.sh format     apply clang-format to the same files (`make format`)
#   tools/lint.sh format-check | cppcheck | tidy    run one check
#
# The checks:
#   format-check  clang-format --dry-run --Werror against .clang-format, over
#                 every .c/.h in include/ src/ tests/ bench/ examples/ (all
#                 depths) and the top level;
#   cppcheck      over src/, warning+performance+portability, errors only on
#                 findings; tools/cppcheck.cfg tells it what our headers mean
#                 (tc_throw does not return). Suppress a finding only inline
#                 (// cppcheck-suppress id) with a comment saying why;
#   tidy          clang-tidy over src/*.c with .clang-tidy (each exclusion is
#                 justified there), using compile_commands.json from a
#                 configure-only CMake folder ($LINT_BUILD, default build-lint).
#
# Environment: JOBS (parallel jobs, default nproc), LINT_BUILD.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
LINT_BUILD=${LINT_BUILD:-build-lint}

need() {
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "lint: $1 is not installed (Debian: apt-get install $2)" >&2
    return 1
}

# The C files the formatter owns, one per line, sorted.
source_files() {
    {
        find include src tests bench examples -type f -name '*.[ch]' 2>/dev/null
        find . -maxdepth 1 -type f -name '*.[ch]' | sed 's|^\./||'
    } | LC_ALL=C sort
}

run_format() {
    need clang-format clang-format
    source_files | xargs -r clang-format -i
}

run_format_check() {
    need clang-format clang-format || return 1
    echo "$(clang-format --version | head -1); $(source_files | wc -l) files"
    # --Werror turns each formatting difference into an error; output names
    # file:line with the expected replacement.
    if ! source_files | xargs -r clang-format --dry-run --Werror; then
        echo "lint: files differ from .clang-format; run 'make format'" >&2
        return 1
    fi
}

run_cppcheck() {
    need cppcheck cppcheck || return 1
    cppcheck --version
    mkdir -p "$LINT_BUILD/cppcheck"
    # No --library=posix: its mmap model rejects the fd -1 of MAP_ANONYMOUS and
    # calls every mapping a leak, the two things our sys layer does by design.
    cppcheck --std=c11 -I include -I src \
        --library=tools/cppcheck.cfg \
        --enable=warning,performance,portability \
        --inline-suppr --error-exitcode=1 --quiet \
        --cppcheck-build-dir="$LINT_BUILD/cppcheck" -j "$JOBS" \
        src/
}

run_tidy() {
    need clang-tidy clang-tidy || return 1
    need cmake cmake || return 1
    clang-tidy --version | grep -i version | head -1
    # Configure only (no build): that writes compile_commands.json with the
    # exact flags of every library source. Re-run each time so new src/*.c
    # files are in it (the source glob is CONFIGURE_DEPENDS). clang as the
    # compiler so the recorded flags are ones clang-tidy parses.
    local cc=clang
    command -v clang >/dev/null 2>&1 || cc=cc
    if ! cmake -S . -B "$LINT_BUILD" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DTC_BUILD_TESTS=OFF \
        -DTC_BUILD_BENCH=OFF -DTC_BUILD_EXAMPLES=OFF >"$LINT_BUILD.configure.log" 2>&1; then
        cat "$LINT_BUILD.configure.log" >&2
        return 1
    fi
    rm -f "$LINT_BUILD.configure.log"
    # One clang-tidy per file, JOBS at a time; drop clang's "N warnings
    # generated" chatter (warnings from system headers, already suppressed).
    local rc=0 out
    out=$(find src -maxdepth 1 -name '*.c' | LC_ALL=C sort |
        xargs -r -P "$JOBS" -n 1 clang-tidy --quiet -p "$LINT_BUILD" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -v -E '^[0-9]+ warnings? generated\.$' | grep -v '^$' || true
    return "$rc"
}

case "${1:-all}" in
format) run_format ;;
format-check) run_format_check ;;
cppcheck) run_cppcheck ;;
tidy) run_tidy ;;
all)
    failed=()
    for check in format-check cppcheck tidy; do
        echo "== lint: $check"
        start=$SECONDS
        if "run_${check//-/_}"; then
            echo "== lint: $check passed ($((SECONDS - start)) s)"
        else
            echo "== lint: $check FAILED ($((SECONDS - start)) s)"
            failed+=("$check")
        fi
    done
    if [ ${#failed[@]} -ne 0 ]; then
        echo "lint: FAILED: ${failed[*]}" >&2
        exit 1
    fi
    echo "lint: all checks passed"
    ;;
*)
    echo "usage: tools/lint.sh [all|format|format-check|cppcheck|tidy]" >&2
    exit 2
    ;;
esac
