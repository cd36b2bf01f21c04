/*
 * persistent.c — the persistent allocator (Go's persistentalloc).
 *
 * Owns: 256 KiB chunks from sys, carved by bumping a pointer; never freed.
 *
 * Design. Each thread has a private chunk cursor (thread-local, so the common
 * path takes no lock and does no atomic read-modify-write beyond the
 * statistics). When a request does not fit in the rest of the thread's chunk,
 * the rest is abandoned and a new chunk is taken: first from the pool of
 * chunks that exiting threads left part-used (one whose rest holds the
 * request), else from the OS. Requests of PERSISTENT_MAX_BLOCK bytes and
 * more bypass chunks and go to sys directly.
 *
 * Accounting. A chunk is charged to stat_persistent when mapped; each block
 * handed out moves its bytes from stat_persistent to the caller's stat. So
 * stat_persistent holds exactly the chunks' unused and abandoned remainder.
 *
 * Invariants: memory handed out is zero (fresh from mmap, never reused);
 * every block is aligned as asked; no two blocks overlap.
 *
 * Concurrency:
 *   - the thread cursor is touched only by its thread;
 *   - all_chunks is a lock-free push-only list linked through each chunk's
 *     first word (release on push, acquire on walk), so persistent_contains
 *     may walk it while other threads add chunks;
 *   - orphan_lock (a leaf in runtime.h's lock order) guards
 *     the orphans list of part-used chunks from exited threads.
 */
#include "persistent.h"

#include <errno.h>

#include "stats.h"
#include "sys.h"

struct palloc {
    uintptr_t base; /* chunk start, 0 when the thread has none */
    size_t off;     /* first unused byte */
};

struct orphan { /* lives at the start of the chunk's free tail */
    struct orphan *next;
    uintptr_t base;
};

static __thread struct palloc thread_cursor;
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static _Atomic uintptr_t all_chunks; /* first word of each chunk links to the next */
static tc_mutex orphan_lock = TC_MUTEX_INIT;
static struct orphan *orphans;

/* The chunk's first word is the all_chunks link, so carving starts after it. */
#define CHUNK_HEADER sizeof(uintptr_t)

static void thread_exit(void *unused);

static void make_exit_key(void)
{
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        tc_throw("persistent: pthread_key_create failed");
}

/* A thread leaves its part-used chunk to the pool. The orphan record lives in
 * the chunk's own free tail when there is room, so leaving costs no memory. */
static void thread_exit(void *unused)
{
    (void)unused;
    struct palloc *c = &thread_cursor;
    if (c->base == 0) return;
    uintptr_t rec = tc_align_up(c->base + c->off, _Alignof(struct orphan));
    if (rec + sizeof(struct orphan) <= c->base + PERSISTENT_CHUNK_SIZE) {
        struct orphan *o = (struct orphan *)rec;
        o->base = c->base;
        tc_lock(&orphan_lock);
        o->next = orphans;
        orphans = o;
        tc_unlock(&orphan_lock);
    }
    c->base = 0;
}

/* A chunk for a request of size bytes at align: the first orphan whose rest
 * holds it, else a new chunk from the OS (which always does: size is below
 * PERSISTENT_MAX_BLOCK and align at most a page). An orphan too small for
 * the request stays in the pool for smaller ones; handing it out anyway
 * would carve the block past the chunk's end, into whatever the OS mapped
 * there. */
static bool new_chunk(struct palloc *c, size_t size, size_t align)
{
    tc_lock(&orphan_lock);
    struct orphan **pp = &orphans, *o;
    while ((o = *pp) != NULL &&
           tc_align_up((uintptr_t)o, align) + size > o->base + PERSISTENT_CHUNK_SIZE)
        pp = &o->next;
    if (o != NULL) *pp = o->next;
    tc_unlock(&orphan_lock);
    if (o != NULL) {
        /* Resume carving at the record itself, zeroed again first. */
        c->base = o->base;
        c->off = (uintptr_t)o - o->base;
        *o = (struct orphan){0};
        return true;
    }
    uintptr_t chunk = (uintptr_t)sys_alloc(PERSISTENT_CHUNK_SIZE, &stat_persistent);
    if (chunk == 0) return false;
    uintptr_t head = atomic_load_explicit(&all_chunks, memory_order_relaxed);
    do {
        *(uintptr_t *)chunk = head;
    } while (!atomic_compare_exchange_weak_explicit(&all_chunks, &head, chunk, memory_order_release,
                                                    memory_order_relaxed));
    c->base = chunk;
    c->off = CHUNK_HEADER;
    return true;
}

void *persistent_alloc(size_t size, size_t align, tc_sysstat *stat)
{
    if (size == 0) tc_throw("persistent_alloc: size 0");
    if (align == 0) align = 8;
    if (!tc_is_pow2(align))
        tc_throw("persistent_alloc: alignment %zu is not a power of two", align);
    if (align > TC_PAGE_SIZE)
        tc_throw("persistent_alloc: alignment %zu is larger than the %zu-byte page", align,
                 TC_PAGE_SIZE);
    if (stat == NULL) stat = &tc_sysstat_other;

    if (size >= PERSISTENT_MAX_BLOCK) {
        size_t n = tc_align_up(size, sys_page_size());
        void *p = sys_alloc(n, stat);
        if (p != NULL) atomic_fetch_add_explicit(&stats_persistent_inuse, n, memory_order_relaxed);
        return p;
    }

    /* Stay in a critical section: a stop must not park this thread between
     * reading and advancing its cursor while it holds the orphan lock. */
    critical_enter();
    struct palloc *c = &thread_cursor;
    if (c->base == 0) {
        pthread_once(&exit_key_once, make_exit_key);
        pthread_setspecific(exit_key, c);
    }
    uintptr_t p = tc_align_up(c->base + c->off, align);
    if (c->base == 0 || p + size > c->base + PERSISTENT_CHUNK_SIZE) {
        if (!new_chunk(c, size, align)) {
            critical_leave();
            errno = ENOMEM;
            return NULL;
        }
        p = tc_align_up(c->base + c->off, align);
    }
    c->off = p + size - c->base;
    critical_leave();

    sysstat_move(&stat_persistent, stat, size);
    atomic_fetch_add_explicit(&stats_persistent_inuse, size, memory_order_relaxed);
    return (void *)p;
}

bool persistent_contains(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (uintptr_t c = atomic_load_explicit(&all_chunks, memory_order_acquire); c != 0;
         c = *(uintptr_t *)c) {
        if (a >= c && a < c + PERSISTENT_CHUNK_SIZE) return true;
    }
    return false;
}

void *tc_persistent_alloc(size_t size, size_t align, tc_sysstat *stat)
{
    return persistent_alloc(size, align, stat);
}
