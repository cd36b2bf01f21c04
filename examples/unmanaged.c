/*
 * unmanaged.c — tricolor's unmanaged allocators at work (build/examples/unmanaged).
 *
 * A symbol table lives entirely in unmanaged memory: the bucket array comes
 * from the persistent allocator (it lives forever), the entries from a
 * fixalloc pool (freed entries are reused by the pool, zeroed again), and a
 * scratch buffer from whole OS pages. The statistics table at the end shows
 * where every byte came from.
 *
 * Note the rule this example keeps: nothing here points into the collected
 * heap. Unmanaged memory is not scanned, so a heap pointer stored in it would
 * keep nothing alive unless the memory were registered as a root.
 */
#include <stdio.h>
#include <string.h>

#include "tricolor.h"

struct entry {
    struct entry *next;
    char name[24];
    long value;
};

#define NBUCKETS 1024

static tc_sysstat table_stat = TC_SYSSTAT_INIT("symbol table", TC_SYSCAT_OTHER);

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % NBUCKETS;
}

/* Symbol "sym<i>" with value i, in an entry from the pool. */
static void insert(struct entry **buckets, tc_fixalloc *pool, int i)
{
    struct entry *e = tc_fixalloc_alloc(pool);
    snprintf(e->name, sizeof e->name, "sym%d", i);
    e->value = i;
    unsigned b = hash(e->name);
    e->next = buckets[b];
    buckets[b] = e;
}

int main(void)
{
    tc_init(NULL);

    struct entry **buckets =
        tc_persistent_alloc(NBUCKETS * sizeof *buckets, _Alignof(struct entry *), &table_stat);
    tc_fixalloc pool;
    tc_fixalloc_init(&pool, sizeof(struct entry), NULL, NULL, NULL);

    /* Insert 5000 symbols, then delete every other one and insert 2500 more:
     * the second wave reuses the freed entries instead of new memory. */
    for (int i = 0; i < 5000; i++) {
        insert(buckets, &pool, i);
    }
    size_t inuse_full = pool.inuse;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        for (struct entry **pp = &buckets[b]; *pp;) {
            struct entry *e = *pp;
            if (e->value % 2 == 0) {
                *pp = e->next;
                tc_fixalloc_free(&pool, e);
            } else {
                pp = &e->next;
            }
        }
    }
    for (int i = 5000; i < 7500; i++) {
        insert(buckets, &pool, i);
    }

    size_t page = tc_sys_page_size();
    char *scratch = tc_sys_alloc(16 * page, &table_stat);
    long sum = 0;
    for (unsigned b = 0; b < NBUCKETS; b++)
        for (struct entry *e = buckets[b]; e; e = e->next) sum += e->value;
    snprintf(scratch, 16 * page, "%ld", sum);

    printf("symbol table: 5000 inserted, 2500 deleted, 2500 inserted again\n");
    printf("entries in use: %zu bytes (peak %zu); sum of values %s\n", pool.inuse, inuse_full,
           scratch);
    printf("the table's own stat: %llu bytes\n\n",
           (unsigned long long)tc_sysstat_read(&table_stat));
    tc_sys_free(scratch, 16 * page, &table_stat);

    tc_stats st;
    tc_read_stats(&st);
    tc_print_stats(&st, stdout);
    return 0;
}
