/*
 * gc.c — the collection cycle: when to collect, and the steps of a cycle.
 *
 * This collector marks with the world stopped (in parallel) and sweeps
 * concurrently. A cycle, for the thread that runs it:
 *
 *   1. Finish sweeping the last cycle (concurrently: other threads run), so
 *      every span is swept and no sweeper is in the middle of one.
 *   2. Stop the world (threads.c). Every other attached thread is parked at
 *      a safepoint or in a blocking region, never inside a runtime critical
 *      section, so no allocator lock is held and no span is half-updated.
 *   3. Sweep termination: release every thread's mcache (their spans go back
 *      to the mcentrals, tiny blocks are dropped), rotate the gcBits epoch.
 *   4. Mark: build the root jobs (registered roots, every thread's stack and
 *      saved registers), then this thread and gcmarkers-1 worker threads
 *      claim root jobs and drain the grey set together, stealing through the
 *      global work lists, until all are idle with no work left.
 *   5. Mark termination: with gccheckmark, re-mark single-threaded against
 *      a second bitmap and report anything the first mark missed; then
 *      heap_live = bytes marked, sweepgen += 2 (every span becomes unswept at
 *      once), the pacer's next goal.
 *   6. Start the world, wake the background sweeper, print the gctrace line.
 *
 * Collections do not overlap: gc_mu serialises them. A thread that wants a
 * collection while another runs one waits for gc_mu inside a blocking region
 * (so the running cycle's stop does not wait for it) and then re-checks
 * whether it still needs one.
 *
 * Mark termination detection (Go's getfull, translated): a marker out of
 * work increments nwait and polls; it leaves the wait (decrementing nwait)
 * whenever the global full list has work. It ends when it reads an empty full
 * list, no unclaimed root job, and then nwait == nproc: at that moment no
 * marker holds work, since a marker only counts itself waiting with empty
 * local buffers, and one that takes work from the list first un-counts
 * itself.
 *
 * Statistics (stats_gc below) are written by the collecting thread under
 * gc_mu and read by tc_read_stats under gc_mu.
 *
 * Locks (runtime.h's order): gc_mu is taken before everything else the
 * cycle takes (the registry, mcentral and heap locks through the steps
 * above). It is a plain pthread mutex waited on in a blocking region.
 */
#include <string.h>

#include "gc.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"
#include "gcwork.h"
#include "init.h"
#include "mark.h"
#include "markroot.h"
#include "mheap.h"
#include "pacer.h"
#include "stats.h"
#include "sweep.h"
#include "sys.h"
#include "threads.h"

_Atomic int gc_phase;
_Atomic uint64_t gc_heap_live;

static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t ncycles;

/* ---- time ------------------------------------------------------------------ */

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static uint64_t mono_ns(void) { return now_ns(CLOCK_MONOTONIC); }
static uint64_t thread_cpu_ns(void) { return now_ns(CLOCK_THREAD_CPUTIME_ID); }

static uint64_t start_ns; /* tc_init's time: gctrace's and the stats' origin */

static void gc_atfork_child(void);

void gc_init(void)
{
    start_ns = mono_ns();
    pthread_atfork(NULL, NULL, gc_atfork_child);
}

/* ---- internal threads ------------------------------------------------------- */

int gc_spawn_thread(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(t, attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- parallel marking --------------------------------------------------------- */

#define MAX_MARKERS 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    uint64_t gen; /* bumped to start a mark; under mu */
    int nrunning; /* helpers still marking; under mu */
    int nhelpers; /* helper threads started so far; under mu */
    int nproc;    /* markers in this mark, the caller included */
    _Atomic int nwait;
    gcwork gcw[MAX_MARKERS];
    _Atomic uint64_t cpu_ns; /* markers' CPU time in this mark */
} mk = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .start_cv = PTHREAD_COND_INITIALIZER,
        .done_cv = PTHREAD_COND_INITIALIZER};

static void cpu_relax(void) { __builtin_ia32_pause(); }

static void mark_worker_run(gcwork *w)
{
    uint64_t t0 = thread_cpu_ns();
    for (;;) {
        while (markroot_claim_and_run(w)) {}
        mark_drain(w);
        atomic_fetch_add_explicit(&mk.nwait, 1, memory_order_acq_rel);
        bool done = false;
        for (unsigned spins = 0;; spins++) {
            if (work_full_nonempty()) {
                atomic_fetch_sub_explicit(&mk.nwait, 1, memory_order_acq_rel);
                break;
            }
            if (!markroot_remaining() &&
                atomic_load_explicit(&mk.nwait, memory_order_acquire) == mk.nproc) {
                done = true;
                break;
            }
            if (spins < 64)
                cpu_relax();
            else
                sched_yield();
        }
        if (done) break;
    }
    gcw_dispose(w);
    atomic_fetch_add_explicit(&mk.cpu_ns, thread_cpu_ns() - t0, memory_order_relaxed);
}

static void *mark_helper(void *arg)
{
    gcwork *w = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&mk.mu);
        while (mk.gen == seen) pthread_cond_wait(&mk.start_cv, &mk.mu);
        seen = mk.gen;
        /* Helpers beyond this mark's count sit it out. */
        bool join = (w - mk.gcw) < mk.nproc;
        pthread_mutex_unlock(&mk.mu);
        if (join) mark_worker_run(w);
        pthread_mutex_lock(&mk.mu);
        if (--mk.nrunning == 0) pthread_cond_signal(&mk.done_cv);
        pthread_mutex_unlock(&mk.mu);
    }
    return NULL;
}

/* In a forked child only the forking thread exists: the helper markers and
 * the background sweeper are gone (a mark would wait for them forever), and
 * their locks may have been held by them. The child starts no thread (POSIX
 * allows a child of a threaded process only async-signal-safe calls, and
 * TSan refuses): it marks alone and sweeps lazily. */
static bool forked_child;

static void gc_atfork_child(void)
{
    pthread_mutex_init(&gc_mu, NULL);
    pthread_mutex_init(&mk.mu, NULL);
    pthread_cond_init(&mk.start_cv, NULL);
    pthread_cond_init(&mk.done_cv, NULL);
    mk.nhelpers = 0;
    mk.nrunning = 0;
    forked_child = true;
    sweep_atfork_child();
}

static int markers_wanted(void)
{
    if (forked_child) return 1;
    int n = tc_debug.gcmarkers;
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    return n > MAX_MARKERS ? MAX_MARKERS : n;
}

/* Mark from the prepared root jobs with nproc markers; the caller is marker 0. */
static void mark_parallel(int nproc)
{
    pthread_mutex_lock(&mk.mu);
    while (mk.nhelpers < nproc - 1) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (gc_spawn_thread(&t, &attr, mark_helper, &mk.gcw[mk.nhelpers + 1]) != 0) {
            pthread_attr_destroy(&attr);
            break; /* fewer markers: still correct */
        }
        pthread_attr_destroy(&attr);
        mk.nhelpers++;
    }
    if (nproc > mk.nhelpers + 1) nproc = mk.nhelpers + 1;
    mk.nproc = nproc;
    atomic_store(&mk.nwait, 0);
    atomic_store(&mk.cpu_ns, 0);
    mk.nrunning = mk.nhelpers;
    mk.gen++;
    pthread_cond_broadcast(&mk.start_cv);
    pthread_mutex_unlock(&mk.mu);

    mark_worker_run(&mk.gcw[0]);

    pthread_mutex_lock(&mk.mu);
    while (mk.nrunning != 0) pthread_cond_wait(&mk.done_cv, &mk.mu);
    pthread_mutex_unlock(&mk.mu);
}

static uint64_t collect_marked_bytes(void)
{
    uint64_t b = 0;
    for (int i = 0; i < MAX_MARKERS; i++) {
        b += mk.gcw[i].bytes_marked;
        mk.gcw[i].bytes_marked = 0;
        mk.gcw[i].scan_work = 0;
    }
    return b;
}

/* ---- statistics ---------------------------------------------------------------- */

#define PAUSE_RING 256

static struct {
    uint64_t num_gc, num_forced;
    uint64_t pause_total_ns;
    uint64_t pause_ns[PAUSE_RING], pause_end_ns[PAUSE_RING];
    uint64_t pause_hist[TC_PAUSE_HIST_BUCKETS];
    uint64_t heap_marked;
    uint64_t last_gc_ns;
    uint64_t gc_cpu_ns;
    uint64_t stop_last_ns, stop_max_ns;
} stats_gc;

static void record_pause(uint64_t ns, uint64_t end)
{
    stats_gc.pause_ns[stats_gc.num_gc % PAUSE_RING] = ns;
    stats_gc.pause_end_ns[stats_gc.num_gc % PAUSE_RING] = end - start_ns;
    stats_gc.pause_total_ns += ns;
    unsigned b = 0;
    for (uint64_t us = ns / 1000; us != 0 && b + 1 < TC_PAUSE_HIST_BUCKETS; us >>= 1) b++;
    stats_gc.pause_hist[b]++;
}

void gc_read_stats(tc_stats *out)
{
    pthread_mutex_lock(&gc_mu);
    out->num_gc = stats_gc.num_gc;
    out->num_forced_gc = stats_gc.num_forced;
    out->pause_total_ns = stats_gc.pause_total_ns;
    /* The ring as Go's PauseNs: entry (num_gc + 255) % 256 is the latest. */
    memcpy(out->pause_ns, stats_gc.pause_ns, sizeof out->pause_ns);
    memcpy(out->pause_end_ns, stats_gc.pause_end_ns, sizeof out->pause_end_ns);
    memcpy(out->pause_hist, stats_gc.pause_hist, sizeof out->pause_hist);
    out->heap_marked = stats_gc.heap_marked;
    out->next_gc = pacer_goal();
    out->last_gc_ns = stats_gc.last_gc_ns == 0 ? 0 : stats_gc.last_gc_ns - start_ns;
    out->heap_live = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    uint64_t elapsed = mono_ns() - start_ns;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    out->gc_cpu_fraction = elapsed == 0 ? 0.0
                                        : (double)stats_gc.gc_cpu_ns /
                                              ((double)elapsed * (double)(ncpu > 0 ? ncpu : 1));
    out->stop_last_ns = stats_gc.stop_last_ns;
    out->stop_max_ns = stats_gc.stop_max_ns;
    pthread_mutex_unlock(&gc_mu);
}

uint64_t gc_cycles(void) { return atomic_load_explicit(&ncycles, memory_order_acquire); }

/* ---- the cycle ----------------------------------------------------------------- */

typedef struct cycle_times {
    uint64_t t_start;         /* the cycle began (sweep_finish) */
    uint64_t t_stop;          /* the stop was requested: the pause begins */
    uint64_t t_stopped;       /* sweep termination done: marking begins */
    uint64_t t_marked, t_end; /* marking done; the world restarts */
    uint64_t stw1_cpu, mark_cpu, stw2_cpu;
    uint64_t heap0, heap2, goal, roots;
    int nproc;
    uint64_t stop_ns;
    size_t nthreads;
} cycle_times;

static void release_all_mcaches(void)
{
    for (mcache *c = mheap_.all_mcaches; c != NULL; c = c->next_all) mcache_release_all(c);
}

static void print_gctrace(uint64_t n, const cycle_times *t, gc_reason why)
{
    double ms = 1e-6;
    const double MB = 1048576.0;
    uint64_t elapsed = t->t_end - start_ns;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double pct = elapsed == 0 ? 0
                              : 100.0 * (double)stats_gc.gc_cpu_ns /
                                    ((double)elapsed * (double)(ncpu > 0 ? ncpu : 1));
    fprintf(stderr,
            "gc %" PRIu64 " @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.3f+0/%.3f/0+%.3f ms cpu, "
            "%.0f->%.0f->%.0f MB, %.0f MB goal, %.0f MB roots, %d P, %zu threads stopped in "
            "%.3f ms%s\n",
            n, (double)(t->t_start - start_ns) * 1e-9, pct, (double)(t->t_stopped - t->t_stop) * ms,
            (double)(t->t_marked - t->t_stopped) * ms, (double)(t->t_end - t->t_marked) * ms,
            (double)t->stw1_cpu * ms, (double)t->mark_cpu * ms, (double)t->stw2_cpu * ms,
            (double)t->heap0 / MB, (double)t->heap0 / MB, (double)t->heap2 / MB,
            (double)t->goal / MB, (double)t->roots / MB, t->nproc, t->nthreads,
            (double)t->stop_ns * ms, why == GC_TRIGGER_FORCED ? " (forced)" : "");
}

static void count_thread(tc_thread *t, void *arg)
{
    (void)t;
    ++*(size_t *)arg;
}

static void run_cycle(gc_reason why)
{
    cycle_times t = {0};
    t.t_start = mono_ns();

    /* 1. The last cycle's sweep, finished while the world runs. */
    sweep_finish();

    /* 2-3. Stop; sweep termination. */
    uint64_t cpu0 = thread_cpu_ns();
    t.t_stop = mono_ns();
    threads_stop_world("gc");
    sweep_close_gate();
    t.stop_ns = threads_last_stop_ns();
    threads_for_each(count_thread, &t.nthreads);
    release_all_mcaches();
    if (!sweep_done()) tc_throw("gc: sweeping unfinished when the world stopped");
    gcbits_next_epoch();
    t.heap0 = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    atomic_store(&gc_phase, GC_MARK);
    t.t_stopped = mono_ns();
    t.stw1_cpu = thread_cpu_ns() - cpu0;

    /* 4. Mark. */
    markroot_prepare();
    t.nproc = markers_wanted();
    mark_parallel(t.nproc);
    t.nproc = mk.nproc;
    t.mark_cpu = atomic_load(&mk.cpu_ns);
    work_check(true);
    t.t_marked = mono_ns();
    cpu0 = thread_cpu_ns();

    /* 5. Mark termination. */
    atomic_store(&gc_phase, GC_MARKTERM);
    uint64_t marked = collect_marked_bytes();
    if (tc_debug.gccheckmark) {
        checkmark_begin();
        markroot_rewind();
        gcwork *w = &mk.gcw[0];
        while (markroot_claim_and_run(w)) {}
        mark_drain(w);
        gcw_dispose(w);
        work_check(true);
        checkmark_end();
        collect_marked_bytes();
    }
    t.roots = markroot_bytes();
    markroot_done();
    atomic_store_explicit(&gc_heap_live, marked, memory_order_relaxed);
    atomic_fetch_add_explicit(&mheap_.sweepgen, 2, memory_order_relaxed);
    sweep_open_gate();
    atomic_store(&gc_phase, GC_OFF);
    uint64_t sys_total = stats_sys_total();
    pacer_inputs in = {.heap_marked = marked,
                       .root_bytes = t.roots,
                       .overhead = sys_total > marked ? sys_total - marked : 0};
    pacer_commit(&in);
    t.heap2 = marked;
    t.goal = pacer_goal();
    t.t_end = mono_ns();
    t.stw2_cpu = thread_cpu_ns() - cpu0;

    uint64_t n = atomic_load(&ncycles) + 1;
    stats_gc.heap_marked = marked;
    record_pause(t.t_end - t.t_stop, t.t_end);
    stats_gc.num_gc = n;
    if (why == GC_TRIGGER_FORCED) stats_gc.num_forced++;
    stats_gc.last_gc_ns = t.t_end;
    stats_gc.gc_cpu_ns += t.stw1_cpu + t.mark_cpu + t.stw2_cpu;
    stats_gc.stop_last_ns = t.stop_ns;
    if (t.stop_ns > stats_gc.stop_max_ns) stats_gc.stop_max_ns = t.stop_ns;
    atomic_store_explicit(&ncycles, n, memory_order_release);

    /* 6. Let the world go. (No stdio before: a parked thread may hold its lock.) */
    threads_start_world();
    sweep_start_background();
    if (tc_debug.gctrace) print_gctrace(n, &t, why);
}

static bool heap_needs_gc(void)
{
    return atomic_load_explicit(&gc_heap_live, memory_order_relaxed) >= pacer_trigger();
}

void gc_collect(gc_reason why)
{
    if (tc_unlikely(tc_critical_depth != 0))
        tc_throw("gc: collection requested inside a runtime critical section (depth %d)",
                 (int)tc_critical_depth);
    if (thread_self() == NULL && tc_thread_attach() != 0)
        tc_throw("gc: cannot attach the collecting thread");
    /* No pthread_cancel inside a collection: the markers' rendezvous
     * (pthread_cond_wait) and gctrace's stdio are cancellation points, and a
     * thread cancelled there would unwind with the world stopped and gc_mu
     * held. A pending cancel acts at the thread's next cancellation point. */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    if (pthread_mutex_trylock(&gc_mu) != 0) {
        tc_blocking_enter();
        pthread_mutex_lock(&gc_mu);
        tc_blocking_leave();
        if (why == GC_TRIGGER_HEAP && !heap_needs_gc()) {
            pthread_mutex_unlock(&gc_mu);
            pthread_setcancelstate(cancel_state, NULL);
            return;
        }
    }
    run_cycle(why);
    pthread_mutex_unlock(&gc_mu);
    pthread_setcancelstate(cancel_state, NULL);
}

void gc_maybe_trigger(void)
{
    if (tc_unlikely(heap_needs_gc()) && pacer_trigger() != PACER_GOAL_NONE)
        gc_collect(GC_TRIGGER_HEAP);
}

static __thread int stress_count;

void gc_stress_tick(void)
{
    if (++stress_count >= tc_debug.gcstress) {
        stress_count = 0;
        gc_collect(GC_TRIGGER_STRESS);
    }
}

void tc_gc(void)
{
    gc_collect(GC_TRIGGER_FORCED);
    sweep_finish();
}
