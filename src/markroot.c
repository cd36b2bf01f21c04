/*
 * markroot.c — root jobs: the units of root scanning that markers claim.
 *
 * Owns: the job table of the current mark, built by markroot_prepare with
 * the world stopped, and the claim counter.
 *
 * Jobs, in claim order (Go's markroot, translated):
 *   - registered roots, in shards of at most ROOT_SHARD bytes so that one
 *     big root table spreads over several markers; precise roots (with a
 *     layout) are scanned by their type, conservative ones word by word;
 *   - thread stacks and saved registers, one job per attached thread (the
 *     collecting thread included), conservatively, with the in-use part of
 *     the thread's alternate signal stack if it stopped in a handler there;
 *   - room for the specials (finalizers, cleanups, weak handles) that come
 *     later: they will append their jobs here.
 * The tiny blocks of the mcaches need no job: the collector releases every
 * mcache before marking, and a tiny block that user code still points into
 * is found through those pointers.
 *
 * Invariants: the table is written only by markroot_prepare (world stopped,
 * no marker running) and is read-only while markers claim jobs; each job is
 * claimed exactly once (atomic fetch-add on next).
 *
 * Locking: markroot_prepare takes roots_lock and the caller releases it
 * with markroot_done after marking, so no root can be unregistered (and its
 * memory freed) while a marker may be scanning it.
 */
#include <string.h>

#include "markroot.h"

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
    uintptr_t base; /* JOB_ROOT: shard start */
    size_t len;     /* JOB_ROOT: shard bytes */
    const tc_type *layout;
    tc_thread *thread; /* JOB_STACK */
} root_job;

static root_job *jobs;
static size_t njobs, cap_jobs;
static _Atomic size_t next_job;
static uint64_t root_bytes; /* bytes of roots and stacks in this mark (for the pacer) */

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

static void add_root(const struct tc_root *r, void *arg)
{
    (void)arg;
    /* Shards stay whole elements of the layout. */
    size_t shard = ROOT_SHARD;
    if (r->layout != NULL) shard = ROOT_SHARD / r->layout->size * r->layout->size;
    if (shard == 0) shard = r->layout->size;
    for (size_t off = 0; off < r->size; off += shard) {
        reserve(njobs + 1);
        size_t len = r->size - off < shard ? r->size - off : shard;
        jobs[njobs++] =
            (root_job){.kind = JOB_ROOT, .base = r->base + off, .len = len, .layout = r->layout};
    }
    root_bytes += r->size;
}

static void add_thread(tc_thread *t, void *arg)
{
    (void)arg;
    reserve(njobs + 1);
    jobs[njobs++] = (root_job){.kind = JOB_STACK, .thread = t};
    uintptr_t lo, hi;
    thread_stack_range(t, &lo, &hi);
    root_bytes += hi - lo;
}

void markroot_prepare(void)
{
    roots_lock();
    njobs = 0;
    root_bytes = 0;
    roots_for_each(add_root, NULL);
    threads_for_each(add_thread, NULL);
    atomic_store_explicit(&next_job, 0, memory_order_relaxed);
}

void markroot_done(void) { roots_unlock(); }

uint64_t markroot_bytes(void) { return root_bytes; }

size_t markroot_njobs(void) { return njobs; }

bool markroot_remaining(void)
{
    return atomic_load_explicit(&next_job, memory_order_relaxed) < njobs;
}

static void run_job(const root_job *j, gcwork *w)
{
    if (j->kind == JOB_ROOT) {
        if (j->layout != NULL)
            scanblock_typed(j->base, j->len, j->layout, w);
        else
            scan_conservative(j->base, j->base + j->len, w);
        return;
    }
    uintptr_t lo, hi;
    thread_stack_range(j->thread, &lo, &hi);
    scan_conservative(lo, hi, w);
    /* Stopped inside a handler on its sigaltstack: the handler's frames. */
    if (thread_alt_stack_range(j->thread, &lo, &hi)) scan_conservative(lo, hi, w);
    size_t nregs;
    const uintptr_t *regs = thread_saved_regs(j->thread, &nregs);
    scan_words_conservative(regs, nregs, w);
}

bool markroot_claim_and_run(gcwork *w)
{
    size_t i = atomic_fetch_add_explicit(&next_job, 1, memory_order_relaxed);
    if (i >= njobs) return false;
    run_job(&jobs[i], w);
    return true;
}

void markroot_rewind(void) { atomic_store_explicit(&next_job, 0, memory_order_relaxed); }
