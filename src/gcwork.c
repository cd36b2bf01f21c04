/*
 * gcwork.c — work buffers and the global lists of full and empty buffers.
 *
 * Owns: every workbuf (2 KiB, carved from 64 KiB batches of OS pages charged
 * to stat_gcmeta). Buffers are never returned to the OS: the pool grows to
 * the peak depth of the grey set and is reused by every later cycle. (Go
 * frees surplus buffers from the sweeper; a bounded pool is simpler and the
 * peak is small next to the heap — one word per grey object.)
 *
 * Invariants:
 *   - a buffer is in exactly one place: the full list, the empty list, or
 *     one gcwork's wbuf1/wbuf2;
 *   - buffers on the empty list have nobj == 0; on the full list nobj > 0;
 *   - nfull == length of the full list; ntotal == every buffer ever carved.
 *
 * Locking: list_lock (runtime.h's lock order: a leaf) guards both lists and
 * their counts. Markers touch the lists only when a local buffer fills or
 * empties — once per ~254 objects — so one mutex does not contend in
 * practice. nfull is also an atomic so markers can poll for work without the
 * lock (relaxed: a stale answer only delays a steal).
 */
#include "gcwork.h"

#include <string.h>

#include "stats.h"
#include "sys.h"

#define WORKBUF_BATCH ((size_t)64 << 10)

static tc_mutex list_lock = TC_MUTEX_INIT;
static workbuf *full_list, *empty_list;
static _Atomic size_t nfull;
static size_t nempty, ntotal;

static workbuf *get_empty(void)
{
    tc_lock(&list_lock);
    workbuf *b = empty_list;
    if (b == NULL) {
        workbuf *batch = sys_alloc(WORKBUF_BATCH, &stat_gcmeta);
        if (batch == NULL) tc_throw("gcwork: out of memory for work buffers");
        size_t n = WORKBUF_BATCH / sizeof(workbuf);
        for (size_t i = 1; i < n; i++) {
            batch[i].next = empty_list;
            empty_list = &batch[i];
        }
        nempty += n - 1;
        ntotal += n;
        b = &batch[0];
    } else {
        empty_list = b->next;
        nempty--;
    }
    tc_unlock(&list_lock);
    b->next = NULL;
    b->nobj = 0;
    return b;
}

static void put_empty(workbuf *b)
{
    TC_ASSERT(b->nobj == 0);
    tc_lock(&list_lock);
    b->next = empty_list;
    empty_list = b;
    nempty++;
    tc_unlock(&list_lock);
}

static void put_full(workbuf *b)
{
    TC_ASSERT(b->nobj > 0);
    tc_lock(&list_lock);
    b->next = full_list;
    full_list = b;
    atomic_fetch_add_explicit(&nfull, 1, memory_order_relaxed);
    tc_unlock(&list_lock);
}

static workbuf *get_full(void)
{
    if (atomic_load_explicit(&nfull, memory_order_relaxed) == 0) return NULL;
    tc_lock(&list_lock);
    workbuf *b = full_list;
    if (b != NULL) {
        full_list = b->next;
        atomic_fetch_sub_explicit(&nfull, 1, memory_order_relaxed);
    }
    tc_unlock(&list_lock);
    if (b != NULL) b->next = NULL;
    return b;
}

void gcw_put_slow(gcwork *w, uintptr_t obj)
{
    workbuf *b = w->wbuf1;
    if (tc_unlikely(b == NULL)) {
        w->wbuf1 = b = get_empty();
        w->wbuf2 = get_empty();
    } else if (tc_unlikely(b->nobj == WORKBUF_NOBJ)) {
        /* Swap in the other buffer; if it is full too, publish it. */
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = b;
        b = w->wbuf1;
        if (b->nobj == WORKBUF_NOBJ) {
            put_full(b);
            w->flushed_work = true;
            w->wbuf1 = b = get_empty();
        }
    }
    b->obj[b->nobj++] = obj;
}

uintptr_t gcw_tryget(gcwork *w)
{
    uintptr_t obj = gcw_tryget_fast(w);
    if (obj != 0) return obj;
    workbuf *b = w->wbuf1;
    if (b == NULL) {
        w->wbuf1 = b = get_empty();
        w->wbuf2 = get_empty();
    }
    if (w->wbuf2->nobj > 0) {
        w->wbuf1 = w->wbuf2;
        w->wbuf2 = b;
    } else {
        workbuf *f = get_full();
        if (f == NULL) return 0;
        put_empty(b);
        w->wbuf1 = f;
    }
    b = w->wbuf1;
    return b->obj[--b->nobj];
}

void gcw_balance(gcwork *w)
{
    if (w->wbuf1 == NULL || atomic_load_explicit(&nfull, memory_order_relaxed) != 0) return;
    if (w->wbuf2->nobj > 0) {
        put_full(w->wbuf2);
        w->wbuf2 = get_empty();
        w->flushed_work = true;
    } else if (w->wbuf1->nobj > 4) {
        /* Donate half of the only local buffer. */
        workbuf *b = get_empty();
        size_t half = w->wbuf1->nobj / 2;
        w->wbuf1->nobj -= half;
        memcpy(b->obj, &w->wbuf1->obj[w->wbuf1->nobj], half * sizeof(uintptr_t));
        b->nobj = half;
        put_full(b);
        w->flushed_work = true;
    }
}

static void dispose_one(gcwork *w, workbuf *b)
{
    if (b == NULL) return;
    if (b->nobj > 0) {
        put_full(b);
        w->flushed_work = true;
    } else {
        put_empty(b);
    }
}

void gcw_dispose(gcwork *w)
{
    dispose_one(w, w->wbuf1);
    dispose_one(w, w->wbuf2);
    w->wbuf1 = w->wbuf2 = NULL;
}

bool gcw_empty(const gcwork *w)
{
    return (w->wbuf1 == NULL || w->wbuf1->nobj == 0) && (w->wbuf2 == NULL || w->wbuf2->nobj == 0);
}

bool work_full_nonempty(void) { return atomic_load_explicit(&nfull, memory_order_relaxed) != 0; }

void work_check(bool expect_empty)
{
    tc_lock(&list_lock);
    size_t nf = 0, ne = 0;
    for (workbuf *b = full_list; b != NULL; b = b->next, nf++)
        if (b->nobj == 0 || b->nobj > WORKBUF_NOBJ)
            tc_throw("work_check: buffer %p on the full list holds %zu objects", (void *)b,
                     b->nobj);
    for (workbuf *b = empty_list; b != NULL; b = b->next, ne++)
        if (b->nobj != 0)
            tc_throw("work_check: buffer %p on the empty list holds %zu objects", (void *)b,
                     b->nobj);
    size_t nf_atomic = atomic_load_explicit(&nfull, memory_order_relaxed);
    if (nf != nf_atomic || ne != nempty || nf + ne > ntotal)
        tc_throw("work_check: full %zu (count %zu), empty %zu (count %zu), total %zu", nf,
                 nf_atomic, ne, nempty, ntotal);
    if (expect_empty && nf != 0) tc_throw("work_check: %zu full buffers left after marking", nf);
    tc_unlock(&list_lock);
}
