/*
 * barrier.c — the write barrier and the typed memory operations.
 *
 * The collector marks concurrently with a snapshot-at-the-beginning
 * (Yuasa) deletion barrier: while marking runs, every pointer store into a
 * heap object or a barriered root first records the pointer it overwrites.
 * Every object reachable when marking began is then either found by the
 * markers or recorded by the mutator that cut its last path; objects
 * allocated during marking are allocated black. docs/gc.md has the proof.
 *
 * The fast path is inline in tricolor.h (TC_STORE): load the old value,
 * store the new one, then test tc_write_barrier. The order matters: a thread
 * stopped by the signal between the test and the store would otherwise do
 * an unrecorded store after marking began. Stored first and tested after,
 * a store that saw the barrier off completed before the stop, and one
 * interrupted before the test records its old value after resuming. The
 * one window left — stopped after the store, before recording, at mark
 * termination — is closed by gc.c, which rescans the registers and stack of
 * every thread the signal stopped (the old value is live there).
 *
 * Per-thread buffer (Go's wbBuf): recorded pointers go into the thread's
 * buffer, flushed when full (shaded into the thread's gcwork, then handed
 * to the global lists) and by the collector at mark termination. The slow
 * path runs inside a runtime critical section, so a stop never finds a
 * buffer or a gcwork half-updated.
 *
 * Concurrency: tc_write_barrier is written only with the world stopped. The
 * buffer and gcwork of a thread are touched by that thread (in critical
 * sections) or by the collector while the thread is stopped.
 */
#include "barrier.h"

#include <string.h>

#include "gc.h"
#include "mark.h"
#include "markroot.h"
#include "stats.h"
#include "threads.h"
#include "types.h"

volatile int tc_write_barrier;

static tc_mutex mutator_mu = TC_MUTEX_INIT; /* the pool below; a leaf */
static tc_fixalloc mutator_pool;
static bool mutator_pool_ready;

mutator_gc *mutator_gc_of(tc_thread *t)
{
    if (t->gcw == NULL) {
        tc_lock(&mutator_mu);
        if (!mutator_pool_ready) {
            tc_fixalloc_init(&mutator_pool, sizeof(mutator_gc), NULL, NULL, &stat_gcmeta);
            mutator_pool_ready = true;
        }
        mutator_gc *m = tc_fixalloc_alloc(&mutator_pool);
        tc_unlock(&mutator_mu);
        if (m == NULL) tc_throw("barrier: out of memory for a thread's collector state");
        t->gcw = m;
    }
    return t->gcw;
}

/* Shade the buffered pointers of m, hand the grey objects to the global
 * lists. The caller is m's thread (in a critical section) or the collector
 * with the world stopped. */
void wbuf_flush(mutator_gc *m)
{
    for (size_t i = 0; i < m->nwb; i++) shade(m->wb[i], &m->w);
    m->nwb = 0;
    gcw_dispose(&m->w);
}

void tc_write_barrier_shade(void *old)
{
    if ((uintptr_t)old < 4096) return;
    critical_enter();
    tc_thread *t = thread_self();
    if (tc_unlikely(t == NULL))
        tc_throw("write barrier: TC_STORE from thread %p, which is not attached",
                 (void *)pthread_self());
    mutator_gc *m = mutator_gc_of(t);
    /* The barrier may have been turned off since the caller tested it; the
     * record is then harmless (the buffer is dropped at the next cycle). */
    m->wb[m->nwb++] = (uintptr_t)old;
    if (m->nwb == WBUF_ENTRIES) wbuf_flush(m);
    critical_leave();
}

void barrier_shade_root(const struct tc_root *r)
{
    tc_thread *t = thread_self();
    if (t == NULL)
        tc_throw("tc_root_unregister while marking, from thread %p, which is not attached",
                 (void *)pthread_self());
    mutator_gc *m = mutator_gc_of(t);
    markroot_shade_root(r, &m->w);
    gcw_dispose(&m->w);
}

void mutator_gc_exit(tc_thread *t)
{
    mutator_gc *m = t->gcw;
    if (m == NULL) return;
    critical_enter();
    if (atomic_load(&gc_phase) != GC_OFF)
        wbuf_flush(m);
    else
        m->nwb = 0;
    gcw_dispose(&m->w);
    /* What this thread marked counts toward the cycle's total even though
     * the thread is gone by mark termination (its assist time is already in
     * gc.c's assist_ns_total). */
    atomic_fetch_add_explicit(&gc_exited_marked, m->w.bytes_marked, memory_order_relaxed);
    t->gcw = NULL;
    tc_lock(&mutator_mu);
    tc_fixalloc_free(&mutator_pool, m);
    tc_unlock(&mutator_mu);
    critical_leave();
}

/* ---- the API ------------------------------------------------------------------ */

void tc_store(void **slot, void *ptr) { TC_STORE(*slot, ptr); }

/* Record every non-nil pointer word of [p, p + n) as laid out by t (or
 * every word when t is NULL), before it is overwritten. */
static void shade_old_words(const tc_type *t, const void *p, size_t n)
{
    if (!tc_write_barrier) return;
    const uintptr_t *w = p;
    if (t == NULL) {
        for (size_t i = 0; i < n / TC_PTR_SIZE; i++) {
            uintptr_t v = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
            if (v >= 4096) tc_write_barrier_shade((void *)v);
        }
        return;
    }
    size_t pw = t->ptrdata / TC_PTR_SIZE;
    for (size_t i = 0; i < pw; i++) {
        if (!type_word_is_ptr(t, i)) continue;
        uintptr_t v = __atomic_load_n(&w[i], __ATOMIC_RELAXED);
        if (v >= 4096) tc_write_barrier_shade((void *)v);
    }
}

/* Word-at-a-time copy and clear: a concurrent marker reading a pointer slot
 * must see the old or the new pointer, never a torn mix. */
static void copy_words(uintptr_t *dst, const uintptr_t *src, size_t nwords)
{
    if (dst < src || dst >= src + nwords) {
        for (size_t i = 0; i < nwords; i++)
            __atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    } else {
        for (size_t i = nwords; i-- > 0;)
            __atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    }
}

static void clear_words(uintptr_t *p, size_t nwords)
{
    for (size_t i = 0; i < nwords; i++) __atomic_store_n(&p[i], 0, __ATOMIC_RELAXED);
}

void tc_typedmemmove(const tc_type *t, void *dst, const void *src)
{
    if (dst == src) return;
    if (t->ptrdata == 0) {
        memmove(dst, src, t->size);
        return;
    }
    /* The destination's old pointers are cut: record them first. (The
     * copied pointers need nothing: under a deletion barrier, a pointer the
     * mutator can copy is one the marker will find or has recorded.) */
    shade_old_words(t, dst, t->size);
    size_t pbytes = t->ptrdata;
    copy_words(dst, src, pbytes / TC_PTR_SIZE);
    memmove((char *)dst + pbytes, (const char *)src + pbytes, t->size - pbytes);
}

void tc_typedmemclr(const tc_type *t, void *p)
{
    if (t->ptrdata != 0) {
        shade_old_words(t, p, t->size);
        clear_words(p, t->ptrdata / TC_PTR_SIZE);
    }
    memset((char *)p + t->ptrdata, 0, t->size - t->ptrdata);
}

void tc_memclr_has_pointers(void *p, size_t n)
{
    if ((uintptr_t)p % TC_PTR_SIZE != 0 || n % TC_PTR_SIZE != 0)
        tc_throw("tc_memclr_has_pointers: %p+%zu is not whole aligned words", p, n);
    shade_old_words(NULL, p, n);
    clear_words(p, n / TC_PTR_SIZE);
}

void tc_memclr_no_heap_pointers(void *p, size_t n) { memset(p, 0, n); }
