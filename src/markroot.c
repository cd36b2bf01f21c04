/*
 * markroot.c — root jobs: the units of root scanning that markers claim.
 *
 * Owns: the job table of the current mark phase and its claim counter.
 *
 * Jobs (Go's markroot, translated), by where they run:
 *   - inside the first stop (markroot_prepare_stw): every thread's stack and
 *     saved registers (with the in-use part of its alternate signal stack if
 *     it stopped in a handler there), and every plain root (written with ordinary stores,
 *     so no barrier sees their changes: they are part of the snapshot).
 *     With the world-stopped collector (gcstoptheworld=1) the barriered
 *     roots join them.
 *   - concurrently (markroot_prepare_concurrent): barriered roots, in shards
 *     of at most ROOT_SHARD bytes. Their stores run the write barrier, so
 *     scanning them after the snapshot is enough.
 *   - inside the second stop (markroot_prepare_rescan): the stacks and
 *     registers of the threads the stop signal caught, whose inline TC_STORE
 *     may have stored a pointer without recording the one it overwrote
 *     (barrier.c explains the window).
 *   - for gccheckmark (markroot_prepare_all): every root and every stack.
 * Room for the specials (finalizers, cleanups, weak handles) that come
 * later: they will append their jobs here.
 *
 * Invariants: the table is written only by the prepare functions, with no
 * marker running, and is read-only while markers claim jobs; each job is
 * claimed exactly once (atomic fetch-add on next_job).
 *
 * Locking: stop-time jobs run under roots_lock, taken by the prepare
 * function and released by markroot_done (no thread can hold roots_mu
 * while the world is stopped: it is a runtime lock, and stopped threads hold
 * none). A concurrent root job takes roots_lock for its own duration and
 * first checks that its root is still registered; tc_root_unregister, under
 * the same lock, shades a barriered root's contents while marking runs, so a
 * root that disappears mid-mark loses no object.
 */
#include "markroot.h"

#include <string.h>

#include "mark.h"
#include "roots.h"
#include "stats.h"
#include "sys.h"
#include "threads.h"
#include "types.h"

#define ROOT_SHARD ((size_t)256 << 10)

enum { JOB_ROOT, JOB_STACK };

typedef struct root_job {
    int kind;
    const struct tc_root *root; /* JOB_ROOT: the root (checked when concurrent) */
    uintptr_t base;             /* JOB_ROOT: shard start */
    size_t len;                 /* JOB_ROOT: shard bytes */
    const tc_type *layout;
    tc_thread *thread; /* JOB_STACK */
} root_job;

static root_job *jobs;
static size_t njobs, cap_jobs;
static _Atomic size_t next_job;
static bool concurrent_jobs; /* jobs take roots_lock themselves */
static bool holding_lock;    /* a stop-time table holds roots_lock */
static uint64_t root_bytes;  /* bytes of roots and stacks in the STW table (for the pacer) */

static void reserve(size_t n)
{
    if (n <= cap_jobs) return;
    size_t ncap = cap_jobs ? cap_jobs : 256;
    while (ncap < n) ncap *= 2;
    size_t bytes = tc_align_up(ncap * sizeof(root_job), sys_page_size());
    root_job *nj = sys_alloc(bytes, &stat_gcmeta);
    if (nj == NULL) tc_throw("markroot: out of memory for %zu root jobs", n);
    if (jobs != NULL) {
        memcpy(nj, jobs, njobs * sizeof(root_job));
        sys_free(jobs, tc_align_up(cap_jobs * sizeof(root_job), sys_page_size()), &stat_gcmeta);
    }
    jobs = nj;
    cap_jobs = bytes / sizeof(root_job);
}

enum { WANT_PLAIN = 1, WANT_BARRIERED = 2 };

static void add_root(const struct tc_root *r, void *arg)
{
    int want = *(int *)arg;
    int kind = (r->flags & TC_ROOT_BARRIERED) ? WANT_BARRIERED : WANT_PLAIN;
    if (!(want & kind)) return;
    /* Shards stay whole elements of the layout. */
    size_t shard = ROOT_SHARD;
    if (r->layout != NULL) {
        shard = ROOT_SHARD / r->layout->size * r->layout->size;
        if (shard == 0) shard = r->layout->size;
    }
    for (size_t off = 0; off < r->size; off += shard) {
        reserve(njobs + 1);
        size_t len = r->size - off < shard ? r->size - off : shard;
        jobs[njobs++] = (root_job){
            .kind = JOB_ROOT, .root = r, .base = r->base + off, .len = len, .layout = r->layout};
    }
}

static void add_thread(tc_thread *t, void *arg)
{
    bool only_signalled = *(bool *)arg;
    if (only_signalled && !t->by_signal) return;
    reserve(njobs + 1);
    jobs[njobs++] = (root_job){.kind = JOB_STACK, .thread = t};
    uintptr_t lo, hi;
    thread_stack_range(t, &lo, &hi);
    root_bytes += hi - lo;
}

static void begin(bool concurrent)
{
    njobs = 0;
    concurrent_jobs = concurrent;
    atomic_store_explicit(&next_job, 0, memory_order_relaxed);
}

static void begin_locked(void)
{
    begin(false);
    roots_lock();
    holding_lock = true;
}

void markroot_prepare_stw(bool with_barriered)
{
    begin_locked();
    root_bytes = 0;
    int want = WANT_PLAIN | (with_barriered ? WANT_BARRIERED : 0);
    roots_for_each(add_root, &want);
    size_t nroots, rbytes;
    roots_totals(&nroots, &rbytes);
    root_bytes += rbytes; /* every root counts toward the goal, barriered or not */
    bool only_signalled = false;
    threads_for_each(add_thread, &only_signalled);
}

void markroot_prepare_all(void) { markroot_prepare_stw(true); }

void markroot_prepare_rescan(void)
{
    begin_locked();
    bool only_signalled = true;
    uint64_t keep = root_bytes;
    threads_for_each(add_thread, &only_signalled);
    root_bytes = keep;
}

void markroot_prepare_concurrent(void)
{
    begin(true);
    int want = WANT_BARRIERED;
    roots_lock();
    roots_for_each(add_root, &want);
    roots_unlock();
}

void markroot_clear(void) { begin(true); }

void markroot_done(void)
{
    if (holding_lock) {
        holding_lock = false;
        roots_unlock();
    }
}

uint64_t markroot_bytes(void) { return root_bytes; }

bool markroot_remaining(void)
{
    return atomic_load_explicit(&next_job, memory_order_relaxed) < njobs;
}

void markroot_rewind(void) { atomic_store_explicit(&next_job, 0, memory_order_relaxed); }

static void scan_root_range(uintptr_t base, size_t len, const tc_type *layout, gcwork *w)
{
    if (layout != NULL)
        scanblock_typed(base, len, layout, w);
    else
        scan_conservative(base, base + len, w);
}

static void run_job(const root_job *j, gcwork *w)
{
    if (j->kind == JOB_ROOT) {
        if (!concurrent_jobs) {
            scan_root_range(j->base, j->len, j->layout, w);
            return;
        }
        roots_lock();
        if (roots_still_registered(j->root, j->base, j->len))
            scan_root_range(j->base, j->len, j->layout, w);
        roots_unlock();
        return;
    }
    uintptr_t lo, hi;
    thread_stack_range(j->thread, &lo, &hi);
    mark_scanning_stack = true;
    scan_conservative(lo, hi, w);
    /* Stopped inside a handler on its sigaltstack: the handler's frames. */
    if (thread_alt_stack_range(j->thread, &lo, &hi)) scan_conservative(lo, hi, w);
    size_t nregs;
    const uintptr_t *regs = thread_saved_regs(j->thread, &nregs);
    scan_words_conservative(regs, nregs, w);
    mark_scanning_stack = false;
}

bool markroot_claim_and_run(gcwork *w)
{
    size_t i = atomic_fetch_add_explicit(&next_job, 1, memory_order_relaxed);
    if (i >= njobs) return false;
    run_job(&jobs[i], w);
    return true;
}

void markroot_shade_root(const struct tc_root *r, gcwork *w)
{
    scan_root_range(r->base, r->size, r->layout, w);
}
