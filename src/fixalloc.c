/*
 * fixalloc.c — slab allocator of one object size (Go's fixalloc).
 *
 * Owns: the chunks of each pool, carved from the persistent allocator, and
 * the pool's free list.
 *
 * Invariants:
 *   - a freed object is only ever handed out again by the pool it came from
 *     (memory never migrates between pools, nor back to the OS);
 *   - objects carved from a fresh chunk are zero (persistent memory is zero)
 *     and are never cleared again; reused objects are cleared iff f->zero;
 *   - f->first runs exactly once per object, the first time it is handed out;
 *   - f->inuse == size * (objects handed out - objects freed).
 *
 * Concurrency: none inside. The caller serialises all calls on one pool, as
 * in Go, where every pool is guarded by the lock of the structure that owns
 * it. Nothing shared is touched on alloc or free: each pool counts its own
 * bytes in use (f->inuse), so a pair costs no atomic operation.
 *
 * Debug checks (TC_DEBUG=fixalloccheck=1, read at tc_fixalloc_init): the pool
 * records each chunk with one bit per object, set while the object is handed
 * out. A free of an address outside the pool's chunks, not on an object
 * boundary, or of an object that is not handed out, is fatal.
 */
#include <string.h>

#include "debug.h"
#include "persistent.h"
#include "stats.h"
#include "sys.h"

#define FIXALLOC_CHUNK ((size_t)16 << 10)
#define CHECK_BITS     (FIXALLOC_CHUNK / sizeof(void *))

struct check_chunk {
    uintptr_t base;
    uint64_t handed_out[CHECK_BITS / 64];
};

struct fixcheck {
    size_t n, cap;              /* chunks recorded, capacity of the array */
    struct check_chunk *chunks; /* sorted by base; memory from sys */
};

static tc_sysstat stat_fixcheck = TC_SYSSTAT_INIT("fixalloccheck", TC_SYSCAT_OTHER);

void tc_fixalloc_init(tc_fixalloc *f, size_t size, void (*first)(void *arg, void *obj), void *arg,
                      tc_sysstat *stat)
{
    if (size > FIXALLOC_CHUNK)
        tc_throw("fixalloc_init: object size %zu is larger than the %zu-byte chunk", size,
                 FIXALLOC_CHUNK);
    if (size < sizeof(void *)) size = sizeof(void *);
    size = tc_align_up(size, sizeof(void *));
    *f = (tc_fixalloc){
        .size = size,
        .first = first,
        .arg = arg,
        .nalloc = (uint32_t)(FIXALLOC_CHUNK / size * size),
        .stat = stat != NULL ? stat : &tc_sysstat_fixalloc,
        .zero = true,
    };
    if (tc_debug.fixalloccheck) {
        f->check = persistent_alloc(sizeof(struct fixcheck), 0, &stat_fixcheck);
        if (f->check == NULL) tc_throw("fixalloc_init: out of memory for fixalloccheck");
    }
}

/* ---- fixalloccheck bookkeeping --------------------------------------------- */

static struct check_chunk *check_find(struct fixcheck *c, uintptr_t p)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->chunks[mid].base <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NULL : &c->chunks[lo - 1];
}

static void check_add_chunk(struct fixcheck *c, uintptr_t base)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        size_t bytes = tc_align_up(ncap * sizeof(struct check_chunk), sys_page_size());
        struct check_chunk *nc = sys_alloc(bytes, &stat_fixcheck);
        if (nc == NULL) tc_throw("fixalloccheck: out of memory");
        if (c->n) {
            memcpy(nc, c->chunks, c->n * sizeof *nc);
            sys_free(c->chunks, tc_align_up(c->cap * sizeof(struct check_chunk), sys_page_size()),
                     &stat_fixcheck);
        }
        c->chunks = nc;
        c->cap = bytes / sizeof(struct check_chunk);
    }
    size_t i = c->n;
    while (i > 0 && c->chunks[i - 1].base > base) {
        c->chunks[i] = c->chunks[i - 1];
        i--;
    }
    c->chunks[i] = (struct check_chunk){.base = base};
    c->n++;
}

static void check_alloc(tc_fixalloc *f, uintptr_t p)
{
    struct check_chunk *ch = check_find(f->check, p);
    size_t i = (p - ch->base) / f->size;
    ch->handed_out[i / 64] |= (uint64_t)1 << (i % 64);
}

static void check_free(tc_fixalloc *f, uintptr_t p)
{
    struct check_chunk *ch = check_find(f->check, p);
    if (ch == NULL || p >= ch->base + f->nalloc)
        tc_throw("fixalloc_free: %p was not allocated from pool %p (object size %zu)", (void *)p,
                 (void *)f, f->size);
    if ((p - ch->base) % f->size != 0)
        tc_throw("fixalloc_free: %p is not the start of an object of pool %p (object size %zu)",
                 (void *)p, (void *)f, f->size);
    size_t i = (p - ch->base) / f->size;
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (!(ch->handed_out[i / 64] & bit))
        tc_throw("fixalloc_free: double free of %p in pool %p (object size %zu)", (void *)p,
                 (void *)f, f->size);
    ch->handed_out[i / 64] &= ~bit;
}

/* ---- allocation ------------------------------------------------------------ */

void *tc_fixalloc_alloc(tc_fixalloc *f)
{
    if (tc_unlikely(f->size == 0))
        tc_throw("fixalloc_alloc: pool %p is not initialised", (void *)f);
    void *v;
    if (f->list != NULL) {
        v = f->list;
        f->list = *(void **)v;
        if (f->zero) memset(v, 0, f->size);
    } else {
        if (f->nchunk < f->size) {
            void *chunk = persistent_alloc(f->nalloc, 0, f->stat);
            if (chunk == NULL) return NULL;
            f->chunk = (uintptr_t)chunk;
            f->nchunk = f->nalloc;
            if (f->check) check_add_chunk(f->check, f->chunk);
        }
        v = (void *)f->chunk;
        if (f->first) f->first(f->arg, v);
        f->chunk += f->size;
        f->nchunk -= (uint32_t)f->size;
    }
    f->inuse += f->size;
    if (f->check) check_alloc(f, (uintptr_t)v);
    return v;
}

void tc_fixalloc_free(tc_fixalloc *f, void *obj)
{
    if (tc_unlikely(obj == NULL)) tc_throw("fixalloc_free: NULL into pool %p", (void *)f);
    if (f->check) check_free(f, (uintptr_t)obj);
    if (tc_unlikely(f->inuse < f->size))
        tc_throw("fixalloc_free: pool %p has nothing handed out, freeing %p", (void *)f, obj);
    f->inuse -= f->size;
    *(void **)obj = f->list;
    f->list = obj;
}
