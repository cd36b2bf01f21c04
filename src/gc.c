/*
 * gc.c — the collection cycle: when to collect, and the steps of a cycle.
 *
 * The collector marks concurrently with a snapshot-at-the-beginning
 * deletion barrier (barrier.c, docs/gc.md) and sweeps concurrently. A
 * cycle, run by the coordinator thread (an internal thread, never attached):
 *
 *   0. Finish sweeping the last cycle, while every thread runs.
 *   1. Stop #1, sweep termination: stop the world; drop every thread cache's
 *      tiny block (new tiny objects must come from black blocks); rotate the
 *      mark-bit arenas; turn the write barrier and allocate-black on; scan
 *      every thread's stack and registers and every plain root (the
 *      snapshot: those are written without barriers). Start the world.
 *   2. Concurrent mark: background mark workers, aiming at 25% of the CPUs
 *      (dedicated workers, or one fractional worker that sleeps off its
 *      excess) plus, by default, the CPUs no mutator wants (idle marking:
 *      more workers when threads sat idle at stop #1, and each worker's share
 *      re-counted as it goes, so that returning mutators get their CPUs
 *      back within a slice), scan the barriered roots, shade the barrier buffers the
 *      mutators queued, and drain the grey set, banking their scan work as
 *      credit; allocating threads pay for their allocation with that credit
 *      or, when it runs out, with short mark assists (below); write barriers
 *      record overwritten pointers into per-thread buffers. A worker out of
 *      work blocks on a condition variable (woken when work is queued).
 *   3. Stop #2, mark termination, when the workers find no work: stop the
 *      world; shade every thread's barrier buffer and the queued ones, and
 *      hand every grey object to the global lists; rescan the
 *      stacks and registers of threads the stop signal caught (a TC_STORE
 *      may sit between its store and its barrier there); drain what is left
 *      with every marker; with gccheckmark, verify the mark against a full
 *      stop-the-world re-mark; release every thread cache; heap_live = bytes
 *      marked; sweepgen += 2 (every span becomes unswept at once); barrier
 *      off; commit the pacer's next goal and trigger. Start the world, wake
 *      the background sweeper, print the gctrace line.
 *
 * TC_DEBUG=gcstoptheworld=1 runs Collector I instead: a single stop in which
 * every root is scanned and the heap marked by all markers in parallel
 * (correct for programs that never use barriers); =2 also sweeps inside the
 * stop.
 *
 * Who starts a cycle: an allocation whose slow path finds heap_live past
 * the trigger asks the coordinator and goes on (the cycle runs beside it);
 * tc_gc and gcstress ask and wait, in a blocking region, for the cycle to
 * end. Cycles never overlap: the coordinator runs one at a time.
 *
 * Mark termination detection (Go's getfull): a marker out of work counts
 * itself waiting and polls (concurrently: blocks, with a 1 ms backstop); it
 * leaves the wait whenever the global full list or the barrier queue has
 * work. Marking ends when a marker reads an empty full list, no
 * unclaimed root job, and then nwait == nproc. Mutators' assists and
 * barrier flushes hand their work to the global list before they return,
 * so whatever they produce after the workers finish is found by stop #2.
 *
 * Locks (runtime.h's order): co.mu (the coordinator's mailbox) and mk.mu
 * (the mark workers' start/done handshake and their sleep) are plain
 * pthread mutexes. A mutator takes co.mu, and waits on its condition, only
 * inside a blocking region. mk.mu is a leaf held for a few instructions
 * (never across a stop or a wait other than its own condition's); a
 * mutator takes it, inside a critical section, only to wake sleeping
 * workers (gc_markers_wake), which holds no other lock. Statistics
 * (stats_gc) are written and read under stats_mu, a leaf that the collector
 * takes with the world stopped: a mutator takes it only inside a critical
 * section (gc_read_stats), so no parked thread holds it.
 */
#include "gc.h"

#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
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
void (*volatile gc_test_after_snapshot)(void);
_Atomic uint64_t gc_heap_live;
_Atomic uint64_t gc_exited_marked;

static _Atomic uint64_t ncycles;

/* ---- time ------------------------------------------------------------------ */

/* The calling thread's CPU time: a system call, not vDSO (~0.3 us). */
static uint64_t thread_cpu_ns(void) { return tc_clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static uint64_t start_ns; /* tc_init's time: gctrace's and the stats' origin */
static int ncpu = 1;

void gc_init(void)
{
    start_ns = tc_mono_ns();
    /* The CPUs this process may run on (as Go's GOMAXPROCS default): under
     * taskset or a cpuset, the online count would overstate them. */
    cpu_set_t set;
    long c = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    ncpu = c > 0 ? (int)c : 1;
    gc_slow_timing = tc_debug.gctrace >= 2;
}

/* ---- internal threads ------------------------------------------------------- */

int gc_spawn_thread(void *(*fn)(void *), void *arg, const char *name)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&t, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0) pthread_setname_np(t, name); /* seen in top -H, perf and gdb; best effort */
    return rc;
}

/* ---- mark assists and background credit ---------------------------------------- */

/*
 * Go's assist scheme (gcAssistAlloc, gcFlushBgCredit, the 1.18 pacer's
 * revise), translated:
 *
 *   - Debt. An allocating thread owes scan work for every byte it takes on
 *     while marking runs: bytes x work_per_byte, where
 *         work_per_byte = (expected scan work - scan work done)
 *                         / (heap goal - heap_live),
 *     recomputed at every assist from the cycle's published counters. The
 *     expectation is the last cycle's total scan work; once the work done
 *     passes it (the live heap grew), the expectation becomes the whole
 *     heap as it was at stop #1 (later objects are black) and the goal is
 *     extrapolated toward the hard goal (Go's
 *     (1 + GOGC/100) x goal; the memory limit caps it at goal x 1.1).
 *   - Credit. Background workers publish their scan work in slices of
 *     BG_SLICE into bg_credit. A thread in debt first steals from it (its
 *     debt plus up to ASSIST_OVERSTEAL banked ahead, so that the next few
 *     refills need no atomic); only what credit cannot cover is paid with
 *     its own scan work. When the workers keep up, assists scan nothing.
 *   - Batching and bounds. A thread scans only once its debt passes
 *     ASSIST_THRESHOLD (smaller debts wait: the workers' credit usually
 *     arrives first; Go's gcOverAssistWork plays the same role), and one
 *     assist scans at most ASSIST_MAX_CHUNK (about 30 us of scanning), the
 *     rest staying as debt for its next allocation slow path. The bound is
 *     what keeps an allocation's latency short (the allocation that pays
 *     is the one a latency percentile sees); its cost is that the heap can
 *     run past the goal when the workers fall far behind. Once heap_live is
 *     past the goal the bound rises to ASSIST_OVER_CHUNK: memory first.
 *     (The pacer's overshoot statistic reports how far a cycle ran over.)
 *   - No work. An assist that finds no grey object while in debt means the
 *     remaining work sits in the workers' local buffers: the thread yields
 *     the CPU once (the worker on the same CPU gets on with it) and keeps
 *     its debt, which the workers' credit pays later; it never spins.
 */

#define BG_SLICE          ((uint64_t)32 << 10)
#define ASSIST_THRESHOLD  ((int64_t)64 << 10)
#define ASSIST_MAX_CHUNK  ((int64_t)4 << 10)
#define ASSIST_OVER_CHUNK ((int64_t)64 << 10)
#define ASSIST_OVERSTEAL  ((int64_t)64 << 10)

/* The cycle's assist state. The plain fields are written at stop #1 with
 * the world stopped and only read while it runs (the stop orders them).
 * The atomics are counters, relaxed, except bg_credit: workers add to it
 * with release and assists take from it with a CAS loop; a stale read only
 * makes an assist steal less or scan a little more, never lose credit. All
 * are reset at the next stop #1. */
static struct {
    uint64_t cycle;               /* ncycles when the parameters were set (stop #1) */
    uint64_t expected;            /* scan work the cycle is expected to need */
    uint64_t goal;                /* heap goal the cycle paces to (PACER_GOAL_NONE: no assists) */
    uint64_t hard_goal;           /* the most the goal may be extrapolated to */
    uint64_t triggered;           /* heap_live when the cycle began */
    _Atomic int64_t bg_credit;    /* workers' scan work not yet claimed by assists */
    _Atomic uint64_t scan_done;   /* scan work published this cycle (workers, assists) */
    _Atomic uint64_t assist_work; /* scan work done by assists this cycle */
    _Atomic uint64_t stolen;      /* debt paid from the workers' credit this cycle */
    _Atomic uint64_t nassists;    /* assists that scanned this cycle */
} ap;

static uint64_t last_scan_work; /* total scan work of the last concurrent mark */
static _Atomic uint64_t assist_ns_total;

/* Set the cycle's assist parameters (stop #1). */
static void assist_begin(uint64_t heap0, uint64_t goal)
{
    ap.cycle = atomic_load_explicit(&ncycles, memory_order_relaxed);
    ap.expected = last_scan_work != 0 ? last_scan_work : heap0;
    if (ap.expected < ((uint64_t)1 << 20)) ap.expected = (uint64_t)1 << 20;
    ap.goal = goal;
    ap.triggered = heap0;
    uint64_t hard = goal;
    if (goal != PACER_GOAL_NONE) {
        int pct = pacer_gc_percent();
        if (pacer_memory_limit() != INT64_MAX || pct < 0)
            hard = goal + goal / 10;
        else
            hard = goal + (uint64_t)((double)goal * pct / 100.0);
    }
    ap.hard_goal = hard;
    atomic_store(&ap.bg_credit, 0);
    atomic_store(&ap.scan_done, 0);
    atomic_store(&ap.assist_work, 0);
    atomic_store(&ap.stolen, 0);
    atomic_store(&ap.nassists, 0);
}

/* A background worker's slice of scan work: bank it for the assists. */
static void assist_flush_bg_credit(uint64_t work)
{
    if (work == 0) return;
    atomic_fetch_add_explicit(&ap.scan_done, work, memory_order_relaxed);
    atomic_fetch_add_explicit(&ap.bg_credit, (int64_t)work, memory_order_release);
}

/* Scan work owed per byte allocated, now (Go's revise). */
static double assist_work_per_byte(void)
{
    if (ap.goal == PACER_GOAL_NONE) return 0.0;
    return pacer_assist_work_per_byte(
        ap.expected, atomic_load_explicit(&ap.scan_done, memory_order_relaxed), ap.triggered,
        ap.goal, ap.hard_goal, atomic_load_explicit(&gc_heap_live, memory_order_relaxed));
}

/* ---- mark workers -------------------------------------------------------------- */

#define MAX_MARKERS      64
#define IDLE_MARKERS_MAX 8 /* background workers idle marking may start, at most */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    uint64_t gen;    /* bumped to start a mark; under mu */
    int nrunning;    /* helpers still marking; under mu */
    int nhelpers;    /* helper threads started so far; under mu */
    int nproc;       /* markers in this mark, the caller included */
    bool concurrent; /* paced background marking, world running */
    double util;     /* concurrent: each worker's CPU share, at least */
    bool idle;       /* concurrent: workers also take the CPUs mutators leave idle */
    uint64_t t0;     /* concurrent: when the phase began */
    _Atomic int nwait;
    int nsleeping;              /* concurrent markers blocked on work_cv; under mu */
    _Atomic int nsleeping_hint; /* markers about to block or blocked (lock-free check) */
    pthread_cond_t work_cv;     /* concurrent markers wait here for work */
    gcwork gcw[MAX_MARKERS];
    _Atomic uint64_t cpu_ns; /* markers' CPU time in this mark */
} mk = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .start_cv = PTHREAD_COND_INITIALIZER,
        .done_cv = PTHREAD_COND_INITIALIZER,
        .work_cv = PTHREAD_COND_INITIALIZER};

static void cpu_relax(void) { __builtin_ia32_pause(); }

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

/* A concurrent worker's CPU share now: its part of the 25%, or with idle
 * marking its part of the CPUs that no mutator wants at the moment, if that
 * is more. Asked again at every pace(), so that workers started for idle
 * CPUs give them back within a slice once mutators return (a thread that
 * leaves a blocking region, or one that sat in request_cycle's when the
 * world stopped): the kernel cannot be told to prefer the mutators. */
static double worker_share(void)
{
    if (!mk.idle) return mk.util;
    double u = (double)(ncpu - threads_count_running()) / mk.nproc;
    return u > 1.0 ? 1.0 : u < mk.util ? mk.util : u;
}

/* A concurrent worker's account: CPU time used against CPU time allowed,
 * the share integrated over wall time since the mark began. */
typedef struct pacing {
    uint64_t cpu0, wall;
    double allowed;
} pacing;

/* A concurrent worker above its allowance sleeps off the excess. */
static void pace(pacing *p)
{
    uint64_t now = tc_mono_ns();
    double share = worker_share();
    p->allowed += share * (double)(now - p->wall);
    p->wall = now;
    uint64_t cpu = thread_cpu_ns() - p->cpu0;
    if ((double)cpu > p->allowed + 200000.0) {
        uint64_t excess = (uint64_t)(((double)cpu - p->allowed) / share);
        sleep_ns(excess < 2000000 ? excess : 2000000);
    }
}

/* Concurrent markers out of work block here until work appears, the mark
 * ends, or a millisecond passes (a backstop: whoever publishes work
 * without calling markers_wake is found by the next poll). */
static void markers_sleep(void)
{
    pthread_mutex_lock(&mk.mu);
    /* Checked under mu: a waker that published work and then took mu
     * before us is seen here; one that takes it after us finds nsleeping. */
    if (work_full_nonempty() || wbq_nonempty() || atomic_load(&mk.nwait) == mk.nproc) {
        pthread_mutex_unlock(&mk.mu);
        return;
    }
    mk.nsleeping++;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&mk.work_cv, &mk.mu, &ts);
    mk.nsleeping--;
    pthread_mutex_unlock(&mk.mu);
}

void gc_markers_wake(void)
{
    /* The caller published its work with an atomic read-modify-write (a
     * full barrier on x86-64), and the sleeper announces itself with one
     * before its last look for work: either it sees the work or we see
     * it. A wake-up lost anyway (other memory models) costs at most the
     * sleeper's millisecond backstop, never correctness: termination is
     * decided by nwait, not by wake-ups. */
    if (atomic_load_explicit(&mk.nsleeping_hint, memory_order_seq_cst) == 0) return;
    pthread_mutex_lock(&mk.mu);
    if (mk.nsleeping != 0) pthread_cond_broadcast(&mk.work_cv);
    pthread_mutex_unlock(&mk.mu);
}

static void mark_worker_run(gcwork *w)
{
    uint64_t cpu0 = thread_cpu_ns();
    pacing pc = {.cpu0 = cpu0, .wall = mk.t0};
    for (;;) {
        while (markroot_claim_and_run(w)) {}
        if (mk.concurrent) {
            /* In slices, so the pace is kept and the assists get credit as
             * the work is done. A worker that leaves work on the global
             * list wakes the sleeping ones. */
            for (;;) {
                /* The mutators' full barrier buffers first: shading them
                 * is the markers' part of the barrier. */
                while (wbq_shade_one(w)) {}
                uint64_t done = mark_drain_n(w, BG_SLICE);
                if (done == 0 && !wbq_nonempty()) break;
                assist_flush_bg_credit(done);
                if (work_full_nonempty()) gc_markers_wake();
                pace(&pc);
            }
        } else {
            while (wbq_shade_one(w)) {}
            mark_drain(w);
        }
        gcw_dispose(w);
        atomic_fetch_add_explicit(&mk.nwait, 1, memory_order_acq_rel);
        bool done = false;
        for (unsigned spins = 0;; spins++) {
            if (work_full_nonempty() || wbq_nonempty()) {
                atomic_fetch_sub_explicit(&mk.nwait, 1, memory_order_acq_rel);
                break;
            }
            if (!markroot_remaining() &&
                atomic_load_explicit(&mk.nwait, memory_order_acquire) == mk.nproc) {
                done = true;
                break;
            }
            if (spins < 64) {
                cpu_relax();
            } else if (!mk.concurrent) {
                sched_yield(); /* world stopped: the CPUs are the markers' */
            } else {
                atomic_fetch_add_explicit(&mk.nsleeping_hint, 1, memory_order_seq_cst);
                markers_sleep();
                atomic_fetch_sub_explicit(&mk.nsleeping_hint, 1, memory_order_relaxed);
            }
        }
        if (done) {
            if (mk.concurrent) gc_markers_wake(); /* the others see done */
            break;
        }
    }
    atomic_fetch_add_explicit(&mk.cpu_ns, thread_cpu_ns() - cpu0, memory_order_relaxed);
}

static void *mark_helper(void *arg)
{
    gcwork *w = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&mk.mu);
        while (mk.gen == seen) pthread_cond_wait(&mk.start_cv, &mk.mu);
        seen = mk.gen;
        bool join = (w - mk.gcw) < mk.nproc; /* helpers beyond the count sit out */
        pthread_mutex_unlock(&mk.mu);
        if (join) mark_worker_run(w);
        pthread_mutex_lock(&mk.mu);
        if (--mk.nrunning == 0) pthread_cond_signal(&mk.done_cv);
        pthread_mutex_unlock(&mk.mu);
    }
    return NULL;
}

static int markers_wanted(void)
{
    int n = tc_debug.gcmarkers > 0 ? tc_debug.gcmarkers : ncpu;
    return n > MAX_MARKERS ? MAX_MARKERS : n;
}

/* Mark from the prepared root jobs with nproc markers, the calling thread
 * being marker 0. concurrent: the world runs; each marker keeps to util of
 * a CPU, or with idle to more when mutators leave CPUs idle (worker_share). */
static int mark_run(int nproc, bool concurrent, double util, bool idle)
{
    pthread_mutex_lock(&mk.mu);
    while (mk.nhelpers < nproc - 1 && mk.nhelpers + 1 < MAX_MARKERS) {
        if (gc_spawn_thread(mark_helper, &mk.gcw[mk.nhelpers + 1], "tc-mark") != 0)
            break; /* fewer markers: still correct */
        mk.nhelpers++;
    }
    if (nproc > mk.nhelpers + 1) nproc = mk.nhelpers + 1;
    mk.nproc = nproc;
    mk.concurrent = concurrent;
    mk.util = util;
    mk.idle = idle;
    mk.t0 = tc_mono_ns();
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
    return nproc;
}

static uint64_t cycle_scan_work; /* markers' scan work this cycle (take_marked_bytes) */

static uint64_t take_marked_bytes(void)
{
    uint64_t b = 0;
    for (int i = 0; i < MAX_MARKERS; i++) {
        b += mk.gcw[i].bytes_marked;
        cycle_scan_work += mk.gcw[i].scan_work;
        mk.gcw[i].bytes_marked = 0;
        mk.gcw[i].scan_work = 0;
    }
    return b;
}

/* ---- mutators' part, with the world stopped ------------------------------------- */

typedef struct mutator_totals {
    uint64_t marked; /* bytes their assists and flushes marked, and allocated black */
    uint64_t assist_ns;
} mutator_totals;

static void drop_barrier_buffer(tc_thread *t, void *arg)
{
    (void)arg;
    if (t->gcw != NULL) wbuf_drop(t->gcw);
}

static void flush_mutator(tc_thread *t, void *arg)
{
    mutator_totals *tot = arg;
    mutator_gc *m = t->gcw;
    if (m == NULL) return;
    wbuf_flush(m);
    tot->marked += m->w.bytes_marked;
    m->w.bytes_marked = 0;
    m->w.scan_work = 0;
    tot->assist_ns += m->assist_ns;
    m->assist_ns = 0;
}

static uint64_t take_black_bytes(void)
{
    uint64_t b = 0;
    for (mcache *c = mheap_.all_mcaches; c != NULL; c = c->next_all) {
        b += c->black_bytes;
        c->black_bytes = 0;
    }
    return b;
}

static void drop_tiny_blocks(void)
{
    for (mcache *c = mheap_.all_mcaches; c != NULL; c = c->next_all) {
        c->tiny = 0;
        c->tiny_offset = 0;
    }
}

static void release_all_mcaches(void)
{
    for (mcache *c = mheap_.all_mcaches; c != NULL; c = c->next_all) mcache_release_all(c);
}

/* ---- mark assists ---------------------------------------------------------------- */

void gc_assist(uint64_t bytes)
{
    tc_thread *t = thread_self();
    if (t == NULL || bytes == 0) return;
    mutator_gc *m = mutator_gc_of(t);
    if (m->assist_cycle != ap.cycle) {
        m->assist_cycle = ap.cycle;
        m->assist_credit = 0;
    }
    m->assist_credit -= (int64_t)((double)bytes * assist_work_per_byte());
    if (m->assist_credit >= 0) return;

    /* Steal the workers' credit first. */
    int64_t want = -m->assist_credit + ASSIST_OVERSTEAL;
    int64_t bg = atomic_load_explicit(&ap.bg_credit, memory_order_relaxed);
    while (bg > 0) {
        int64_t take = bg < want ? bg : want;
        if (atomic_compare_exchange_weak_explicit(&ap.bg_credit, &bg, bg - take,
                                                  memory_order_acq_rel, memory_order_relaxed)) {
            m->assist_credit += take;
            atomic_fetch_add_explicit(&ap.stolen, (uint64_t)take, memory_order_relaxed);
            break;
        }
    }
    if (m->assist_credit >= -ASSIST_THRESHOLD) return;

    /* Timed by the monotonic clock, as Go times its assists: a vDSO read,
     * where the thread CPU clock is a system call (two per assist were 1.3%
     * of binary-trees' thread). A preempted assist counts its wait. */
    uint64_t t0 = tc_mono_ns();
    /* Past the goal, memory comes first: bigger chunks. */
    int64_t cap = atomic_load_explicit(&gc_heap_live, memory_order_relaxed) > ap.goal
                      ? ASSIST_OVER_CHUNK
                      : ASSIST_MAX_CHUNK;
    int64_t chunk = -m->assist_credit < cap ? -m->assist_credit : cap;
    uint64_t done = 0;
    /* Inside a critical section: a stop must not find grey objects half-way
     * into this thread's buffers. The work is bounded (chunk bytes). */
    critical_enter();
    thread_slow_path("assist");
    if (tc_write_barrier) {
        done = mark_drain_n(&m->w, (uint64_t)chunk);
        gcw_dispose(&m->w);
    }
    thread_slow_path(NULL);
    critical_leave();
    gc_markers_wake();
    m->assist_credit += (int64_t)done;
    if (done != 0) {
        atomic_fetch_add_explicit(&ap.scan_done, done, memory_order_relaxed);
        atomic_fetch_add_explicit(&ap.assist_work, done, memory_order_relaxed);
        atomic_fetch_add_explicit(&ap.nassists, 1, memory_order_relaxed);
    }
    uint64_t spent = tc_mono_ns() - t0;
    m->assist_ns += spent;
    atomic_fetch_add_explicit(&assist_ns_total, spent, memory_order_relaxed);
    /* No grey object anywhere: the rest of the work is in the workers'
     * hands. Let them run rather than spin; the debt stays. */
    if (done == 0) sched_yield();
    if (gc_slow_timed()) gc_slow_note(done == 0 ? GC_SLOW_YIELD : GC_SLOW_ASSIST, t0);
}

/* ---- statistics ---------------------------------------------------------------- */

#define PAUSE_RING 256

/* stats_gc is written by the coordinator (and a stop's recorder) and read
 * by tc_read_stats, all under stats_mu, a leaf lock held for a copy. */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t num_gc, num_forced;
    uint64_t pause_total_ns, pause_max_ns;
    uint64_t num_stops, stop_ns[PAUSE_RING];
    uint64_t pause_ns[PAUSE_RING], pause_end_ns[PAUSE_RING];
    uint64_t pause_hist[TC_PAUSE_HIST_BUCKETS];
    uint64_t heap_marked;
    uint64_t last_gc_ns;
    uint64_t gc_cpu_ns;
    uint64_t stop_last_ns, stop_max_ns;
    double overshoot_last, overshoot_max;
} stats_gc;

static void record_stop(uint64_t ns)
{
    stats_gc.stop_ns[stats_gc.num_stops++ % PAUSE_RING] = ns;
    stats_gc.pause_total_ns += ns;
    if (ns > stats_gc.pause_max_ns) stats_gc.pause_max_ns = ns;
    unsigned b = 0;
    for (uint64_t us = ns / 1000; us != 0 && b + 1 < TC_PAUSE_HIST_BUCKETS; us >>= 1) b++;
    stats_gc.pause_hist[b]++;
}

void gc_read_stats(tc_stats *out)
{
    /* Inside a critical section: a reader parked by a stop while it held
     * stats_mu would hang the collector, which takes it world-stopped. */
    critical_enter();
    pthread_mutex_lock(&stats_mu);
    out->num_gc = stats_gc.num_gc;
    out->num_forced_gc = stats_gc.num_forced;
    out->pause_total_ns = stats_gc.pause_total_ns;
    out->pause_max_ns = stats_gc.pause_max_ns;
    out->num_stops = stats_gc.num_stops;
    memcpy(out->stop_ns, stats_gc.stop_ns, sizeof out->stop_ns);
    memcpy(out->pause_ns, stats_gc.pause_ns, sizeof out->pause_ns);
    memcpy(out->pause_end_ns, stats_gc.pause_end_ns, sizeof out->pause_end_ns);
    memcpy(out->pause_hist, stats_gc.pause_hist, sizeof out->pause_hist);
    out->heap_marked = stats_gc.heap_marked;
    out->next_gc = pacer_goal();
    out->gc_trigger = pacer_trigger();
    out->last_gc_ns = stats_gc.last_gc_ns == 0 ? 0 : stats_gc.last_gc_ns - start_ns;
    out->heap_live = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    uint64_t elapsed = tc_mono_ns() - start_ns;
    out->gc_cpu_fraction = elapsed == 0 ? 0.0
                                        : (double)(stats_gc.gc_cpu_ns + assist_ns_total) /
                                              ((double)elapsed * (double)ncpu);
    out->stop_last_ns = stats_gc.stop_last_ns;
    out->stop_max_ns = stats_gc.stop_max_ns;
    out->goal_overshoot_last = stats_gc.overshoot_last;
    out->goal_overshoot_max = stats_gc.overshoot_max;
    pthread_mutex_unlock(&stats_mu);
    critical_leave();
}

uint64_t gc_cycles(void) { return atomic_load_explicit(&ncycles, memory_order_acquire); }

/* ---- the cycle ----------------------------------------------------------------- */

typedef struct cycle {
    gc_reason why;
    uint64_t t_start;           /* the cycle began (sweep_finish) */
    uint64_t t_stop1, t_start1; /* stop #1 requested; world restarted */
    uint64_t t_stop2, t_end;    /* stop #2 requested; world restarted */
    uint64_t stw1_cpu, bg_cpu, assist_cpu, stw2_cpu;
    uint64_t idle_cpu;      /* the part of bg_cpu that ran on CPUs no mutator was using */
    int running;            /* threads running mutator code at stop #1 */
    const tc_thread *asker; /* the thread whose allocation asked for the cycle and went on */
    uint64_t heap0, heap1, heap2, goal, roots;
    int nproc;
    uint64_t stop_ns;        /* time to stop the world (the longest of the stops) */
    uint64_t flush_stops_ns; /* stops that flushed barrier buffers and found work */
    size_t nthreads;
    bool concurrent;
    bool idle_marked; /* the workers ran at 1.5x their share or more: idle CPUs helped */
} cycle;

static void count_thread(tc_thread *t, void *arg)
{
    (void)t;
    ++*(size_t *)arg;
}

/* With the world stopped, a thread that was running mutator code is
 * parked; one that sat in a blocking region (waiting for this very cycle,
 * say) is not. The exception is the thread whose allocation asked for the
 * cycle: it is usually still in request_cycle's blocking region when the
 * world stops, and about to return to its program. (Counted as idle, its
 * CPU went to an idle marker, three threads shared two CPUs and
 * binary-trees' only thread lost 1-4 thousand time slices a run.) Compared,
 * never dereferenced: the asker may have exited since. */
static void count_running(tc_thread *t, void *arg)
{
    cycle *c = arg;
    uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if ((s & THREAD_MODE) == THREAD_PARKED || t == c->asker) c->running++;
}

static void print_gctrace(uint64_t n, const cycle *c)
{
    const double ms = 1e-6, MB = 1048576.0;
    uint64_t elapsed = c->t_end - start_ns;
    double pct = elapsed == 0 ? 0
                              : 100.0 * (double)(stats_gc.gc_cpu_ns + assist_ns_total) /
                                    ((double)elapsed * (double)ncpu);
    double stw1 = (double)(c->t_start1 - c->t_stop1) * ms;
    double conc = c->concurrent ? (double)(c->t_stop2 - c->t_start1) * ms : 0.0;
    double stw2 = (double)(c->t_end - (c->concurrent ? c->t_stop2 : c->t_start1)) * ms;
    fprintf(stderr,
            "gc %" PRIu64 " @%.3fs %.0f%%: %.3f+%.3f+%.3f ms clock, %.3f+%.3f/%.3f/%.3f+%.3f ms "
            "cpu, %.0f->%.0f->%.0f MB, %.0f MB goal, %.0f MB roots, %d P, %zu threads stopped in "
            "%.3f ms%s%s\n",
            n, (double)(c->t_start - start_ns) * 1e-9, pct, stw1, conc, stw2,
            (double)c->stw1_cpu * ms, (double)c->assist_cpu * ms,
            (double)(c->bg_cpu - c->idle_cpu) * ms, (double)c->idle_cpu * ms,
            (double)c->stw2_cpu * ms, (double)c->heap0 / MB, (double)c->heap1 / MB,
            (double)c->heap2 / MB, (double)c->goal / MB, (double)c->roots / MB, c->nproc,
            c->nthreads, (double)c->stop_ns * ms, c->concurrent ? "" : " (stw)",
            c->why == GC_TRIGGER_FORCED ? " (forced)" : "");
}

/* ---- the slow-path ledger (gctrace=2) -------------------------------------------- */

/* Relaxed atomics: any thread adds, the coordinator reads and resets them
 * when it prints; an event that lands between its read and its reset is
 * lost from one line, which is acceptable for a diagnostic. */
#define SLOW_LONG_NS 50000u

bool gc_slow_timing;
static struct {
    _Atomic uint64_t n, total_ns, max_ns, nlong;
} slow[GC_SLOW_KINDS];

void gc_slow_note(gc_slow_kind k, uint64_t t0_ns)
{
    uint64_t ns = tc_mono_ns() - t0_ns;
    atomic_fetch_add_explicit(&slow[k].n, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slow[k].total_ns, ns, memory_order_relaxed);
    if (ns >= SLOW_LONG_NS) atomic_fetch_add_explicit(&slow[k].nlong, 1, memory_order_relaxed);
    uint64_t m = atomic_load_explicit(&slow[k].max_ns, memory_order_relaxed);
    while (ns > m && !atomic_compare_exchange_weak_explicit(
                         &slow[k].max_ns, &m, ns, memory_order_relaxed, memory_order_relaxed)) {}
}

static void print_slow_trace(uint64_t n)
{
    static const char *const name[GC_SLOW_KINDS] = {"assist", "yield", "refill", "large", "wbuf"};
    char line[768];
    int len = snprintf(line, sizeof line, "gc %" PRIu64 " slow paths:", n);
    for (int k = 0; k < GC_SLOW_KINDS; k++) {
        uint64_t cnt = atomic_exchange_explicit(&slow[k].n, 0, memory_order_relaxed);
        uint64_t tot = atomic_exchange_explicit(&slow[k].total_ns, 0, memory_order_relaxed);
        uint64_t max = atomic_exchange_explicit(&slow[k].max_ns, 0, memory_order_relaxed);
        uint64_t nl = atomic_exchange_explicit(&slow[k].nlong, 0, memory_order_relaxed);
        if (len > 0 && (size_t)len < sizeof line)
            len += snprintf(line + len, sizeof line - (size_t)len,
                            " %s %" PRIu64 " (%.1f us mean, %.1f us max, %" PRIu64 " >= 50 us)%s",
                            name[k], cnt, cnt ? (double)tot / (double)cnt / 1e3 : 0.0,
                            (double)max / 1e3, nl, k + 1 < GC_SLOW_KINDS ? "," : "");
    }
    fprintf(stderr, "%s\n", line);
}

/* gctrace=2: how the cycle's allocation debt was paid. */
static void print_assist_trace(uint64_t n)
{
    const double KB = 1024.0, MB = 1048576.0;
    fprintf(stderr,
            "gc %" PRIu64 " assists: %" PRIu64 " scanned %.0f KB, %.0f KB paid from worker credit "
            "(%.0f KB unclaimed); scan work %.1f MB of %.1f MB expected\n",
            n, atomic_load(&ap.nassists), (double)atomic_load(&ap.assist_work) / KB,
            (double)atomic_load(&ap.stolen) / KB, (double)atomic_load(&ap.bg_credit) / KB,
            (double)last_scan_work / MB, (double)ap.expected / MB);
}

static uint64_t last_growth; /* heap growth during the last paced mark, scaled (finish_cycle) */
static bool last_idle;       /* idle CPUs did much of the last paced mark (cycle.idle_marked) */

/* The prefault thread is held off for the length of the stop: in the kernel
 * populating a huge page it would keep a CPU from a preempted mutator that
 * has the stop signal to take (mheap.c, "Stops"). Waiting for its step in
 * progress comes before the request: the world still runs then. */
static void stop_the_world(cycle *c, const char *why, uint64_t *t_req)
{
    mheap_prefault_hold(true);
    *t_req = tc_mono_ns();
    threads_stop_world(why);
    sweep_close_gate();
    uint64_t s = threads_last_stop_ns();
    if (s > c->stop_ns) c->stop_ns = s;
}

static void start_the_world(void)
{
    threads_start_world();
    mheap_prefault_hold(false);
}

/* The end of a mark, world stopped: no grey object may be left. O(1): the
 * full validity walk of the work lists (work_check) visits every buffer the
 * mark ever used and runs after the world restarts (finish_cycle). */
static void check_no_grey_left(void)
{
    if (work_full_nonempty()) tc_throw("gc: grey objects left on the full list after marking");
}

/* Mark termination and what follows, world stopped (both collectors). */
static void finish_cycle(cycle *c, uint64_t marked)
{
    uint64_t cpu0 = thread_cpu_ns();
    atomic_store(&gc_phase, GC_MARKTERM);
    if (tc_debug.gccheckmark) {
        checkmark_begin();
        markroot_prepare_all();
        gcwork *w = &mk.gcw[0];
        while (markroot_claim_and_run(w)) {}
        mark_drain(w);
        gcw_dispose(w);
        work_check(true);
        markroot_done();
        checkmark_end();
        take_marked_bytes();
    }
    c->heap1 = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    release_all_mcaches();
    atomic_store_explicit(&gc_heap_live, marked, memory_order_relaxed);
    atomic_fetch_add_explicit(&mheap_.sweepgen, 2, memory_order_relaxed);
    sweep_open_gate();
    tc_write_barrier = 0;
    atomic_store(&gc_phase, GC_OFF);

    uint64_t sys_total = stats_sys_total();
    pacer_inputs in = {.heap_marked = marked,
                       .root_bytes = c->roots,
                       .overhead = sys_total > marked ? sys_total - marked : 0};
    pacer_commit(&in);
    c->heap2 = marked;
    uint64_t goal_before = c->goal;
    c->goal = pacer_goal();
    /* The runway estimate comes from cycles that ran beside the program:
     * one that tc_gc or gcstress waited for saw no allocation and, with idle
     * marking, every CPU idle. The growth is what the mutators allocated
     * while the workers marked; with assists they were slowed down, so
     * scale it to what the workers alone would have let them allocate
     * (by the share of the scan work the assists did, at most 4x). */
    if (c->concurrent && c->why == GC_TRIGGER_HEAP) {
        last_growth = c->heap1 > c->heap0 ? c->heap1 - c->heap0 : 0;
        uint64_t assisted = atomic_load(&ap.assist_work);
        if (last_scan_work > assisted) {
            double f = (double)last_scan_work / (double)(last_scan_work - assisted);
            last_growth = (uint64_t)((double)last_growth * (f > 4.0 ? 4.0 : f));
        }
        last_idle = c->idle_marked;
    }
    /* Collector I starts at the goal itself; the concurrent one earlier. */
    if (!c->concurrent)
        pacer_set_trigger_fraction(1.0);
    else if (c->goal != PACER_GOAL_NONE && c->goal > marked)
        pacer_set_trigger_fraction((double)(pacer_next_trigger(marked, c->goal, last_growth,
                                                               last_idle, mheap_resident_bytes()) -
                                            marked) /
                                   (double)(c->goal - marked));
    if (tc_debug.gcstoptheworld == 2) sweep_finish();
    c->t_end = tc_mono_ns();
    c->stw2_cpu += thread_cpu_ns() - cpu0;

    pthread_mutex_lock(&stats_mu);
    uint64_t n = stats_gc.num_gc + 1;
    uint64_t pause = (c->t_start1 - c->t_stop1) + c->flush_stops_ns +
                     (c->concurrent ? c->t_end - c->t_stop2 : 0);
    if (!c->concurrent) pause = c->t_end - c->t_stop1;
    stats_gc.pause_ns[stats_gc.num_gc % PAUSE_RING] = pause;
    stats_gc.pause_end_ns[stats_gc.num_gc % PAUSE_RING] = c->t_end - start_ns;
    if (c->concurrent) {
        record_stop(c->t_start1 - c->t_stop1);
        record_stop(c->t_end - c->t_stop2);
    } else {
        record_stop(pause);
    }
    stats_gc.num_gc = n;
    if (c->why == GC_TRIGGER_FORCED) stats_gc.num_forced++;
    stats_gc.heap_marked = marked;
    stats_gc.last_gc_ns = c->t_end;
    stats_gc.gc_cpu_ns += c->stw1_cpu + c->bg_cpu + c->stw2_cpu;
    stats_gc.stop_last_ns = c->stop_ns;
    if (c->stop_ns > stats_gc.stop_max_ns) stats_gc.stop_max_ns = c->stop_ns;
    if (goal_before != 0 && goal_before != PACER_GOAL_NONE) {
        double o = ((double)c->heap1 - (double)goal_before) / (double)goal_before;
        stats_gc.overshoot_last = o;
        if (o > stats_gc.overshoot_max) stats_gc.overshoot_max = o;
    }
    pthread_mutex_unlock(&stats_mu);
    atomic_store_explicit(&ncycles, n, memory_order_release);

    /* No stdio before this: a parked thread may hold its lock. */
    start_the_world();
    /* With the barrier off nobody adds work until the next cycle's stop #1
     * (run by this thread): the lists are quiescent for the full check. */
    work_check(true);
    sweep_start_background();
    if (tc_debug.gctrace) print_gctrace(n, c);
    if (tc_debug.gctrace >= 2 && c->concurrent) print_assist_trace(n);
    if (tc_debug.gctrace >= 2) print_slow_trace(n);
}

/* Collector I: everything inside one stop. */
static void run_cycle_stw(cycle *c)
{
    uint64_t cpu0 = thread_cpu_ns();
    stop_the_world(c, "gc", &c->t_stop1);
    threads_for_each(count_thread, &c->nthreads);
    release_all_mcaches();
    if (!sweep_done()) tc_throw("gc: sweeping unfinished when the world stopped");
    gcbits_next_epoch();
    mark_black_begin(); /* ranges recorded under a barrier raised by hand are void */
    c->heap0 = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    atomic_store(&gc_phase, GC_MARK);
    c->t_start1 = tc_mono_ns();
    c->stw1_cpu = thread_cpu_ns() - cpu0;
    markroot_prepare_stw(true);
    c->roots = markroot_bytes();
    c->nproc = mark_run(markers_wanted(), false, 1.0, false);
    markroot_done();
    c->bg_cpu = atomic_load(&mk.cpu_ns);
    check_no_grey_left();
    finish_cycle(c, take_marked_bytes());
}

/* Scan work a mark-termination stop may do before it gives up and lets the
 * world run again (about 0.1 ms): every extra stop costs the time to stop
 * the threads, which on a loaded machine is the larger part. */
#define FLUSH_STOP_DRAIN ((uint64_t)16 << 10)

/* Collector II: concurrent mark between two short stops. */
static void run_cycle_concurrent(cycle *c)
{
    /* Stop #1: the snapshot. */
    uint64_t cpu0 = thread_cpu_ns();
    cycle_scan_work = 0;
    stop_the_world(c, "gc sweep termination", &c->t_stop1);
    threads_for_each(count_thread, &c->nthreads);
    threads_for_each(count_running, c);
    if (!sweep_done()) tc_throw("gc: sweeping unfinished when the world stopped");
    drop_tiny_blocks();
    threads_for_each(drop_barrier_buffer, NULL);
    wbq_drop_all();
    gcbits_next_epoch();
    c->heap0 = atomic_load_explicit(&gc_heap_live, memory_order_relaxed);
    assist_begin(c->heap0, pacer_goal());
    atomic_store(&gc_phase, GC_MARK);
    mark_black_begin();
    tc_write_barrier = 1;
    markroot_prepare_stw(false);
    c->roots = markroot_bytes();
    gcwork *w = &mk.gcw[0];
    while (markroot_claim_and_run(w)) {}
    gcw_dispose(w);
    markroot_done();
    c->stw1_cpu = thread_cpu_ns() - cpu0;
    c->t_start1 = tc_mono_ns();
    start_the_world();
    if (gc_test_after_snapshot != NULL) gc_test_after_snapshot();

    /* Concurrent mark: 25% of the CPUs, as dedicated workers when that is a
     * whole number of them (within 30%), else fractional ones. With idle
     * marking (the default), one worker per CPU that no mutator was using at
     * stop #1 if that is more, up to IDLE_MARKERS_MAX (marking past 4
     * markers is unmeasured, and the work lists share one lock); each
     * worker's share then follows the running threads (worker_share). */
    bool idle_marking = tc_debug.gcidlemark != 0;
    double base = 0.25 * ncpu, target = base;
    int idle = ncpu - c->running;
    if (idle > IDLE_MARKERS_MAX) idle = IDLE_MARKERS_MAX;
    if (idle_marking && idle > target) target = idle;
    int nbg = (int)(target + 0.5);
    if (nbg < 1) nbg = 1;
    if (tc_debug.gcmarkers > 0 && tc_debug.gcmarkers < nbg) nbg = tc_debug.gcmarkers;
    double util = base / nbg;
    if (util > 1.0) util = 1.0;
    markroot_prepare_concurrent();
    uint64_t a0 = atomic_load(&assist_ns_total), tm0 = tc_mono_ns();
    mark_run(nbg, true, util, idle_marking);
    c->bg_cpu = atomic_load(&mk.cpu_ns);
    uint64_t marked = take_marked_bytes();
    mutator_totals tot = {0};

    /* Mark termination. The threads' barrier buffers may still hold
     * recorded pointers whose subgraphs nobody marked: stop, shade the
     * buffers into the global lists, drain up to FLUSH_STOP_DRAIN of scan
     * work, and if work is still left, let the world run again and drain it
     * concurrently (Go's ragged flush loop, done with short stops). The
     * stop that finds nothing left is stop #2. */
    for (int round = 0;; round++) {
        stop_the_world(c, "gc mark termination", &c->t_stop2);
        cpu0 = thread_cpu_ns();
        threads_for_each(flush_mutator, &tot);
        while (wbq_shade_one(&mk.gcw[0])) {}
        /* Usually the flush finds a little work (the records' objects
         * marked, their subgraphs already black): finish it here, within a
         * budget, rather than restart the world and pay one more stop. */
        mark_drain_n(&mk.gcw[0], FLUSH_STOP_DRAIN);
        gcw_dispose(&mk.gcw[0]);
        if (!work_full_nonempty() || round == 3) break;
        pthread_mutex_lock(&stats_mu);
        record_stop(tc_mono_ns() - c->t_stop2);
        c->flush_stops_ns += tc_mono_ns() - c->t_stop2;
        pthread_mutex_unlock(&stats_mu);
        start_the_world();
        markroot_clear();
        mark_run(nbg, true, util, idle_marking);
        c->bg_cpu += atomic_load(&mk.cpu_ns);
        marked += take_marked_bytes();
    }
    c->assist_cpu = atomic_load(&assist_ns_total) - a0;
    /* What ran above the 25% share ran on CPUs the mutators left idle. */
    double share = (base < nbg ? base : nbg) * (double)(tc_mono_ns() - tm0);
    c->idle_cpu = (double)c->bg_cpu > share ? c->bg_cpu - (uint64_t)share : 0;
    c->idle_marked = (double)c->idle_cpu > share / 2;
    markroot_prepare_rescan();
    /* What is left is small (barrier buffers, a few rescanned stacks): one
     * marker drains it. Waking helpers would put their scheduling latency
     * into the pause (termination waits for every marker to check in). */
    c->nproc = mark_run(1, false, 1.0, false);
    markroot_done();
    check_no_grey_left();
    marked += take_marked_bytes() + tot.marked + take_black_bytes() +
              atomic_exchange(&gc_exited_marked, 0);
    last_scan_work = cycle_scan_work + atomic_load(&ap.assist_work);
    c->stw2_cpu = thread_cpu_ns() - cpu0;
    finish_cycle(c, marked);
}

/* ---- the coordinator ------------------------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t start_cv, done_cv;
    bool started;           /* the thread exists */
    bool requested;         /* a cycle is wanted */
    const tc_thread *asker; /* the thread that asked and went on (NULL: none, or it waits) */
    gc_reason why;          /* the strongest reason asked for */
    uint64_t completed;     /* cycles finished */
    uint64_t running;       /* the cycle in progress (0: none) */
    int forks;              /* forks under way: start no cycle (gc_fork_prepare) */
} co = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .start_cv = PTHREAD_COND_INITIALIZER,
        .done_cv = PTHREAD_COND_INITIALIZER};

static bool heap_needs_gc(void)
{
    uint64_t trig = pacer_trigger();
    return trig != PACER_GOAL_NONE &&
           atomic_load_explicit(&gc_heap_live, memory_order_relaxed) >= trig;
}

static void *coordinator(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&co.mu);
    for (;;) {
        while (!co.requested || co.forks != 0) pthread_cond_wait(&co.start_cv, &co.mu);
        gc_reason why = co.why;
        const tc_thread *asker = co.asker;
        co.asker = NULL;
        co.requested = false;
        co.running = co.completed + 1;
        pthread_mutex_unlock(&co.mu);

        cycle c = {.why = why, .t_start = tc_mono_ns(), .asker = asker};
        sweep_finish();
        c.concurrent = tc_debug.gcstoptheworld == 0;
        if (c.concurrent)
            run_cycle_concurrent(&c);
        else
            run_cycle_stw(&c);

        pthread_mutex_lock(&co.mu);
        co.completed++;
        co.running = 0;
        pthread_cond_broadcast(&co.done_cv);
    }
    return NULL;
}

/* Ask for a cycle; with wait, return once a cycle that started after the
 * call has completed. A heap trigger asks only when no cycle is running or
 * asked for. The mailbox lock is taken inside a blocking region, so that a
 * thread waiting for it, or for the cycle, never holds up the cycle's stops
 * (and its stack is scanned from here). */
static void request_cycle(gc_reason why, bool wait)
{
    tc_thread *self = thread_self();
    bool attached = self != NULL;
    /* No pthread_cancel while in here: pthread_cond_wait is a cancellation
     * point, and a thread cancelled there would unwind holding co.mu inside
     * a blocking region. A pending cancel acts at its next cancellation
     * point. */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    if (attached) tc_blocking_enter();
    pthread_mutex_lock(&co.mu);
    if (why == GC_TRIGGER_HEAP && (co.running != 0 || co.requested)) goto out;
    if (!co.started) {
        if (gc_spawn_thread(coordinator, NULL, "tc-gc") != 0)
            tc_throw("gc: cannot start the collector thread");
        co.started = true;
    }
    /* A cycle already running started before this call: wait for the next. */
    uint64_t target = (co.running ? co.running : co.completed) + 1;
    if (!co.requested || why == GC_TRIGGER_FORCED) co.why = why;
    co.asker = wait ? NULL : self;
    co.requested = true;
    pthread_cond_signal(&co.start_cv);
    if (wait)
        while (co.completed < target) pthread_cond_wait(&co.done_cv, &co.mu);
out:
    pthread_mutex_unlock(&co.mu);
    if (attached) tc_blocking_leave();
    pthread_setcancelstate(cancel_state, NULL);
}

/* ---- fork ------------------------------------------------------------------------
 *
 * fork copies the heap as it stands, and of the threads only the forking
 * one. So that the child gets a heap it can go on with, the prepare handler
 * makes the fork land between cycles with no runtime lock held:
 *   1. it lets the cycle in progress finish and keeps the next one from
 *      starting (co.forks counts the forks under way, so that one thread's
 *      fork ending does not let a cycle start under another's), waiting in
 *      a blocking region so that the cycle's stops do not wait for it;
 *   2. it stops the world: a parked mutator holds no runtime lock and is in
 *      the middle of no sweep (mutators sweep inside critical sections);
 *   3. it closes the sweep gate (the background sweeper ends the span in
 *      hand and starts no other) and holds the prefault thread off its
 *      steps (mheap.c's own handler then takes the heap lock);
 * and the mark workers and the coordinator are idle between cycles. The
 * parent's handler undoes it; the child's, where the collector's threads do
 * not exist, resets their state: they start again on demand.
 *
 * A thread that forks with the world stopped by itself (threads_stop_world)
 * cannot wait for a cycle, which needs stops of its own; with a mark in
 * progress the child would inherit it half done (marks set, grey objects in
 * buffers nobody drains, the mark-bit arenas turned over): fatal. Otherwise
 * its fork copies a heap between cycles too.
 *
 * The handlers are installed last by tc_init (gc_install_fork_handlers), so
 * that this prepare handler runs before every other (pthread_atfork runs
 * them in reverse) and this child handler after threads.c's, which rebuilds
 * the registry that threads_start_world walks. */
/* The forking thread's, from its prepare handler to its parent or child
 * handler: thread-local, as two threads may fork at once. */
static __thread bool fork_stopped_world; /* the prepare handler stopped it */
static __thread bool fork_was_blocking;  /* the thread was in a blocking region */

static void gc_fork_prepare(void)
{
    tc_thread *self = thread_self();
    fork_stopped_world = !threads_stopped_by_self();
    if (!fork_stopped_world) {
        if (atomic_load(&gc_phase) != GC_OFF)
            tc_throw("fork: the forking thread has the world stopped in the middle of a "
                     "collection (phase %d): the child would inherit a half-done mark",
                     (int)atomic_load(&gc_phase));
    } else {
        fork_was_blocking =
            self != NULL && (atomic_load_explicit(&self->state, memory_order_relaxed) &
                             THREAD_MODE) == THREAD_BLOCKING;
        if (self != NULL && !fork_was_blocking) tc_blocking_enter();
        pthread_mutex_lock(&co.mu);
        co.forks++;
        while (co.running != 0) pthread_cond_wait(&co.done_cv, &co.mu);
        pthread_mutex_unlock(&co.mu);
        if (self != NULL) tc_blocking_leave();
        threads_stop_world("fork");
    }
    sweep_close_gate();
    mheap_prefault_hold(true);
}

static void gc_fork_parent(void)
{
    mheap_prefault_hold(false);
    sweep_open_gate();
    if (!fork_stopped_world) return;
    threads_start_world();
    pthread_mutex_lock(&co.mu);
    co.forks--;
    pthread_cond_signal(&co.start_cv); /* a cycle asked for meanwhile */
    pthread_mutex_unlock(&co.mu);
    if (fork_was_blocking) tc_blocking_enter();
    sweep_start_background();
}

static void gc_fork_child(void)
{
    pthread_mutex_init(&co.mu, NULL);
    pthread_cond_init(&co.start_cv, NULL);
    pthread_cond_init(&co.done_cv, NULL);
    co.started = false;
    co.requested = false;
    co.running = 0;
    co.forks = 0;
    pthread_mutex_init(&mk.mu, NULL);
    pthread_cond_init(&mk.start_cv, NULL);
    pthread_cond_init(&mk.done_cv, NULL);
    pthread_cond_init(&mk.work_cv, NULL);
    mk.nhelpers = 0;
    mk.nsleeping = 0;
    atomic_store(&mk.nsleeping_hint, 0);
    pthread_mutex_init(&stats_mu, NULL);
    wbq_after_fork_child();
    sweep_after_fork_child(); /* the gate opens there */
    if (!fork_stopped_world) return;
    threads_start_world();
    if (fork_was_blocking) tc_blocking_enter();
}

void gc_install_fork_handlers(void)
{
    pthread_atfork(gc_fork_prepare, gc_fork_parent, gc_fork_child);
}

void gc_collect(gc_reason why)
{
    if (tc_unlikely(tc_critical_depth != 0))
        tc_throw("gc: collection requested inside a runtime critical section (depth %d)",
                 (int)tc_critical_depth);
    request_cycle(why, why != GC_TRIGGER_HEAP);
}

void gc_maybe_trigger(void)
{
    if (tc_unlikely(heap_needs_gc()) && atomic_load(&gc_phase) == GC_OFF)
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
