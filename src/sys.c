/*
 * sys.c — pages from the OS, and the address-space state machine of sys.h.
 *
 * Owns: every mmap, munmap, mprotect and madvise of the library, and the
 * mapped-ready counter.
 *
 * Invariants: every address and length is a multiple of the OS page size
 * (fatal otherwise, naming the values: a misaligned range here is always a
 * bug in the caller). Bytes are charged to a stat on entering Prepared or
 * Ready and uncharged on sys_free, so the sum of all stats is exactly what
 * the library holds mapped from the OS.
 *
 * Concurrency: no locks. mapped_ready is a relaxed atomic counter: it is a
 * statistic, and nothing is ordered by it. The OS page size is computed once;
 * the racy first computation is benign (every racer stores the same value).
 */
#include "sys.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stats.h"

static _Atomic size_t os_page_size;
static _Atomic uint64_t mapped_ready;

size_t sys_page_size(void)
{
    size_t ps = atomic_load_explicit(&os_page_size, memory_order_relaxed);
    if (tc_unlikely(ps == 0)) {
        long v = sysconf(_SC_PAGESIZE);
        if (v <= 0 || !tc_is_pow2((uintptr_t)v) || (size_t)v > TC_PAGE_SIZE)
            tc_throw("sys: unsupported OS page size %ld", v);
        ps = (size_t)v;
        atomic_store_explicit(&os_page_size, ps, memory_order_relaxed);
    }
    return ps;
}

static void check_range(const char *op, const void *v, size_t n)
{
    size_t ps = sys_page_size();
    if (tc_unlikely(n == 0 || (n & (ps - 1)) != 0 || ((uintptr_t)v & (ps - 1)) != 0))
        tc_throw("%s: range %p+%#zx is not a non-empty whole number of %zu-byte pages", op, v, n,
                 ps);
}

static void ready_add(int64_t delta)
{
    atomic_fetch_add_explicit(&mapped_ready, (uint64_t)delta, memory_order_relaxed);
}

uint64_t sys_mapped_ready(void)
{
    return atomic_load_explicit(&mapped_ready, memory_order_relaxed);
}

void *sys_alloc(size_t n, tc_sysstat *stat)
{
    check_range("sys_alloc", NULL, n);
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (p == MAP_FAILED) {
        if (errno == EACCES) tc_throw("sys_alloc: mmap of %zu bytes: access denied", n);
        if (errno == EAGAIN)
            tc_throw("sys_alloc: mmap of %zu bytes: resource temporarily unavailable (ulimit -l?)",
                     n);
        errno = ENOMEM;
        return NULL;
    }
    sysstat_add(stat, (int64_t)n);
    ready_add((int64_t)n);
    return p;
}

void sys_free(void *v, size_t n, tc_sysstat *stat)
{
    check_range("sys_free", v, n);
    if (munmap(v, n) != 0) tc_throw("sys_free: munmap(%p, %#zx) failed: errno %d", v, n, errno);
    sysstat_add(stat, -(int64_t)n);
    ready_add(-(int64_t)n);
}

void *sys_reserve(void *hint, size_t n)
{
    check_range("sys_reserve", NULL, n);
    void *p = mmap(hint, n, PROT_NONE, MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void *sys_reserve_aligned(void *hint, size_t n, size_t align)
{
    if (!tc_is_pow2(align))
        tc_throw("sys_reserve_aligned: alignment %#zx is not a power of two", align);
    if (align <= sys_page_size()) return sys_reserve(hint, n);
    /* Over-reserve by align, then trim both ends back to None. */
    uintptr_t p = (uintptr_t)sys_reserve(hint, n + align);
    if (p == 0) return NULL;
    uintptr_t base = tc_align_up(p, align);
    if (base > p) munmap((void *)p, base - p);
    uintptr_t end = p + n + align;
    if (end > base + n) munmap((void *)(base + n), end - (base + n));
    return (void *)base;
}

/* ---- heap (mheap.c): begin ---- */
void sys_unreserve(void *v, size_t n)
{
    check_range("sys_unreserve", v, n);
    if (munmap(v, n) != 0)
        tc_throw("sys_unreserve: munmap(%p, %#zx) failed: errno %d", v, n, errno);
}
/* ---- heap (mheap.c): end ---- */

void sys_map(void *v, size_t n, tc_sysstat *stat)
{
    check_range("sys_map", v, n);
    void *p = mmap(v, n, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        if (errno == ENOMEM) tc_throw("sys_map: out of memory mapping %p+%#zx", v, n);
        tc_throw("sys_map: mmap(%p, %#zx) failed: errno %d", v, n, errno);
    }
    if (p != v) tc_throw("sys_map: asked for %p, the OS mapped %p", v, p);
    sysstat_add(stat, (int64_t)n);
}

void sys_used(void *v, size_t n, size_t prepared)
{
    check_range("sys_used", v, n);
    if (prepared > n) tc_throw("sys_used: %zu prepared bytes in a range of %zu", prepared, n);
    /* Linux backs Prepared pages on first touch: nothing to ask the OS. */
    ready_add((int64_t)prepared);
}

void sys_unused(void *v, size_t n)
{
    check_range("sys_unused", v, n);
    if (madvise(v, n, MADV_DONTNEED) != 0)
        tc_throw("sys_unused: madvise(%p, %#zx) failed: errno %d", v, n, errno);
    ready_add(-(int64_t)n);
}

void sys_fault(void *v, size_t n)
{
    check_range("sys_fault", v, n);
    if (mprotect(v, n, PROT_NONE) != 0)
        tc_throw("sys_fault: mprotect(%p, %#zx) failed: errno %d", v, n, errno);
    madvise(v, n, MADV_DONTNEED);
    ready_add(-(int64_t)n);
}

void sys_hugepage(void *v, size_t n)
{
    /* Round inward to huge-page bounds: a hint on a partial huge page is useless. */
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t beg = tc_align_up((uintptr_t)v, huge), end = tc_align_down((uintptr_t)v + n, huge);
    if (beg < end) (void)madvise((void *)beg, end - beg, MADV_HUGEPAGE);
}

void sys_nohugepage(void *v, size_t n)
{
    check_range("sys_nohugepage", v, n);
    (void)madvise(v, n, MADV_NOHUGEPAGE);
}

/* ---- public wrappers ---------------------------------------------------- */

void *tc_sys_alloc(size_t n, tc_sysstat *stat) { return sys_alloc(n, stat); }

void tc_sys_free(void *p, size_t n, tc_sysstat *stat) { sys_free(p, n, stat); }

size_t tc_sys_page_size(void) { return sys_page_size(); }
