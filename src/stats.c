/*
 * stats.c — accounting of OS memory by named stat and category, and
 * tc_read_stats / tc_print_stats.
 *
 * Owns: the predefined tc_sysstats, the per-category totals and the in-use
 * counters of the unmanaged allocators.
 *
 * Invariant: category_total[c] == sum of the bytes of every stat of category
 * c, and the sum over categories == every byte the library has in the
 * Prepared or Ready state. All counters are relaxed atomics (see stats.h).
 */
#include "stats.h"

#include "mheap.h" /* heap (mheap.c): mheap_read_stats */

#include <inttypes.h>
#include <string.h>

tc_sysstat tc_sysstat_other = TC_SYSSTAT_INIT("other", TC_SYSCAT_OTHER);
tc_sysstat tc_sysstat_fixalloc = TC_SYSSTAT_INIT("fixalloc", TC_SYSCAT_FIXALLOC);
tc_sysstat stat_persistent = TC_SYSSTAT_INIT("persistent", TC_SYSCAT_PERSISTENT);
tc_sysstat stat_gcmeta = TC_SYSSTAT_INIT("gc metadata", TC_SYSCAT_GCMETA);
tc_sysstat stat_heap = TC_SYSSTAT_INIT("heap", TC_SYSCAT_HEAP);

static _Atomic uint64_t category_total[TC_SYSCAT_COUNT];
_Atomic uint64_t stats_persistent_inuse;

static const char *const category_names[TC_SYSCAT_COUNT] = {
    "heap", "persistent", "fixalloc", "gc metadata", "other",
};

void sysstat_add(tc_sysstat *stat, int64_t delta)
{
    if (stat == NULL) stat = &tc_sysstat_other;
    if ((unsigned)stat->category >= TC_SYSCAT_COUNT)
        tc_throw("sysstat %p (%s): bad category %d", (void *)stat, stat->name ? stat->name : "?",
                 (int)stat->category);
    uint64_t old = __atomic_fetch_add(&stat->bytes, (uint64_t)delta, __ATOMIC_RELAXED);
    if (delta < 0 && old < (uint64_t)-delta)
        tc_throw("sysstat %p (%s): %" PRIu64 " bytes, cannot take away %" PRId64, (void *)stat,
                 stat->name ? stat->name : "?", old, -delta);
    atomic_fetch_add_explicit(&category_total[stat->category], (uint64_t)delta,
                              memory_order_relaxed);
}

void sysstat_move(tc_sysstat *from, tc_sysstat *to, uint64_t n)
{
    if (from == NULL) from = &tc_sysstat_other;
    if (to == NULL) to = &tc_sysstat_other;
    if (from == to || n == 0) return;
    sysstat_add(to, (int64_t)n);
    sysstat_add(from, -(int64_t)n);
}

uint64_t tc_sysstat_read(const tc_sysstat *stat)
{
    if (stat == NULL) stat = &tc_sysstat_other;
    return __atomic_load_n(&stat->bytes, __ATOMIC_RELAXED);
}

void tc_read_stats(tc_stats *out)
{
    memset(out, 0, sizeof *out);
    for (int c = 0; c < TC_SYSCAT_COUNT; c++) {
        out->sys_by_category[c] = atomic_load_explicit(&category_total[c], memory_order_relaxed);
        out->sys_total += out->sys_by_category[c];
    }
    out->persistent_inuse = atomic_load_explicit(&stats_persistent_inuse, memory_order_relaxed);
    mheap_read_stats(out); /* heap (mheap.c) */
}

void tc_print_stats(const tc_stats *st, FILE *out)
{
    fprintf(out, "%-28s %14s\n", "memory from the OS", "bytes");
    for (int c = 0; c < TC_SYSCAT_COUNT; c++)
        fprintf(out, "  %-26s %14" PRIu64 "\n", category_names[c], st->sys_by_category[c]);
    fprintf(out, "  %-26s %14" PRIu64 "\n", "total", st->sys_total);
    fprintf(out, "%-28s %14" PRIu64 "\n", "persistent in use", st->persistent_inuse);
    /* ---- heap (mheap.c): begin ---- */
    static const struct {
        const char *name;
        size_t off;
    } heap_rows[] = {
        {"heap allocated bytes", offsetof(tc_stats, heap_alloc_bytes)},
        {"heap allocated objects", offsetof(tc_stats, heap_alloc_objects)},
        {"heap freed bytes", offsetof(tc_stats, heap_free_bytes)},
        {"heap freed objects", offsetof(tc_stats, heap_free_objects)},
        {"heap live bytes", offsetof(tc_stats, heap_live_bytes)},
        {"heap live objects", offsetof(tc_stats, heap_live_objects)},
        {"heap mapped", offsetof(tc_stats, heap_mapped)},
        {"heap in use", offsetof(tc_stats, heap_inuse)},
        {"heap idle", offsetof(tc_stats, heap_idle)},
        {"heap released", offsetof(tc_stats, heap_released)},
        {"heap spans", offsetof(tc_stats, heap_spans)},
        {"heap span metadata", offsetof(tc_stats, heap_span_meta)},
        {"heap other metadata", offsetof(tc_stats, heap_other_meta)},
    };
    for (size_t i = 0; i < sizeof heap_rows / sizeof heap_rows[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + heap_rows[i].off, sizeof v);
        fprintf(out, "%-28s %14" PRIu64 "\n", heap_rows[i].name, v);
    }
    /* ---- heap: end ---- */
}
