/*
 * roots.c — explicit roots: ranges of unmanaged memory that hold heap
 * pointers and that the collector must scan.
 *
 * Owns: the registry of tc_root records (from a fixalloc pool, zeroed on
 * reuse), kept as a list sorted by base address.
 *
 * Invariants: registered ranges never overlap; each is pointer aligned and
 * a whole number of words (and of its layout's size when precise); a record
 * on the list has state ROOT_LIVE, a record freed by tc_root_unregister has
 * ROOT_DEAD until the pool hands it out again, which is how a second
 * unregister of the same handle is caught (unless a register in between
 * reused the record: the pool is LIFO, so only an intervening register can
 * hide the bug).
 *
 * Locking: roots_mu (runtime.h's lock order: taken before gcwork's and the
 * persistent allocator's locks, which the fixalloc pool may need) guards the
 * list, the pool and the counts. The collector holds it while it scans
 * roots, so unregistering waits for a scan in progress.
 */
#include "roots.h"

#include "barrier.h"
#include "stats.h"
#include "types.h"

enum { ROOT_DEAD = 0xdead, ROOT_LIVE = 0x1157 };

static tc_mutex roots_mu = TC_MUTEX_INIT;
static tc_fixalloc root_pool;
static bool pool_ready;
static struct tc_root *roots_head; /* sorted by base */
static size_t nroots, root_bytes;

void roots_lock(void) { tc_lock(&roots_mu); }
void roots_unlock(void) { tc_unlock(&roots_mu); }

tc_root *tc_root_register(void *base, size_t size, const tc_type *layout, unsigned flags)
{
    uintptr_t b = (uintptr_t)base;
    if (b == 0 || b % TC_PTR_SIZE != 0)
        tc_throw("tc_root_register: base %p is not pointer aligned", base);
    if (size == 0 || size % TC_PTR_SIZE != 0)
        tc_throw("tc_root_register: size %zu of root %p is not a whole number of words", size,
                 base);
    if (b + size < b) tc_throw("tc_root_register: root %p+%zu wraps around", base, size);
    if (layout != NULL && size % layout->size != 0)
        tc_throw("tc_root_register: size %zu of root %p is not a multiple of type %s (%zu bytes)",
                 size, base, layout->name, layout->size);
    if (flags & ~TC_ROOT_BARRIERED)
        tc_throw("tc_root_register: unknown flags %#x for root %p", flags, base);

    tc_lock(&roots_mu);
    if (!pool_ready) {
        tc_fixalloc_init(&root_pool, sizeof(struct tc_root), NULL, NULL, &stat_gcmeta);
        pool_ready = true;
    }
    struct tc_root *prev = NULL, *next = roots_head;
    while (next != NULL && next->base < b) {
        prev = next;
        next = next->next;
    }
    if ((prev != NULL && prev->base + prev->size > b) || (next != NULL && b + size > next->base)) {
        const struct tc_root *o = (prev != NULL && prev->base + prev->size > b) ? prev : next;
        tc_throw("tc_root_register: root %p+%zu overlaps registered root %p+%zu", base, size,
                 (void *)o->base, o->size);
    }
    struct tc_root *r = tc_fixalloc_alloc(&root_pool);
    if (r == NULL) tc_throw("tc_root_register: out of memory");
    *r = (struct tc_root){.next = next,
                          .base = b,
                          .size = size,
                          .layout = layout,
                          .flags = flags,
                          .state = ROOT_LIVE,
                          .prev = prev};
    if (prev != NULL)
        prev->next = r;
    else
        roots_head = r;
    if (next != NULL) next->prev = r;
    nroots++;
    root_bytes += size;
    tc_unlock(&roots_mu);
    return r;
}

void tc_root_unregister(tc_root *r)
{
    if (r == NULL) tc_throw("tc_root_unregister: NULL root");
    tc_lock(&roots_mu);
    if (r->state != ROOT_LIVE)
        tc_throw(
            "tc_root_unregister: root %p (range %p+%zu) is not registered (unregistered twice?)",
            (void *)r, (void *)r->base, r->size);
    /* While marking runs, a barriered root's edges are cut here without a
     * barrier: record them first (plain roots were scanned in the snapshot). */
    if ((r->flags & TC_ROOT_BARRIERED) && tc_write_barrier) barrier_shade_root(r);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        roots_head = r->next;
    if (r->next != NULL) r->next->prev = r->prev;
    nroots--;
    root_bytes -= r->size;
    r->state = ROOT_DEAD;
    /* state stays readable after the free: the pool overwrites only `next`. */
    tc_fixalloc_free(&root_pool, r);
    tc_unlock(&roots_mu);
}

void roots_for_each(void (*fn)(const struct tc_root *r, void *arg), void *arg)
{
    for (const struct tc_root *r = roots_head; r != NULL; r = r->next) fn(r, arg);
}

const struct tc_root *roots_find(uintptr_t p)
{
    for (const struct tc_root *r = roots_head; r != NULL && r->base <= p; r = r->next)
        if (p < r->base + r->size) return r;
    return NULL;
}

bool roots_still_registered(const struct tc_root *r, uintptr_t base, size_t len)
{
    return r->state == ROOT_LIVE && base >= r->base && base + len <= r->base + r->size;
}

void roots_totals(size_t *count, size_t *bytes)
{
    *count = nroots;
    *bytes = root_bytes;
}
