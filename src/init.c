/*
 * init.c — start-up: tc_config_default and tc_init.
 *
 * Owns: the effective configuration (defaults, then the environment, then
 * the caller's tc_config) and the once-only start of the library.
 *
 * Concurrency: tc_init runs once; a second call is fatal (it would reset
 * state that other threads may already use). init_state is set with release
 * order after everything tc_init sets up, so a thread that acquires it sees
 * the configuration.
 */
#include "init.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "mheap.h" /* heap (mheap.c) */
#include "gc.h"
#include "pacer.h"
#include "threads.h"

tc_config init_config;
static _Atomic int init_state; /* 0: not started, 1: running, 2: done */

bool init_done(void) { return atomic_load_explicit(&init_state, memory_order_acquire) == 2; }

bool init_parse_bytes(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = {{"", 0},     {"B", 0},  {"KiB", 10}, {"MiB", 20}, {"GiB", 30},
                 {"TiB", 40}, {"K", 10}, {"M", 20},   {"G", 30},   {"T", 40}};
    if (s == NULL || *s < '0' || *s > '9') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0) return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) != 0) continue;
        if (v > (unsigned long long)(INT64_MAX >> units[i].shift)) return false;
        *out = (int64_t)(v << units[i].shift);
        return true;
    }
    return false;
}

static bool parse_percent(const char *s, int *out)
{
    if (strcmp(s, "off") == 0) {
        *out = -1;
        return true;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || v > INT_MAX || v < INT_MIN) return false;
    *out = v < 0 ? -1 : (int)v;
    return true;
}

void tc_config_default(tc_config *cfg)
{
    *cfg = (tc_config){.gc_percent = 100,
                       .memory_limit = INT64_MAX,
                       .debug = NULL,
                       .stop_signal = SIGPWR /* Threads: see docs/threads.md */};
    const char *v = getenv("TC_GOGC");
    if (v != NULL && !parse_percent(v, &cfg->gc_percent))
        tc_warn("TC_GOGC=%s is not a percentage or \"off\"; using %d", v, cfg->gc_percent);
    v = getenv("TC_MEMLIMIT");
    if (v != NULL && !init_parse_bytes(v, &cfg->memory_limit))
        tc_warn("TC_MEMLIMIT=%s is not a byte count (e.g. 512MiB); no limit", v);
}

void tc_init(const tc_config *cfg)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&init_state, &expected, 1))
        tc_throw("tc_init called twice");
    if (cfg != NULL)
        init_config = *cfg;
    else
        tc_config_default(&init_config);
    debug_parse(getenv("TC_DEBUG"));
    debug_parse(init_config.debug);
    pacer_init(init_config.gc_percent, init_config.memory_limit);
    mheap_init(); /* heap (mheap.c) */
    gc_init();
    /* The stop signal's handler, then the initial thread. */
    threads_init(init_config.stop_signal);
    gc_install_fork_handlers(); /* last: its prepare handler runs first */
    if (tc_thread_attach() != 0)
        tc_throw("tc_init: cannot attach the initial thread (errno %d)", errno);
    atomic_store_explicit(&init_state, 2, memory_order_release);
}
