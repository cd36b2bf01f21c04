/*
 * stats.h — counters behind tc_read_stats.
 *
 * Every counter is a relaxed atomic: a statistic orders nothing. A tc_sysstat
 * change is applied to the stat and to its category total; the two are not
 * updated as one, so a concurrent reader may see them a moment apart.
 */
#ifndef TC_STATS_H
#define TC_STATS_H

#include "runtime.h"

/* Internal stats, one per kind of runtime metadata. */
extern tc_sysstat stat_persistent; /* persistent chunks' unused remainder */
extern tc_sysstat stat_gcmeta;     /* collector and heap metadata */
extern tc_sysstat stat_heap;       /* heap arenas */

/* Add delta bytes (may be negative) to stat (NULL: tc_sysstat_other) and its
 * category. Fatal if the stat would go below zero: uncharging bytes that
 * were never charged to it is a bookkeeping bug. */
void sysstat_add(tc_sysstat *stat, int64_t delta);

/* Move n bytes from one stat to another (a no-op when they are the same). */
void sysstat_move(tc_sysstat *from, tc_sysstat *to, uint64_t n);

/* Bytes handed out by the persistent allocator. (Each fixalloc pool counts
 * its own in f->inuse.) */
extern _Atomic uint64_t stats_persistent_inuse;

#endif
