/* test_persistent.c — the persistent allocator: alignment, zeroing,
 * accounting, the direct path for large blocks, and a multi-threaded stress
 * that checks blocks never overlap. */
#include <pthread.h>

#include "persistent.h"
#include "stats.h"
#include "sys.h"
#include "tc_test.h"

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

TC_TEST(persistent_blocks_are_aligned_and_zeroed)
{
    tc_sysstat st = TC_SYSSTAT_INIT("t", TC_SYSCAT_OTHER);
    for (size_t align = 1; align <= TC_PAGE_SIZE; align *= 2) {
        for (size_t size = 1; size <= 3000; size = size * 3 + 1) {
            unsigned char *p = tc_persistent_alloc(size, align, &st);
            CHECK(p != NULL);
            CHECK_MSG((uintptr_t)p % align == 0, "%p not aligned to %zu", (void *)p, align);
            CHECK(all_zero(p, size));
            memset(p, 0xff, size);
        }
    }
    /* align 0 means 8 */
    for (int i = 0; i < 100; i++) {
        void *p = tc_persistent_alloc(3, 0, &st);
        CHECK_EQ((uintptr_t)p % 8, 0);
    }
}

TC_TEST(persistent_moves_bytes_to_the_callers_stat)
{
    tc_sysstat st = TC_SYSSTAT_INIT("t", TC_SYSCAT_GCMETA);
    tc_stats a, b;
    tc_read_stats(&a);
    uint64_t pers_before = tc_sysstat_read(&stat_persistent);
    void *p = tc_persistent_alloc(1000, 8, &st);
    CHECK(p != NULL);
    CHECK_EQ(tc_sysstat_read(&st), 1000);
    tc_read_stats(&b);
    CHECK_EQ(b.persistent_inuse, a.persistent_inuse + 1000);
    CHECK_EQ(b.sys_by_category[TC_SYSCAT_GCMETA], a.sys_by_category[TC_SYSCAT_GCMETA] + 1000);
    /* Either the block came from the current chunk (persistent shrinks by
     * 1000) or a new chunk was mapped (grows by a chunk less 1000). */
    uint64_t pers_after = tc_sysstat_read(&stat_persistent);
    CHECK(pers_after == pers_before - 1000 ||
          pers_after == pers_before + PERSISTENT_CHUNK_SIZE - 1000);
    CHECK_EQ(b.sys_total - a.sys_total, pers_after + 1000 - pers_before);
    CHECK(persistent_contains(p));
    CHECK(!persistent_contains(&st));
}

TC_TEST(persistent_large_blocks_bypass_chunks)
{
    tc_sysstat st = TC_SYSSTAT_INIT("t", TC_SYSCAT_OTHER);
    uint64_t pers_before = tc_sysstat_read(&stat_persistent);
    unsigned char *p = tc_persistent_alloc(PERSISTENT_MAX_BLOCK, 4096, &st);
    CHECK(p != NULL);
    CHECK_EQ((uintptr_t)p % sys_page_size(), 0);
    CHECK(all_zero(p, PERSISTENT_MAX_BLOCK));
    CHECK_EQ(tc_sysstat_read(&st), PERSISTENT_MAX_BLOCK);
    CHECK_EQ(tc_sysstat_read(&stat_persistent), pers_before);
    CHECK(!persistent_contains(p));
    unsigned char *q = tc_persistent_alloc(PERSISTENT_MAX_BLOCK + 1, 0, &st);
    CHECK_EQ(tc_sysstat_read(&st),
             PERSISTENT_MAX_BLOCK + tc_align_up(PERSISTENT_MAX_BLOCK + 1, sys_page_size()));
    q[PERSISTENT_MAX_BLOCK] = 1;
}

TC_TEST(persistent_misuse_is_fatal)
{
    TC_EXPECT_DEATH(tc_persistent_alloc(0, 8, NULL), "size 0");
    TC_EXPECT_DEATH(tc_persistent_alloc(16, 24, NULL), "not a power of two");
    TC_EXPECT_DEATH(tc_persistent_alloc(16, 16384, NULL), "larger than");
}

/* ---- a chunk left by an exited thread -------------------------------------- */

/* Thread 1 carves a fresh chunk until `left` bytes remain, then exits: the
 * rest goes to the orphan pool. Thread 2, whose first request needs a new
 * chunk, asks for `want` bytes, more than the orphan has. */
struct orphan_case {
    size_t left, want;
    uintptr_t chunk_end; /* thread 1: end of the chunk it left */
    uintptr_t p;         /* thread 2: the block it got */
    int bad;
};

static void *leave_chunk(void *arg)
{
    struct orphan_case *oc = arg;
    tc_sysstat st = TC_SYSSTAT_INIT("t", TC_SYSCAT_OTHER);
    /* 8-byte blocks until one opens a chunk mapped from the OS (stat_persistent
     * grows): orphans of earlier threads are used up first. Nothing else
     * allocates meanwhile (the main thread waits in pthread_join). */
    uintptr_t base = 0;
    for (int i = 0; i < 1000000 && base == 0; i++) {
        uint64_t before = tc_sysstat_read(&stat_persistent);
        uintptr_t p = (uintptr_t)tc_persistent_alloc(8, 8, &st);
        if (tc_sysstat_read(&stat_persistent) == before + PERSISTENT_CHUNK_SIZE - 8)
            base = p - sizeof(uintptr_t); /* a fresh chunk's first word is its link */
    }
    if (base == 0) {
        oc->bad = 1;
        return NULL;
    }
    oc->chunk_end = base + PERSISTENT_CHUNK_SIZE;
    uintptr_t cur = base + 2 * sizeof(uintptr_t);
    while (oc->chunk_end - cur > oc->left) {
        size_t n = oc->chunk_end - cur - oc->left;
        if (n > PERSISTENT_MAX_BLOCK / 2) n = PERSISTENT_MAX_BLOCK / 2;
        uintptr_t p = (uintptr_t)tc_persistent_alloc(n, 8, &st);
        if (p != cur) {
            oc->bad = 2;
            return NULL;
        }
        cur += n;
    }
    return NULL; /* exits: the last `left` bytes become an orphan */
}

static void *take_chunk(void *arg)
{
    struct orphan_case *oc = arg;
    unsigned char *p = tc_persistent_alloc(oc->want, 8, NULL);
    oc->p = (uintptr_t)p;
    if (p == NULL || !all_zero(p, oc->want)) oc->bad = 3;
    return NULL;
}

TC_TEST(persistent_orphan_too_small_for_a_request_is_not_overrun)
{
    /* 1 KiB left, 16 KiB asked (a fixalloc chunk of mheap's span structs):
     * the block must not run past the orphan's chunk into whatever the OS
     * mapped after it. */
    struct orphan_case oc = {.left = 1024, .want = 16 << 10};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, leave_chunk, &oc) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(oc.bad, 0);
    CHECK(pthread_create(&t, NULL, take_chunk, &oc) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(oc.bad, 0);
    CHECK_MSG(!(oc.p < oc.chunk_end && oc.p + oc.want > oc.chunk_end),
              "block %#lx+%zu runs past the end %#lx of its chunk", (unsigned long)oc.p, oc.want,
              (unsigned long)oc.chunk_end);
}

/* ---- stress: threads allocate in parallel; no two blocks overlap ---------- */

struct block {
    uintptr_t p;
    size_t size;
};

#define PER_THREAD 20000
struct worker {
    uint64_t seed;
    struct block *blocks;
    size_t n;
    int bad;
};

static void *stress_worker(void *arg)
{
    struct worker *w = arg;
    uint64_t r = w->seed;
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t size = 1 + tc_rand(&r) % 700;
        size_t align = (size_t)1 << (tc_rand(&r) % 7);
        if (tc_rand(&r) % 500 == 0) size = PERSISTENT_MAX_BLOCK + tc_rand(&r) % 5000;
        unsigned char *p = tc_persistent_alloc(size, align, NULL);
        if (p == NULL || (uintptr_t)p % align != 0 || !all_zero(p, size)) w->bad++;
        memset(p, 0xc3, size); /* a later overlap would show as non-zero memory */
        w->blocks[w->n++] = (struct block){(uintptr_t)p, size};
    }
    return NULL;
}

static int by_addr(const void *a, const void *b)
{
    const struct block *x = a, *y = b;
    return x->p < y->p ? -1 : x->p > y->p;
}

TC_TEST(persistent_parallel_blocks_never_overlap)
{
    enum { T = 4 };
    uint64_t seed = tc_test_seed();
    int rounds = tc_test_soak() ? 50 : 2;
    for (int round = 0; round < rounds; round++) {
        struct worker w[T];
        pthread_t th[T];
        for (int i = 0; i < T; i++) {
            w[i] = (struct worker){.seed = seed + (uint64_t)round * 131 + (uint64_t)i + 1,
                                   .blocks = malloc(PER_THREAD * sizeof(struct block))};
            pthread_create(&th[i], NULL, stress_worker, &w[i]);
        }
        struct block *all = malloc(T * PER_THREAD * sizeof *all);
        size_t n = 0;
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            CHECK_EQ(w[i].bad, 0);
            memcpy(all + n, w[i].blocks, w[i].n * sizeof *all);
            n += w[i].n;
            free(w[i].blocks);
        }
        qsort(all, n, sizeof *all, by_addr);
        for (size_t i = 1; i < n; i++)
            CHECK_MSG(all[i - 1].p + all[i - 1].size <= all[i].p, "blocks %p+%zu and %p overlap",
                      (void *)all[i - 1].p, all[i - 1].size, (void *)all[i].p);
        free(all);
    }
}

TC_TEST_MAIN()
