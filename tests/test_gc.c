/* test_gc.c — the collector's contract with embedders: what keeps an object
 * alive (registered roots, stacks, registers, other objects), what does not
 * (unregistered unmanaged memory), what collections do to threads that
 * block or spin, and the misuse it reports. */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "debug.h"
#include "gc.h"
#include "mark.h"
#include "sweep.h"
#include "tc_test.h"
#include "tc_test_heap.h"
#include "tc_test_lists.h"
#include "tricolor.h"

#define CLOBBER ((uintptr_t)0xdeadbeefdeadbeefull)

static void setup(void)
{
    static int done;
    if (done) return;
    done = 1;
    tc_config c;
    tc_config_default(&c);
    c.debug = "clobberfree=1";
    tc_init(&c);
    node_t = TC_TYPE(struct node, next, other);
}

TC_TEST(object_reachable_only_from_a_registered_root_survives)
{
    setup();
    /* The root lives in malloc memory: never scanned unless registered. */
    struct node **root = malloc(4 * sizeof *root);
    memset(root, 0, 4 * sizeof *root);
    tc_root *r = tc_root_register(root, 4 * sizeof *root, NULL, 0);
    root[1] = make_list(1000, 5000);
    for (int i = 0; i < 3; i++) {
        tc_gc();
        check_list(root[1], 1000, 5000);
    }
    tc_root_unregister(r);
    free(root);
}

TC_TEST(precise_root_layout_keeps_its_pointer_words_alive)
{
    setup();
    struct pair {
        uint64_t tag;
        struct node *p;
    };
    tc_type *pair_t = TC_TYPE(struct pair, p);
    struct pair *table = calloc(64, sizeof *table);
    tc_root *r = tc_root_register(table, 64 * sizeof *table, pair_t, 0);
    for (int i = 0; i < 64; i++) {
        table[i].tag = (uint64_t)i;
        table[i].p = make_list(10, (uint64_t)i * 100);
    }
    tc_gc();
    tc_gc();
    for (int i = 0; i < 64; i++) check_list(table[i].p, 10, (uint64_t)i * 100);
    tc_root_unregister(r);
    free(table);
}

/* A heap pointer stored only in unregistered unmanaged memory keeps nothing
 * alive: after a collection the objects are freed and, with clobberfree,
 * their words show the pattern. The conservative stack scan can keep an
 * object alive by chance (a stale copy of its address in a dead frame), so
 * the test asks for nearly all, not all. */
TC_TEST(heap_pointer_in_unregistered_unmanaged_memory_keeps_nothing_alive)
{
    setup();
    enum { N = 2000 };
    tc_fixalloc pool;
    tc_fixalloc_init(&pool, sizeof(void *), NULL, NULL, NULL);
    void **slots[N];
    for (int i = 0; i < N; i++) {
        slots[i] = tc_fixalloc_alloc(&pool);
        struct node *x = tc_new(node_t);
        x->id = 77;
        *slots[i] = x;
    }
    tc_gc();
    int clobbered = 0;
    for (int i = 0; i < N; i++) {
        struct node *x = *slots[i];
        if ((uintptr_t)x->next == CLOBBER) clobbered++;
    }
    CHECK_MSG(clobbered >= N * 95 / 100, "only %d of %d unreachable objects were freed", clobbered,
              N);
}

static TC_NOINLINE struct node *build_and_hide(int n)
{
    /* The only reference comes back in a register. */
    return make_list(n, 1);
}

TC_TEST(pointers_held_only_in_locals_survive_collections)
{
    setup();
    struct node *volatile keep = build_and_hide(500);
    struct node *reg = build_and_hide(300);
    for (int i = 0; i < 3; i++) tc_gc();
    check_list(keep, 500, 1);
    check_list(reg, 300, 1);
}

TC_TEST(interior_pointers_and_stack_end_pointers_to_buffers_keep_objects)
{
    setup();
    char *volatile buf = tc_alloc_noscan(100);
    memset(buf, 0x5a, 100);
    char *volatile mid = buf + 37;
    buf = NULL;
    /* The boundary rule: only an end pointer on the stack holds this one. */
    char *volatile buf2 = tc_alloc_noscan(64);
    memset(buf2, 0x3c, 64);
    char *volatile end2 = buf2 + tc_object_size(buf2);
    buf2 = NULL;
    struct node *volatile n = tc_new(node_t);
    n->id = 99;
    void *volatile *inner = (void *volatile *)&n->other; /* interior, into a typed object */
    n = NULL;
    tc_gc();
    tc_gc();
    CHECK_EQ((unsigned char)mid[-37], 0x5a);
    CHECK_EQ((unsigned char)mid[62], 0x5a);
    CHECK_EQ((unsigned char)end2[-64], 0x3c);
    CHECK_EQ((unsigned char)end2[-1], 0x3c);
    CHECK_EQ(((struct node *)((char *)inner - offsetof(struct node, other)))->id, 99);
}

TC_TEST(conservative_objects_keep_what_they_point_to)
{
    setup();
    void **cons = tc_alloc_conservative(16 * sizeof(void *));
    for (int i = 0; i < 16; i++)
        cons[i] =
            i % 2 ? (void *)(uintptr_t)(i * 12345) : (void *)make_list(20, (uint64_t)i * 1000);
    void **volatile keep = cons;
    cons = NULL;
    tc_gc();
    tc_gc();
    for (int i = 0; i < 16; i += 2) check_list(keep[i], 20, (uint64_t)i * 1000);
    for (int i = 1; i < 16; i += 2) CHECK_EQ((uintptr_t)keep[i], (uintptr_t)(i * 12345));
}

TC_TEST(unreachable_memory_is_reused)
{
    setup();
    tc_gc();
    tc_stats a, b;
    tc_read_stats(&a);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 20000; i++) (void)tc_new(node_t);
        tc_gc();
    }
    tc_read_stats(&b);
    /* 20 rounds of 20000 * 32 bytes = 12.8 MB allocated; the heap stays small. */
    CHECK(b.num_gc >= a.num_gc + 20);
    CHECK_MSG(b.heap_mapped <= a.heap_mapped + (8u << 20), "heap grew from %llu to %llu bytes",
              (unsigned long long)a.heap_mapped, (unsigned long long)b.heap_mapped);
    CHECK(b.heap_marked < (4u << 20));
}

/* tc_new's fast path writes no heap bits for a type whose every word is a
 * pointer when its span was empty at the refill (the refill set them all);
 * every other case writes its own. Objects of five layouts, interleaved in
 * the same spans, must each read back exactly, in fresh spans and in spans
 * reused after a collection (partly live: their free slots keep stale
 * bits). */
TC_TEST(heap_bits_are_exact_for_every_layout_in_fresh_and_reused_spans)
{
    setup();
    size_t o_pp[] = {0, 8}, o_pi[] = {0}, o_ip[] = {8}, o_p4[] = {0, 8, 16, 24},
           o_p3[] = {0, 8, 16};
    const struct {
        tc_type *t;
        const size_t *offs;
        size_t n;
    } lay[] = {
        {tc_type_new("ptr_ptr", 16, o_pp, 2, 0), o_pp, 2},
        {tc_type_new("ptr_int", 16, o_pi, 1, 0), o_pi, 1},
        {tc_type_new("int_ptr", 16, o_ip, 1, 0), o_ip, 1},
        {tc_type_new("four_ptrs", 32, o_p4, 4, 0), o_p4, 4},
        {tc_type_new("three_ptrs_in_32", 24, o_p3, 3, 0), o_p3, 3},
    };
    enum { N = 20000, L = sizeof lay / sizeof lay[0] };
    void **keep = calloc(N, sizeof *keep);
    CHECK(keep != NULL);
    tc_root *r = tc_root_register(keep, N * sizeof *keep, NULL, 0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            if (keep[i] != NULL) continue;
            int k = (i * 7 + round) % L;
            void *p = keep[i] = tc_new(lay[k].t);
            CHECK(p != NULL);
            uintptr_t got[8];
            size_t n = tc_test_pointer_slots(p, got, 8);
            CHECK_MSG(n == lay[k].n, "%s at %p (round %d): %zu pointer slots, expected %zu",
                      lay[k].t->name, p, round, n, lay[k].n);
            for (size_t j = 0; j < n; j++) CHECK_EQ(got[j], (uintptr_t)p + lay[k].offs[j]);
        }
        /* Free two of every three; their spans come back partly live. */
        for (int i = 0; i < N; i++)
            if (i % 3 != 0) keep[i] = NULL;
        tc_gc();
    }
    tc_root_unregister(r);
    free(keep);
}

/* gctrace=2's slow-path line counts what the mutators did since the last
 * line: here every refill and every large allocation of this thread. */
static void allocate_traced(void)
{
    tc_debug.gctrace = 2;
    gc_slow_timing = true;
    /* 8 MiB of nodes: at least 1024 refills of 8 KiB spans. */
    for (size_t i = 0; i < ((size_t)8 << 20) / sizeof(struct node); i++) (void)tc_new(node_t);
    for (int i = 0; i < 5; i++) (void)tc_alloc_noscan(1 << 20);
    tc_gc();
    gc_slow_timing = false;
    tc_debug.gctrace = 0;
}

TC_TEST(gctrace_2_counts_slow_paths)
{
    setup();
    tc_gc();
    const char *out = tc_test_capture_stderr(allocate_traced);
    /* Cycles the allocations triggered print lines of their own: sum them. */
    unsigned long long refills = 0, large = 0;
    int lines = 0;
    for (const char *line = out; (line = strstr(line, " slow paths: ")) != NULL; line++) {
        unsigned long long r, l, lg;
        double mean, max;
        CHECK_EQ(sscanf(line,
                        " slow paths: assist %*u (%*f us mean, %*f us max, %*u >= 50 us), "
                        "yield %*u (%*f us mean, %*f us max, %*u >= 50 us), "
                        "refill %llu (%lf us mean, %lf us max, %llu >= 50 us), large %llu",
                        &r, &mean, &max, &lg, &l),
                 5);
        /* Same precision for both, so rounding keeps mean <= max. */
        CHECK(r == 0 ? mean == 0 && max == 0 : mean > 0 && mean <= max);
        CHECK(lg <= r);
        CHECK(strstr(line, ", wbuf ") != NULL);
        refills += r;
        large += l;
        lines++;
    }
    CHECK_MSG(lines >= 1, "no slow-path line in: %s", out);
    CHECK_MSG(refills >= 1024 && refills <= 4096, "%llu refills", refills);
    CHECK_EQ(large, 5);
}

/* A node fresh from tc_new reads zero. */
static void check_zeroed(const struct node *x)
{
    CHECK_MSG(x->id == 0 && x->next == NULL && x->other == NULL, "new object %p holds %#llx %p %p",
              (const void *)x, (unsigned long long)x->id, (void *)x->next, x->other);
}

/* Reused slots are cleared in bulk when a cache takes their span (not one
 * by one as they are handed out): every new object must read zero, even
 * where clobberfree filled the freed slot, and the live objects sharing
 * those spans must keep every byte. */
TC_TEST(reused_slots_come_back_zeroed_and_live_neighbours_keep_their_bytes)
{
    setup();
    enum { N = 30000 };
    struct node **keep = calloc(N, sizeof *keep);
    uintptr_t *dropped = calloc(N, sizeof *dropped);
    CHECK(keep != NULL && dropped != NULL);
    tc_root *r = tc_root_register(keep, N * sizeof *keep, NULL, 0);
    CHECK(r != NULL);
    for (int i = 0; i < N; i++) {
        keep[i] = tc_new(node_t);
        keep[i]->id = 0x5eed0000u + (uint64_t)i;
        keep[i]->next = keep[i];
        keep[i]->other = (char *)keep[i] + 8; /* interior, to itself */
    }
    size_t ndropped = 0;
    for (int i = 0; i < N; i += 3) { /* every third: holes inside live spans */
        dropped[ndropped++] = (uintptr_t)keep[i];
        keep[i] = NULL;
    }
    tc_gc();
    int reused = 0;
    for (int k = 0; k < N; k++) {
        struct node *x = tc_new(node_t);
        check_zeroed(x);
        for (size_t j = 0; j < ndropped && reused < 16; j++) reused += dropped[j] == (uintptr_t)x;
    }
    CHECK_MSG(reused > 0, "no freed slot was handed out again");
    for (int i = 0; i < N; i++) {
        if (keep[i] == NULL) continue;
        CHECK_EQ(keep[i]->id, 0x5eed0000u + (uint64_t)i);
        CHECK(keep[i]->next == keep[i]);
    }
    tc_root_unregister(r);
    free(keep);
    free(dropped);
}

/* N nodes filled with junk, their addresses nowhere but in their own
 * fields: garbage at the next collection. Not inlined, so that the last
 * address dies with its frame. */
static TC_NOINLINE spanclass alloc_junk_nodes(int n)
{
    spanclass spc = 0;
    for (int i = 0; i < n; i++) {
        struct node *x = tc_new(node_t);
        check_zeroed(x);
        x->id = ~(uint64_t)0;
        x->next = x;
        x->other = (char *)x + 8;
        if (i == 0) spc = mheap_span_of((uintptr_t)x)->spanclass;
    }
    return spc;
}

/* Spans that a collection empties stay with their size class, as many as
 * the class's caches took during the cycle before (sweep.c, "Emptied
 * spans"): a program allocating at a steady rate gets them back, zeroed,
 * without the page heap; a class that stops allocating returns them one
 * cycle later. Without clobberfree, the background sweeper zeroes them
 * (when it gets to them first; otherwise the refill does): every new
 * object must read zero either way. */
TC_TEST(emptied_spans_stay_with_their_class_for_one_cycle_then_go_back)
{
    setup();
    int clobber = tc_debug.clobberfree;
    tc_debug.clobberfree = 0;
    enum { N = 40000 }; /* 1.25 MB of 32-byte nodes: about 160 spans */
    tc_gc();
    tc_gc(); /* spans earlier tests left with the class go back */
    spanclass spc = alloc_junk_nodes(N);
    uint64_t nspans0 = atomic_load(&mheap_.central[spc].nspans);
    tc_gc();
    tc_stats a, b;
    tc_read_stats(&a);
    (void)alloc_junk_nodes(N); /* reads zero: checked inside */
    uint64_t grown = atomic_load(&mheap_.central[spc].nspans) - nspans0;
    CHECK_MSG(grown <= 2, "the class took %llu new spans from the heap for %d nodes",
              (unsigned long long)grown, N);
    tc_gc(); /* the second batch's spans: kept again (the class took as many) */
    tc_gc(); /* the class took none since: they go back */
    tc_read_stats(&b);
    CHECK_MSG(b.heap_inuse + (uint64_t)N * sizeof(struct node) / 2 <= a.heap_inuse,
              "heap in use %llu bytes after a cycle without allocation, %llu before",
              (unsigned long long)b.heap_inuse, (unsigned long long)a.heap_inuse);
    tc_debug.clobberfree = clobber;
}

/* The background sweeper only takes CPU time nobody else wants: the kernel
 * runs it under SCHED_IDLE (or, where that is refused, at nice 19). */
TC_TEST(background_sweeper_runs_at_idle_priority)
{
    setup();
    tc_gc(); /* the sweeper exists after the first collection */
    int tid = 0, policy = -2;
    for (int i = 0; i < 2000 && (policy = sweep_background_policy(&tid)) == -2; i++) usleep(1000);
    CHECK_MSG(policy == SCHED_IDLE || policy == SCHED_OTHER, "sweeper policy %d", policy);
    CHECK(tid > 0);
    int k = sched_getscheduler(tid);
    if (policy == SCHED_IDLE) {
        CHECK_EQ(k, SCHED_IDLE);
    } else {
        errno = 0;
        CHECK_EQ(getpriority(PRIO_PROCESS, (id_t)tid), 19);
    }
}

/* Large objects are scanned in oblets (MARK_OBLET_BYTES, 16 KiB), each its
 * own work item: the pointers near every oblet boundary, in elements that
 * straddle one, and at the very end must all be found. The element type
 * (24 bytes, its pointer last) does not divide the oblet size, so oblets
 * start inside elements and inside an element's scalar words. */
struct rec {
    uint64_t a, b;
    struct node *p;
};

static TC_NOINLINE void fill_rec_slots(struct rec *r, size_t n, size_t *idx, size_t nidx)
{
    for (size_t k = 0; k < nidx; k++) {
        r[idx[k]].p = make_list(1, 5000 + k);
        r[idx[k]].a = r[idx[k]].b = 0x5a5a5a5a5a5a5a5aull; /* scalars that are no pointers */
    }
    (void)n;
}

TC_TEST(large_objects_are_scanned_whole_in_oblets)
{
    setup();
    tc_type *rec_t = TC_TYPE(struct rec, p);
    enum { N = 100000 }; /* 2.4 MB: 147 oblets */
    struct rec *volatile arr = tc_new_array(rec_t, N);
    CHECK(arr != NULL);
    static size_t idx[3 * 150 + 2];
    size_t nidx = 0;
    for (size_t off = MARK_OBLET_BYTES; off < (size_t)N * sizeof(struct rec);
         off += MARK_OBLET_BYTES) {
        size_t e = off / sizeof(struct rec); /* the element holding the boundary */
        idx[nidx++] = e - 1;
        idx[nidx++] = e;
        if (e + 1 < N) idx[nidx++] = e + 1;
    }
    idx[nidx++] = 0;
    idx[nidx++] = N - 1;
    fill_rec_slots(arr, N, idx, nidx);
    /* A conservative large object: pointers in its last word and across
     * its oblet boundaries. */
    enum { CW = (3u << 20) / sizeof(void *) };
    void **volatile cons = tc_alloc_conservative(CW * sizeof(void *));
    CHECK(cons != NULL);
    size_t ow = MARK_OBLET_BYTES / sizeof(void *);
    size_t cidx[] = {0, ow - 1, ow, ow + 1, 2 * ow, 100 * ow - 1, CW - 1};
    for (size_t k = 0; k < sizeof cidx / sizeof cidx[0]; k++)
        cons[cidx[k]] = make_list(1, 9000 + k);
    tc_gc();
    tc_gc();
    for (size_t k = 0; k < nidx; k++) check_list(arr[idx[k]].p, 1, 5000 + k);
    for (size_t k = 0; k < sizeof cidx / sizeof cidx[0]; k++)
        check_list(cons[cidx[k]], 1, 9000 + k);
}

/* ---- threads during collections ------------------------------------------ */

static _Atomic int stop_flag;
static _Atomic uint64_t spins;

static void *spinner(void *arg)
{
    (void)arg;
    struct node *mine = make_list(100, 900);
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
        /* TSan delivers the stop signal only inside its interceptors. */
        if (TC_TEST_UNDER_TSAN) sched_yield();
    }
    check_list(mine, 100, 900);
    return NULL;
}

static void *reader(void *arg)
{
    int fd = *(int *)arg;
    struct node *mine = make_list(100, 700);
    char c;
    /* Blocked here while others collect. Under TSan a signal cannot reach a
     * thread inside read(), so there the read sits in a blocking region. */
    if (TC_TEST_UNDER_TSAN) tc_blocking_enter();
    ssize_t r = read(fd, &c, 1);
    if (TC_TEST_UNDER_TSAN) tc_blocking_leave();
    check_list(mine, 100, 700);
    return (void *)(intptr_t)r;
}

TC_TEST(spinning_and_blocked_threads_do_not_hold_up_collections)
{
    setup();
    int p[2];
    CHECK_EQ(pipe(p), 0);
    pthread_t a, b;
    atomic_store(&stop_flag, 0);
    CHECK_EQ(tc_pthread_create(&a, NULL, spinner, NULL), 0);
    CHECK_EQ(tc_pthread_create(&b, NULL, reader, &p[0]), 0);
    while (atomic_load(&spins) == 0) sched_yield();
    for (int i = 0; i < 20; i++) {
        make_list(1000, 0);
        tc_gc();
    }
    atomic_store(&stop_flag, 1);
    CHECK_EQ(write(p[1], "x", 1), 1);
    void *ra;
    tc_test_join(a, NULL);
    tc_test_join(b, &ra);
    CHECK_EQ((intptr_t)ra, 1);
    close(p[0]);
    close(p[1]);
}

static void *churn(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        struct node *l = make_list(200, (uint64_t)i);
        check_list(l, 200, (uint64_t)i);
    }
    return NULL;
}

static void *attach_churn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 30; i++) {
        CHECK_EQ(tc_thread_attach(), 0);
        struct node *l = make_list(100, 3);
        check_list(l, 100, 3);
        tc_thread_detach();
    }
    return NULL;
}

TC_TEST(threads_attach_detach_and_allocate_during_collections)
{
    setup();
    pthread_t t[4];
    for (int i = 0; i < 3; i++) CHECK_EQ(tc_pthread_create(&t[i], NULL, churn, (void *)200), 0);
    CHECK_EQ(pthread_create(&t[3], NULL, attach_churn, NULL), 0);
    for (int i = 0; i < 10; i++) tc_gc();
    for (int i = 0; i < 4; i++) tc_test_join(t[i], NULL);
}

/* ---- misuse ------------------------------------------------------------------ */

struct holder {
    void *p;
};

static void dangling_precise_pointer(void)
{
    struct holder *root = calloc(1, sizeof *root);
    tc_root_register(root, sizeof *root, TC_TYPE(struct holder, p), 0);
    /* A pointer into the heap that is not an object: the slot after the only
     * object of a fresh span of 3072-byte objects, which is free. */
    char *only = tc_alloc_noscan(3000);
    root->p = only + tc_object_size(only);
    tc_gc();
}

TC_TEST(invalid_pointer_in_a_precise_slot_is_fatal)
{
    setup();
    TC_EXPECT_DEATH(dangling_precise_pointer(), "invalid pointer");
}

/* tc_read_stats while collections run: the stop signal may land while the
 * reader holds the collector's statistics lock, which the collector takes
 * with the world stopped. The reader must not be parked holding it (a
 * runtime critical section), or the collection waits forever. */
static atomic_int stats_quit;
static void *read_stats_loop(void *arg)
{
    (void)arg;
    static tc_stats st; /* large: not on the stack */
    uint64_t last = 0;
    while (!atomic_load(&stats_quit)) {
        tc_read_stats(&st);
        CHECK(st.num_gc >= last);
        last = st.num_gc;
        /* TSan delivers the stop signal only inside its interceptors (the
         * race with stats_mu is then the plain and ASan runs' to find). */
        if (TC_TEST_UNDER_TSAN) sched_yield();
    }
    return NULL;
}

TC_TEST(statistics_read_during_collections_do_not_hold_them_up)
{
    setup();
    atomic_store(&stats_quit, 0);
    pthread_t th;
    CHECK_EQ(tc_pthread_create(&th, NULL, read_stats_loop, NULL), 0);
    alarm(60); /* a hang is the failure */
    uint64_t n0 = gc_cycles();
    for (double end = tc_test_now() + 2; tc_test_now() < end;) tc_gc();
    alarm(0);
    atomic_store(&stats_quit, 1);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK(gc_cycles() > n0);
}

TC_TEST_MAIN()
