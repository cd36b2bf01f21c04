/*
 * gcwork.h — the grey set: work buffers of object pointers waiting to be
 * scanned (Go's gcWork / workbuf).
 *
 * Colours: white = mark bit clear; grey = mark bit set and the object's
 * address in some work buffer; black = mark bit set and no longer queued.
 * Whoever sets an object's mark bit (greyobject) puts it here, unless it is
 * pointer-free and so goes straight to black.
 */
#ifndef TC_GCWORK_H
#define TC_GCWORK_H

#include "runtime.h"

#define WORKBUF_BYTES 2048
#define WORKBUF_NOBJ  ((WORKBUF_BYTES - 2 * sizeof(uintptr_t)) / sizeof(uintptr_t)) /* 254 */

typedef struct workbuf {
    struct workbuf *next; /* link on the global full or empty list */
    size_t nobj;
    uintptr_t obj[WORKBUF_NOBJ];
} workbuf;

/* One marker's local grey set: two buffers for hysteresis, so a marker that
 * alternates put and get at a buffer boundary does not bounce a buffer to
 * and from the global lists. Owned by one thread at a time; no locking. */
typedef struct gcwork {
    workbuf *wbuf1, *wbuf2;
    uint64_t bytes_marked; /* bytes of objects this marker blackened */
    uint64_t scan_work;    /* bytes scanned, for the pacer and assists */
    bool flushed_work;     /* gave a non-empty buffer to the global list since last asked */
} gcwork;

/* Queue a grey object: the slow half, when wbuf1 is missing or full. */
void gcw_put_slow(gcwork *w, uintptr_t obj);

/* Queue a grey object. Inline: markers call it once per object they shade. */
static inline void gcw_put(gcwork *w, uintptr_t obj)
{
    workbuf *b = w->wbuf1;
    if (tc_likely(b != NULL && b->nobj < WORKBUF_NOBJ)) {
        b->obj[b->nobj++] = obj;
        return;
    }
    gcw_put_slow(w, obj);
}

/* The next grey object, local buffers first, then the global full list; 0
 * when no work is available anywhere right now. */
uintptr_t gcw_tryget(gcwork *w);

/* Local-only variant: 0 when both local buffers are empty. */
static inline uintptr_t gcw_tryget_fast(gcwork *w)
{
    workbuf *b = w->wbuf1;
    if (b != NULL && b->nobj > 0) return b->obj[--b->nobj];
    return 0;
}

/* If the global full list is empty and this marker holds more than a
 * buffer's worth, donate a buffer so idle markers can steal it. */
void gcw_balance(gcwork *w);

/* Give every local buffer back (full ones to the full list, empty ones to the
 * empty list) and leave w empty. Counters are left for the caller to read. */
void gcw_dispose(gcwork *w);

/* Whether w holds no grey object. */
bool gcw_empty(const gcwork *w);

/* Whether the global full list holds work (a racy hint; exact when markers
 * are quiescent). */
bool work_full_nonempty(void);

/* Validity checker: the lists are well formed and counts add up. With
 * expect_empty, the full list must be empty (mark termination). */
void work_check(bool expect_empty);

#endif
