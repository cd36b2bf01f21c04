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
 * buffer. A full buffer is queued, unshaded, for the mark workers (wbq) and
 * the thread takes an empty one: shading 256 pointers costs tens of
 * microseconds of cache misses, which would land on one unlucky store in
 * 256 (Go shades on the mutator; under a snapshot barrier the shading may
 * wait, as long as it is done before mark termination). The collector
 * shades what is left in the threads' buffers and in the queue at every
 * mark-termination stop, so marking never ends with a record unshaded. The
 * slow path runs inside a runtime critical section, so a stop never finds a
 * buffer or a gcwork half-updated. Records made after one cycle's stop #2
 * (a thread stopped between its store and its record) and before the next
 * cycle's stop #1 are dropped at that stop #1: the snapshot comes after
 * them, so they protect nothing, and the objects they name may since have
 * been freed.
 *
 * Concurrency: tc_write_barrier is written only with the world stopped. The
 * current buffer and gcwork of a thread are touched by that thread (in
 * critical sections) or by the collector while the thread is stopped.
 * wbq_mu (a leaf: nothing is taken under it) guards the queue of full
 * buffers and the free list; buffers are allocated from mutator_pool under
 * mutator_mu, never while wbq_mu is held.
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

static tc_mutex mutator_mu = TC_MUTEX_INIT; /* the pools below (may take persistent's lock) */
static tc_fixalloc mutator_pool, wbblock_pool;
static bool mutator_pool_ready;

static tc_mutex wbq_mu = TC_MUTEX_INIT; /* leaf */
static wbblock *wbq_full;               /* queued for the markers; under wbq_mu */
static wbblock *wbq_free;               /* empty buffers; under wbq_mu */
static _Atomic size_t wbq_nfull;        /* length of wbq_full (lock-free hint) */

static void pools_init_locked(void)
{
    if (!mutator_pool_ready) {
        tc_fixalloc_init(&mutator_pool, sizeof(mutator_gc), NULL, NULL, &stat_gcmeta);
        tc_fixalloc_init(&wbblock_pool, sizeof(wbblock), NULL, NULL, &stat_gcmeta);
        mutator_pool_ready = true;
    }
}

/* The free list, under wbq_mu: an empty buffer off it (NULL if none), and
 * a buffer back onto it. */
static wbblock *wbblock_pop_free_locked(void)
{
    wbblock *b = wbq_free;
    if (b != NULL) wbq_free = b->next;
    return b;
}
static void wbblock_put_free_locked(wbblock *b)
{
    b->n = 0;
    b->next = wbq_free;
    wbq_free = b;
}
static void wbblock_put_free(wbblock *b)
{
    tc_lock(&wbq_mu);
    wbblock_put_free_locked(b);
    tc_unlock(&wbq_mu);
}

/* An empty buffer: from the free list, else newly allocated. */
static wbblock *wbblock_get(void)
{
    tc_lock(&wbq_mu);
    wbblock *b = wbblock_pop_free_locked();
    tc_unlock(&wbq_mu);
    if (b == NULL) {
        tc_lock(&mutator_mu);
        pools_init_locked();
        b = tc_fixalloc_alloc(&wbblock_pool);
        tc_unlock(&mutator_mu);
        if (b == NULL) tc_throw("barrier: out of memory for a write-barrier buffer");
    }
    b->next = NULL;
    b->n = 0;
    return b;
}

bool wbq_nonempty(void) { return atomic_load_explicit(&wbq_nfull, memory_order_acquire) != 0; }

bool wbq_shade_one(gcwork *w)
{
    if (!wbq_nonempty()) return false;
    tc_lock(&wbq_mu);
    wbblock *b = wbq_full;
    if (b != NULL) {
        wbq_full = b->next;
        atomic_fetch_sub_explicit(&wbq_nfull, 1, memory_order_relaxed);
    }
    tc_unlock(&wbq_mu);
    if (b == NULL) return false;
    for (size_t i = 0; i < b->n; i++) shade(b->p[i], w);
    wbblock_put_free(b);
    return true;
}

void wbq_drop_all(void)
{
    tc_lock(&wbq_mu);
    while (wbq_full != NULL) {
        wbblock *b = wbq_full;
        wbq_full = b->next;
        wbblock_put_free_locked(b);
    }
    atomic_store_explicit(&wbq_nfull, 0, memory_order_relaxed);
    tc_unlock(&wbq_mu);
}

void wbq_after_fork_child(void)
{
    /* A marker of the parent may have held it while shading: the child has
     * no such thread. The queued buffers are dropped at its first stop #1. */
    pthread_mutex_init(&wbq_mu.m, NULL);
}

/* The calling thread's buffer is full: queue it, take an empty one. */
static void wbuf_queue_full(mutator_gc *m)
{
    wbblock *full = m->wb;
    tc_lock(&wbq_mu);
    full->next = wbq_full;
    wbq_full = full;
    atomic_fetch_add_explicit(&wbq_nfull, 1, memory_order_release);
    wbblock *b = wbblock_pop_free_locked(); /* n is 0 on the free list */
    tc_unlock(&wbq_mu);
    m->wb = b; /* NULL: the next record gets one (wbblock_get) */
    gc_markers_wake();
}

mutator_gc *mutator_gc_of(tc_thread *t)
{
    if (t->gcw == NULL) {
        tc_lock(&mutator_mu);
        pools_init_locked();
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
    wbblock *b = m->wb;
    if (b != NULL) {
        for (size_t i = 0; i < b->n; i++) shade(b->p[i], &m->w);
        b->n = 0;
    }
    gcw_dispose(&m->w);
}

void wbuf_drop(mutator_gc *m)
{
    if (m->wb != NULL) m->wb->n = 0;
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
     * record is then harmless (the buffer is dropped at the next stop #1). */
    wbblock *b = m->wb;
    if (tc_unlikely(b == NULL)) b = m->wb = wbblock_get();
    b->p[b->n++] = (uintptr_t)old;
    if (b->n == WBUF_ENTRIES) {
        uint64_t t0 = gc_slow_timed() ? tc_mono_ns() : 0;
        wbuf_queue_full(m);
        if (t0 != 0) gc_slow_note(GC_SLOW_WBUF, t0);
    }
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
        wbuf_flush(m); /* shades the records and disposes of m->w */
    else {
        wbuf_drop(m);
        gcw_dispose(&m->w);
    }
    if (m->wb != NULL) {
        wbblock_put_free(m->wb);
        m->wb = NULL;
    }
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
