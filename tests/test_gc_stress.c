/* test_gc_stress.c — adversarial scenarios for the collector: more threads
 * than cores, threads coming and going while collections run, collections
 * from several threads at once, pacing changes mid-run, large objects mixed
 * with small ones, very deep lists, conservative interior and one-past-the-end
 * pointers, roots registered and unregistered under collection, blocked
 * threads that hold heap pointers only on their stacks, and signal handlers
 * on an alternate stack.
 *
 * Every object carries an id (and pointer-free ones a pattern derived from
 * it), and every scenario checks ids and patterns after collections: an
 * object freed while still reachable is clobbered (clobberfree=1) or reused,
 * and the check fails. Each case runs about a second (TC_SOAK=1: twenty
 * times longer).
 */
#include <errno.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>

#include "debug.h"
#include "gc.h"
#include "sweep.h"
#include "threads.h"
#include "tc_test.h"
#include "tc_test_lists.h"
#include "tricolor.h"

static tc_type *cell_t;

struct cell {
    void *p;
};

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
    cell_t = TC_TYPE(struct cell, p);
}

static double run_for(double s) { return tc_test_now() + (tc_test_soak() ? 20.0 * s : s); }

static uint8_t pattern(uint64_t id, size_t i) { return (uint8_t)(id * 131 + i * 7 + 1); }

static void fill(uint8_t *p, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++) p[i] = pattern(id, i);
}

/* Every byte of small buffers; a strided sample (and both ends) of big ones. */
static void check_fill(const uint8_t *p, size_t n, uint64_t id)
{
    size_t step = n > 4096 ? 509 : 1;
    for (size_t i = 0; i < n; i += step)
        CHECK_MSG(p[i] == pattern(id, i), "buffer %p id %llu size %zu byte %zu: %#x", (void *)p,
                  (unsigned long long)id, n, i, p[i]);
    CHECK_EQ(p[n - 1], pattern(id, n - 1));
}

/* ---- sweeping ---------------------------------------------------------------- */

static _Atomic int bouncer_stop;

static void *bouncer(void *arg)
{
    (void)arg;
    while (!atomic_load(&bouncer_stop)) CHECK_EQ(sweep_one(), 0);
    return NULL;
}

/* The background sweeper is never stopped: with the world stopped and the
 * gate closed it may still call sweep_one, which registers and backs off.
 * That must not make the collector think a sweep is still running (it threw
 * "sweeping unfinished when the world stopped" under the torture test). */
TC_TEST(sweeper_bouncing_off_the_closed_gate_is_not_an_unfinished_sweep)
{
    setup();
    tc_gc(); /* everything swept */
    sweep_close_gate();
    atomic_store(&bouncer_stop, 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, bouncer, NULL), 0);
    long notdone = 0;
    double end = tc_test_now() + 0.3;
    while (tc_test_now() < end)
        for (int i = 0; i < 1000; i++) notdone += !sweep_done();
    atomic_store(&bouncer_stop, 1);
    tc_test_join(t, NULL);
    sweep_open_gate();
    CHECK_EQ(notdone, 0);
}

/* ---- tiny blocks ---------------------------------------------------------------- */

/* Pointer-free objects under 16 bytes share 16-byte blocks, and the lookups
 * report the block (tricolor.h): the torture test's verify assumed every
 * object is its own base and failed when two 8-byte blobs shared a block. */
TC_TEST(tiny_objects_report_their_shared_block)
{
    setup();
    if (tc_debug.gcstress != 0) {
        printf("skipped: gcstress collects (and drops the tiny block) between the two\n");
        return;
    }
    tc_gc(); /* a fresh tiny block for this thread */
    uint64_t *a = tc_alloc_noscan(8), *b = tc_alloc_noscan(8);
    *a = 1;
    *b = 2;
    CHECK(b == a + 1);
    CHECK(tc_object_base(b) == (void *)a);
    CHECK_EQ(tc_object_size(b), 16);
    CHECK_EQ(*a + *b, 3);
}

/* ---- many threads, concurrent tc_gc, pacing changes ------------------------------ */

static _Atomic int percent_changes, forced_by_workers;

static pthread_barrier_t all_start;

static void *many_worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    /* Every worker asks for a collection at the same moment first. */
    pthread_barrier_wait(&all_start);
    tc_gc();
    atomic_fetch_add(&forced_by_workers, 1);
    double end = run_for(1.0);
    uint64_t base = (rng & 0xffff) << 32;
    struct node *volatile keep = make_list(300, base);
    uint64_t keep_id = base, next_id = base + 1000;
    while (tc_test_now() < end) {
        struct node *l = make_list(200, next_id);
        uint64_t r = tc_rand(&rng);
        if (r % 16 == 0) {
            tc_gc();
            atomic_fetch_add(&forced_by_workers, 1);
        }
        if (r % 64 == 1) {
            static const int pcts[] = {10, 25, 100, 400, -1};
            int old = tc_set_gc_percent(pcts[(r >> 8) % 5]);
            CHECK(old == 10 || old == 25 || old == 100 || old == 400 || old == -1);
            atomic_fetch_add(&percent_changes, 1);
        }
        if (r % 32 == 2) {
            size_t n = 33000 + (size_t)(r >> 16) % 300000;
            uint8_t *big = tc_alloc_noscan(n);
            fill(big, n, next_id);
            check_list(l, 200, next_id);
            check_fill(big, n, next_id);
        }
        check_list(l, 200, next_id);
        check_list(keep, 300, keep_id);
        if (r % 8 == 3) {
            keep = l;
            keep_id = next_id;
            /* keep is now a 200-node list */
            check_list(keep, 200, keep_id);
            keep = make_list(300, keep_id + 500);
            keep_id += 500;
        }
        next_id += 1000;
    }
    check_list(keep, 300, keep_id);
    return NULL;
}

TC_TEST(eight_threads_on_few_cores_collect_concurrently_and_change_gc_percent)
{
    setup();
    uint64_t seed = tc_test_seed();
    int old = tc_set_gc_percent(100);
    tc_stats a, b;
    tc_read_stats(&a);
    enum { T = 8 };
    pthread_t t[T];
    CHECK_EQ(pthread_barrier_init(&all_start, NULL, T), 0);
    for (int i = 0; i < T; i++)
        CHECK_EQ(
            tc_pthread_create(&t[i], NULL, many_worker,
                              (void *)(uintptr_t)(seed * 2654435761u + (uint64_t)i * 7919 + 1)),
            0);
    for (int i = 0; i < T; i++) tc_test_join(t[i], NULL);
    tc_set_gc_percent(old);
    tc_read_stats(&b);
    CHECK(b.num_gc > a.num_gc);
    CHECK(atomic_load(&forced_by_workers) >= T);
    pthread_barrier_destroy(&all_start);
    printf("%d gc_percent changes, %d forced collections by workers, %llu cycles\n",
           atomic_load(&percent_changes), atomic_load(&forced_by_workers),
           (unsigned long long)(b.num_gc - a.num_gc));
}

/* ---- threads attaching, detaching and exiting during collections ------------------ */

static _Atomic int collecting;
static _Atomic long lifetimes;

static void *collector_loop(void *arg)
{
    (void)arg;
    while (atomic_load(&collecting)) {
        tc_gc();
        (void)make_list(50, 1);
    }
    return NULL;
}

static void *short_attached(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    struct node *l = make_list(100, id);
    tc_safepoint();
    check_list(l, 100, id);
    atomic_fetch_add(&lifetimes, 1);
    return NULL;
}

static void *raw_thread(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    int how = (int)(id % 3);
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(tc_thread_attach(), 0);
        CHECK_EQ(tc_thread_attach(), 0); /* a no-op */
        struct node *l = make_list(150, id + (uint64_t)round * 1000);
        sched_yield();
        check_list(l, 150, id + (uint64_t)round * 1000);
        tc_thread_detach();
    }
    /* An allocation attaches again; then leave attached. */
    struct node *l = make_list(80, id);
    check_list(l, 80, id);
    atomic_fetch_add(&lifetimes, 1);
    if (how == 0) pthread_exit(NULL); /* detached by the key destructor */
    if (how == 1) tc_thread_detach();
    return NULL; /* how == 2: returns attached */
}

TC_TEST(threads_attach_detach_and_exit_while_collections_run)
{
    setup();
    atomic_store(&collecting, 1);
    pthread_t c[2];
    for (int i = 0; i < 2; i++) CHECK_EQ(tc_pthread_create(&c[i], NULL, collector_loop, NULL), 0);
    double end = run_for(1.0);
    uint64_t id = 1u << 20;
    long started = 0;
    while (tc_test_now() < end) {
        enum { W = 6 };
        pthread_t t[W];
        for (int i = 0; i < W; i++, id += 10000) {
            if (i % 2)
                CHECK_EQ(tc_pthread_create(&t[i], NULL, short_attached, (void *)(uintptr_t)id), 0);
            else
                CHECK_EQ(pthread_create(&t[i], NULL, raw_thread, (void *)(uintptr_t)id), 0);
            started++;
        }
        for (int i = 0; i < W; i++) tc_test_join(t[i], NULL);
    }
    atomic_store(&collecting, 0);
    for (int i = 0; i < 2; i++) tc_test_join(c[i], NULL);
    CHECK_EQ(atomic_load(&lifetimes), started);
}

/* A thread that ends inside a blocking region (cancelled while blocked in
 * read(), or returning without leaving) is detached on exit. It counts as
 * stopped, so the detach must not hand its allocation cache back while a
 * collection, which releases every cache itself, has the world stopped. */
/* ASan reports a false stack-buffer-underflow when a thread is cancelled
 * (google/sanitizers#1399): there the cancelled threads return instead. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void *cancelled_in_read(void *arg)
{
    int fd = *(int *)arg;
    struct node *l = make_list(200, 77);
    check_list(l, 200, 77);
    char c;
    tc_blocking_enter();
    ssize_t n = read(fd, &c, 1); /* a cancellation point: never returns */
    tc_blocking_leave();
    return (void *)(intptr_t)n;
}

static void *returns_while_blocking(void *arg)
{
    (void)arg;
    struct node *l = make_list(200, 78);
    check_list(l, 200, 78);
    tc_blocking_enter();
    return NULL;
}

TC_TEST(threads_that_end_inside_a_blocking_region_are_detached_safely)
{
    setup();
    int p[2];
    CHECK_EQ(pipe(p), 0);
    int before = threads_count();
    atomic_store(&collecting, 1);
    pthread_t c[2];
    for (int i = 0; i < 2; i++) CHECK_EQ(tc_pthread_create(&c[i], NULL, collector_loop, NULL), 0);
    double end = run_for(1.0);
    int rounds = 0;
    while (tc_test_now() < end) {
        enum { W = 4 };
        pthread_t t[W];
        for (int i = 0; i < W; i++)
            CHECK_EQ(tc_pthread_create(
                         &t[i], NULL,
                         i % 2 && !UNDER_ASAN ? cancelled_in_read : returns_while_blocking, &p[0]),
                     0);
        for (int i = 1; i < W && !UNDER_ASAN; i += 2) {
            usleep(200);
            pthread_cancel(t[i]);
        }
        for (int i = 0; i < W; i++) {
            void *r;
            tc_test_join(t[i], &r);
            if (i % 2 && !UNDER_ASAN) CHECK(r == PTHREAD_CANCELED);
        }
        rounds++;
    }
    atomic_store(&collecting, 0);
    for (int i = 0; i < 2; i++) tc_test_join(c[i], NULL);
    CHECK_EQ(threads_count(), before); /* every one detached */
    CHECK(rounds > 0);
    close(p[0]);
    close(p[1]);
}

/* A collection runs to its end even when the thread that runs it has a
 * cancellation pending: the markers' rendezvous (pthread_cond_wait) is a
 * cancellation point, and a thread cancelled there unwound with the world
 * stopped and the collector's lock held. The cancel takes effect at the
 * thread's next cancellation point of its own. */
static _Atomic int collections_done;

static void *cancel_pending_collector(void *arg)
{
    (void)arg;
    struct node *l = make_list(100, 31);
    pthread_cancel(pthread_self()); /* deferred: pending from here */
    for (int i = 0; i < 20; i++) {
        tc_gc();
        atomic_fetch_add(&collections_done, 1);
    }
    check_list(l, 100, 31);
    pthread_testcancel();
    return NULL;
}

TC_TEST(collections_finish_when_the_collecting_thread_has_a_cancel_pending)
{
    if (UNDER_ASAN) {
        printf("skipped: ASan and pthread_cancel (google/sanitizers#1399)\n");
        return;
    }
    setup();
    int markers = tc_debug.gcmarkers;
    tc_debug.gcmarkers = 4; /* so that the collecting thread waits for helpers */
    atomic_store(&collections_done, 0);
    pthread_t t;
    CHECK_EQ(tc_pthread_create(&t, NULL, cancel_pending_collector, NULL), 0);
    void *r;
    tc_test_join(t, &r);
    tc_debug.gcmarkers = markers;
    CHECK(r == PTHREAD_CANCELED);
    CHECK_EQ(atomic_load(&collections_done), 20);
    tc_gc(); /* and the collector is still usable */
}

/* tc_object_base and tc_object_size sweep the span first, then look the
 * object up. A collection that came between the two (the thread stopped
 * there) made the span unswept again, and the lookup then raced the sweeper
 * that rewrote the span's alloc bits and free index (TSan in the torture
 * test): a live object could be reported as free. */
static void *lookup_worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    enum { N = 4096 };
    struct node **objs = malloc(N * sizeof *objs);
    tc_root *r = tc_root_register(objs, N * sizeof *objs, NULL, 0);
    double end = run_for(1.0);
    long lookups = 0;
    while (tc_test_now() < end) {
        for (int i = 0; i < N; i++) {
            objs[i] = tc_new(node_t);
            objs[i]->id = id + (uint64_t)i;
        }
        for (int round = 0; round < 4; round++)
            for (int i = 0; i < N; i++, lookups++) {
                CHECK_MSG(tc_object_base(objs[i]) == objs[i], "object %p reported as %p",
                          (void *)objs[i], tc_object_base(objs[i]));
                CHECK(tc_object_size(&objs[i]->next) >= sizeof(struct node) - 8);
                CHECK_EQ(objs[i]->id, id + (uint64_t)i);
            }
    }
    tc_root_unregister(r);
    free(objs);
    CHECK(lookups > 0);
    return NULL;
}

TC_TEST(object_lookups_stay_right_while_collections_run)
{
    setup();
    atomic_store(&collecting, 1);
    pthread_t c;
    CHECK_EQ(tc_pthread_create(&c, NULL, collector_loop, NULL), 0);
    enum { T = 3 };
    pthread_t t[T];
    for (int i = 0; i < T; i++)
        CHECK_EQ(tc_pthread_create(&t[i], NULL, lookup_worker, (void *)(uintptr_t)((i + 1) << 24)),
                 0);
    for (int i = 0; i < T; i++) tc_test_join(t[i], NULL);
    atomic_store(&collecting, 0);
    tc_test_join(c, NULL);
}

/* ---- large objects among small ones -------------------------------------------------- */

#define NLARGE 24

struct large_world {
    uint64_t rng;
    void **slots; /* registered conservative root */
    size_t size[NLARGE];
    uint64_t id[NLARGE];
    int kind[NLARGE]; /* 0 empty, 1 noscan buffer, 2 typed array of cells -> nodes,
                         3 conservative words: even ones point into nodes, odd ones
                         are integers */
};

static void large_check(struct large_world *w, int i)
{
    if (w->kind[i] == 3) {
        uintptr_t *v = w->slots[i];
        for (size_t k = 0; k < w->size[i]; k += 2) {
            const struct node *x = (const struct node *)(v[k] - 8); /* interior pointer */
            CHECK_EQ(x->id, w->id[i] + k);
            CHECK_EQ(v[k + 1], w->id[i] ^ k);
        }
    }
    if (w->kind[i] == 1) check_fill(w->slots[i], w->size[i], w->id[i]);
    if (w->kind[i] == 2) {
        struct cell *c = w->slots[i];
        size_t n = w->size[i];
        for (size_t k = 0; k < n; k += 97) {
            struct node *x = c[k].p;
            CHECK(x != NULL);
            CHECK_EQ(x->id, w->id[i] + k);
        }
    }
}

static void *large_worker(void *arg)
{
    struct large_world *w = arg;
    w->slots = calloc(NLARGE, sizeof(void *));
    tc_root *r = tc_root_register(w->slots, NLARGE * sizeof(void *), NULL, 0);
    double end = run_for(1.0);
    uint64_t next_id = (w->rng & 0xffff) << 40;
    long ops = 0;
    while (tc_test_now() < end) {
        int i = (int)(tc_rand(&w->rng) % NLARGE);
        large_check(w, i);
        uint64_t r = tc_rand(&w->rng);
        next_id += 1u << 20;
        if (r % 4 == 0) {
            /* a typed array whose cells point at small nodes */
            /* Smaller under frequent gcstress: every cell is an allocation. */
            size_t span = tc_debug.gcstress > 0 && tc_debug.gcstress < 1000 ? 300 : 9000;
            size_t n = 100 + (size_t)(r >> 8) % span;
            struct cell *c = tc_new_array(cell_t, n);
            CHECK(c != NULL);
            for (size_t k = 0; k < n; k++) {
                struct node *x = tc_new(node_t);
                x->id = next_id + k;
                c[k].p = x;
            }
            w->slots[i] = c;
            w->size[i] = n;
            w->kind[i] = 2;
        } else if (r % 4 == 1) {
            /* a conservative object, large now and then, holding interior pointers */
            size_t n = 2 * (16 + (size_t)(r >> 8) % (r % 32 == 1 ? 6000 : 300));
            uintptr_t *v = tc_alloc_conservative(n * sizeof(uintptr_t));
            CHECK(v != NULL);
            for (size_t k = 0; k < n; k += 2) {
                struct node *x = tc_new(node_t);
                x->id = next_id + k;
                v[k] = (uintptr_t)x + 8;
                v[k + 1] = next_id ^ k;
            }
            w->slots[i] = v;
            w->size[i] = n;
            w->kind[i] = 3;
        } else {
            static const size_t sizes[] = {32768,   32769,   40000,         65536,
                                           1 << 20, 3000000, (4 << 20) + 8, 100};
            size_t n = sizes[(r >> 8) % 8];
            uint8_t *p = tc_alloc_noscan(n);
            CHECK(p != NULL);
            fill(p, n, next_id);
            w->slots[i] = p;
            w->size[i] = n;
            w->kind[i] = 1;
        }
        w->id[i] = next_id;
        large_check(w, i);
        (void)make_list(64, 5); /* small garbage */
        if (r % 16 == 5) tc_gc();
        ops++;
    }
    for (int i = 0; i < NLARGE; i++) large_check(w, i);
    tc_root_unregister(r);
    free(w->slots);
    CHECK(ops > 0);
    return NULL;
}

TC_TEST(large_objects_churn_among_small_ones_with_contents_intact)
{
    setup();
    uint64_t seed = tc_test_seed();
    enum { T = 3 };
    static struct large_world w[T];
    pthread_t t[T];
    for (int i = 0; i < T; i++) {
        w[i] = (struct large_world){.rng = seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1))};
        CHECK_EQ(tc_pthread_create(&t[i], NULL, large_worker, &w[i]), 0);
    }
    for (int i = 0; i < T; i++) tc_test_join(t[i], NULL);
}

/* ---- deep structures --------------------------------------------------------------- */

TC_TEST(a_million_node_list_and_a_million_pointer_array_survive_marking)
{
    setup();
    /* TSan makes every load and store slow: a fifth of the length there. */
    int N = TC_TEST_UNDER_TSAN ? 200000 : 1000000;
    /* gcstress=k collects every k allocations: keep the work linear. */
    if (tc_debug.gcstress > 0 && N > 200 * tc_debug.gcstress) N = 200 * tc_debug.gcstress;
    struct node *volatile list = make_list(N, 7);
    /* A conservative chain as well: word 0 the id, word 1 the next. */
    uintptr_t *volatile chain = NULL;
    for (int i = N - 1; i >= 0; i--) {
        uintptr_t *x = tc_alloc_conservative(2 * sizeof(uintptr_t));
        x[0] = (uintptr_t)i;
        x[1] = (uintptr_t)chain;
        chain = x;
    }
    /* One 8 MB object that points at a million others. */
    struct cell *volatile fan = tc_new_array(cell_t, N);
    for (int i = 0; i < N; i++) {
        uint64_t *x = tc_alloc_noscan(8);
        *x = (uint64_t)i * 3;
        fan[i].p = x;
    }
    tc_gc();
    tc_gc();
    check_list(list, N, 7);
    const uintptr_t *x = chain;
    for (int i = 0; i < N; i++, x = (const uintptr_t *)x[1]) {
        CHECK(x != NULL);
        CHECK_EQ(x[0], (uintptr_t)i);
    }
    CHECK(x == NULL);
    for (int i = 0; i < N; i++) CHECK_EQ(*(uint64_t *)fan[i].p, (uint64_t)i * 3);
    tc_stats st;
    tc_read_stats(&st);
    CHECK(st.heap_marked >= (uint64_t)N * 3 * 16);
    list = NULL;
    chain = NULL;
    fan = NULL;
}

/* ---- conservative interior and one-past-the-end pointers ------------------------------ */

static const size_t edge_sizes[] = {8,     16,    24,    48,    100,     512,          1000,
                                    3000,  8192,  24576, 32768, 32769,   65536,        1 << 20,
                                    40000, 49152, 10,    1,     3 << 20, (1 << 20) + 1};
#define NEDGE (sizeof edge_sizes / sizeof edge_sizes[0])

/* Allocate each buffer and leave, in a conservative object, only a pointer
 * to its last byte (even slots) or into its middle (odd slots); the buffers'
 * own addresses die with this frame. */
static TC_NOINLINE void **make_edge_holder(uint64_t id0)
{
    void **h = tc_alloc_conservative(2 * NEDGE * sizeof(void *));
    for (size_t i = 0; i < NEDGE; i++) {
        size_t n = edge_sizes[i];
        uint8_t *p = tc_alloc_noscan(n);
        fill(p, n, id0 + i);
        h[2 * i] = p + n - 1;
        uint8_t *q = tc_alloc_noscan(n);
        fill(q, n, id0 + 100 + i);
        h[2 * i + 1] = q + n / 2;
    }
    return h;
}

static void check_edge_holder(void **h, uint64_t id0)
{
    for (size_t i = 0; i < NEDGE; i++) {
        size_t n = edge_sizes[i];
        check_fill((uint8_t *)h[2 * i] - (n - 1), n, id0 + i);
        check_fill((uint8_t *)h[2 * i + 1] - n / 2, n, id0 + 100 + i);
    }
}

TC_TEST(conservative_interior_pointers_keep_objects_of_every_size)
{
    setup();
    void **holders = calloc(8, sizeof(void *));
    tc_root *r = tc_root_register(holders, 8 * sizeof(void *), NULL, 0);
    for (int k = 0; k < 8; k++) holders[k] = make_edge_holder((uint64_t)k * 1000);
    double end = run_for(0.5);
    int rounds = 0;
    do {
        /* Allocate the same sizes again so that a freed buffer is reused. */
        for (size_t i = 0; i < NEDGE; i++) {
            uint8_t *p = tc_alloc_noscan(edge_sizes[i]);
            memset(p, 0xee, edge_sizes[i]);
        }
        tc_gc();
        for (int k = 0; k < 8; k++) check_edge_holder(holders[k], (uint64_t)k * 1000);
        rounds++;
    } while (tc_test_now() < end || rounds < 3);
    tc_root_unregister(r);
    free(holders);
}

/* The boundary rule is for stacks and registers only: an end pointer that
 * the program stored in a root or an object keeps nothing (docs/gc.md). A
 * stale stack word may keep one by chance, so assert on most of them. */
static TC_NOINLINE void fill_with_end_pointers(void **slots, size_t n, size_t size, bool typed)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = typed ? tc_new(node_t) : tc_alloc_noscan(size);
        slots[i] = p + tc_object_size(p); /* the end of the slot, past any slack */
        /* The next slot is where the end pointer points: fill it, so that
         * the pointer keeps that object (as any pointer to a start does),
         * and never the one it ends. */
        (void)(typed ? tc_new(node_t) : tc_alloc_noscan(size));
    }
}

TC_TEST(end_pointers_stored_in_roots_and_objects_keep_nothing)
{
    setup();
    enum { N = 2000 };
    void **root = calloc(N, sizeof(void *));
    tc_root *r = tc_root_register(root, N * sizeof(void *), NULL, 0);
    void **volatile holder = tc_alloc_conservative(N * sizeof(void *));
    fill_with_end_pointers(root, N / 2, 48, false);
    fill_with_end_pointers(root + N / 2, N / 2, 0, true);
    fill_with_end_pointers(holder, N / 2, 48, false);
    fill_with_end_pointers(holder + N / 2, N / 2, 0, true);
    tc_gc();
    int kept = 0;
    for (size_t i = 0; i < N; i++) {
        kept += tc_object_base((uint8_t *)root[i] - 1) != NULL;
        kept += tc_object_base((uint8_t *)holder[i] - 1) != NULL;
    }
    /* Under the old rule every one survived; stale words (TSan's code
     * leaves more of them) keep a few percent at most. */
    CHECK_MSG(kept < 2 * N / 4, "%d of %d objects held only by stored end pointers survived", kept,
              2 * N);
    tc_root_unregister(r);
    free(root);
}

/* ---- roots registered and unregistered while others collect --------------------------- */

static void *root_worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg;
    double end = run_for(1.0);
    uint64_t id = (rng & 0xffff) << 36;
    while (tc_test_now() < end) {
        uint64_t r = tc_rand(&rng);
        /* Now and then a root big enough to be split into several shards. */
        size_t n = r % 8 == 0 ? 40000 : 1 + (size_t)(r >> 8) % 64;
        bool precise = (r >> 4) & 1;
        struct cell *tab = calloc(n, sizeof *tab);
        tc_root *root = tc_root_register(tab, n * sizeof *tab, precise ? cell_t : NULL, 0);
        CHECK(root != NULL);
        size_t step = n > 64 ? 401 : 1;
        for (size_t i = 0; i < n; i += step) tab[i].p = make_list(3, id + i * 4);
        if ((r >> 12) % 4 == 0) tc_gc();
        (void)make_list(100, 9);
        for (size_t i = 0; i < n; i += step) check_list(tab[i].p, 3, id + i * 4);
        tc_root_unregister(root);
        memset(tab, 0xab, n * sizeof *tab); /* freed memory is not a root any more */
        free(tab);
        id += 1u << 20;
    }
    return NULL;
}

TC_TEST(roots_registered_and_unregistered_while_other_threads_collect)
{
    setup();
    uint64_t seed = tc_test_seed();
    atomic_store(&collecting, 1);
    pthread_t c;
    CHECK_EQ(tc_pthread_create(&c, NULL, collector_loop, NULL), 0);
    enum { T = 3 };
    pthread_t t[T];
    for (int i = 0; i < T; i++)
        CHECK_EQ(tc_pthread_create(&t[i], NULL, root_worker, (void *)(uintptr_t)(seed + 31u * i)),
                 0);
    for (int i = 0; i < T; i++) tc_test_join(t[i], NULL);
    atomic_store(&collecting, 0);
    tc_test_join(c, NULL);
}

/* ---- a blocked thread whose heap pointers live only on its stack ------------------------ */

struct blocked_arg {
    int go_fd, ready_fd;
};

static TC_NOINLINE uint64_t blocked_body(struct blocked_arg *a)
{
    struct node *l = make_list(500, 4242); /* in a callee-saved register or this frame */
    struct node *volatile on_stack = make_list(300, 8484);
    char c = 'r';
    CHECK_EQ(write(a->ready_fd, &c, 1), 1);
    tc_blocking_enter();
    ssize_t n = read(a->go_fd, &c, 1);
    tc_blocking_leave();
    CHECK_EQ(n, 1);
    check_list(l, 500, 4242);
    check_list(on_stack, 300, 8484);
    return l->id + on_stack->id;
}

static void *blocked_thread(void *arg) { return (void *)(uintptr_t)blocked_body(arg); }

TC_TEST(thread_in_a_blocking_region_keeps_what_its_stack_points_to)
{
    setup();
    int go[2], ready[2];
    CHECK_EQ(pipe(go), 0);
    CHECK_EQ(pipe(ready), 0);
    struct blocked_arg a = {go[0], ready[1]};
    pthread_t t;
    CHECK_EQ(tc_pthread_create(&t, NULL, blocked_thread, &a), 0);
    char c;
    tc_blocking_enter();
    CHECK_EQ(read(ready[0], &c, 1), 1);
    tc_blocking_leave();
    double end = run_for(0.5);
    do {
        for (int i = 0; i < 20; i++) (void)make_list(1000, 1); /* reuse any freed node */
        tc_gc();
    } while (tc_test_now() < end);
    CHECK_EQ(write(go[1], "g", 1), 1);
    void *ret;
    tc_test_join(t, &ret);
    CHECK_EQ((uintptr_t)ret, 4242u + 8484u);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
}

/* ---- signal handlers on an alternate stack ------------------------------------------------ */

static _Atomic int in_handler, release_handler;

static void alt_handler(int sig)
{
    (void)sig;
    int local;
    /* On the alternate stack, far from the thread's own. */
    atomic_store(&in_handler, (int)((uintptr_t)&local & 1) | 2);
    while (!atomic_load(&release_handler)) sched_yield();
}

static void install_alt_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = alt_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

static void *altstack_mutator(void *arg)
{
    (void)arg;
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    CHECK(ss.ss_sp != NULL);
    CHECK_EQ(sigaltstack(&ss, NULL), 0);
    struct node *volatile mine = make_list(400, 5150);
    raise(SIGUSR1); /* parks in the handler, on the alternate stack, until released */
    check_list(mine, 400, 5150);
    stack_t off = {.ss_flags = SS_DISABLE};
    CHECK_EQ(sigaltstack(&off, NULL), 0);
    free(ss.ss_sp);
    return NULL;
}

static void collect_while_in_handler(void)
{
    while (atomic_load(&in_handler) == 0) sched_yield();
    double end = run_for(0.3);
    do {
        for (int i = 0; i < 10; i++) (void)make_list(1000, 2);
        tc_gc();
    } while (tc_test_now() < end);
    atomic_store(&release_handler, 1);
}

/* Both sigaltstack cases: false (skipped) under TSan. */
static bool altstack_case_ready(void)
{
    if (TC_TEST_UNDER_TSAN) {
        printf("skipped: TSan delays signals to its interceptors\n");
        return false;
    }
    setup();
    install_alt_handler();
    atomic_store(&in_handler, 0);
    atomic_store(&release_handler, 0);
    return true;
}

TC_TEST(thread_stopped_inside_a_sigaltstack_handler_keeps_its_stack)
{
    if (!altstack_case_ready()) return;
    pthread_t t;
    CHECK_EQ(tc_pthread_create(&t, NULL, altstack_mutator, NULL), 0);
    collect_while_in_handler();
    tc_test_join(t, NULL);
}

static void *collector_for_main(void *arg)
{
    (void)arg;
    collect_while_in_handler();
    return NULL;
}

/* The same for the main thread, whose stack bounds come from the process's
 * stack rlimit rather than a pthread allocation. */
TC_TEST(main_thread_stopped_inside_a_sigaltstack_handler_keeps_its_stack)
{
    if (!altstack_case_ready()) return;
    pthread_t t;
    CHECK_EQ(tc_pthread_create(&t, NULL, collector_for_main, NULL), 0);
    altstack_mutator(NULL);
    tc_test_join(t, NULL);
}

/* A handler on the alternate stack that holds a heap pointer only in its
 * own frame while the collector runs: the alternate stack is part of what
 * the thread can reach. */
static _Atomic(struct node *) handoff;

static void holding_handler(int sig)
{
    (void)sig;
    struct node *volatile mine = atomic_exchange(&handoff, NULL);
    atomic_store(&in_handler, 1);
    while (!atomic_load(&release_handler)) sched_yield();
    check_list(mine, 400, 6160);
    atomic_store(&in_handler, 3);
}

static TC_NOINLINE void hand_off_list(void) { atomic_store(&handoff, make_list(400, 6160)); }

static TC_NOINLINE void scrub_stack(void)
{
    volatile char pad[16384];
    memset((char *)pad, 0, sizeof pad);
}

static void *altstack_holder(void *arg)
{
    (void)arg;
    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    CHECK(ss.ss_sp != NULL);
    CHECK_EQ(sigaltstack(&ss, NULL), 0);
    hand_off_list();
    scrub_stack();
    raise(SIGUSR1);
    CHECK_EQ(atomic_load(&in_handler), 3);
    stack_t off = {.ss_flags = SS_DISABLE};
    CHECK_EQ(sigaltstack(&off, NULL), 0);
    free(ss.ss_sp);
    return NULL;
}

TC_TEST(sigaltstack_handler_frame_keeps_what_it_points_to)
{
    if (TC_TEST_UNDER_TSAN) {
        printf("skipped: TSan delays signals to its interceptors\n");
        return;
    }
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = holding_handler;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    atomic_store(&in_handler, 0);
    atomic_store(&release_handler, 0);
    pthread_t t;
    CHECK_EQ(tc_pthread_create(&t, NULL, altstack_holder, NULL), 0);
    collect_while_in_handler();
    tc_test_join(t, NULL);
}

/* ---- fork ------------------------------------------------------------------------ */

/* A child forked after collections (mark helpers and the background sweeper
 * exist only in the parent) can still allocate and collect. */
TC_TEST(a_forked_child_allocates_and_collects)
{
    setup();
    int markers = tc_debug.gcmarkers;
    tc_debug.gcmarkers = 4; /* helper markers exist in the parent */
    struct node *volatile keep = make_list(1000, 11);
    tc_gc();
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(20); /* a hang is a failure */
        for (int i = 0; i < 5; i++) {
            (void)make_list(5000, 3);
            tc_gc();
        }
        check_list(keep, 1000, 11);
        _exit(0);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    tc_debug.gcmarkers = markers;
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x (signal %d)", st,
              WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    check_list(keep, 1000, 11);
}

/* fork during a collection. The child must get a heap it can go on with:
 * its own collections keep every reachable object (clobberfree: a freed node
 * fails check_list) and gccheckmark agrees with them. Forked in the middle
 * of a mark, the child would inherit marks set, grey objects in buffers
 * nobody drains and the mark-bit arenas turned over; so fork waits for the
 * cycle in progress (gc.c, "fork"). The first rounds hold the parent's
 * coordinator right after stop #1 (roots shaded, nothing scanned) for 100
 * ms and check that fork returned only after the cycle went on; the others
 * fork at some point of a cycle or of the sweep after it. */
static sem_t fork_snapshot, fork_release;
static _Atomic double fork_released_at;
static void hold_the_cycle(void)
{
    sem_post(&fork_snapshot);
    while (sem_wait(&fork_release) != 0) {}
}

static void *release_later(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    atomic_store(&fork_released_at, tc_test_now());
    sem_post(&fork_release);
    return NULL;
}

static void child_after_fork_in_a_cycle(struct node *keep, int n, uint64_t id)
{
    alarm(30); /* a hang is a failure */
    tc_debug.gccheckmark = 1;
    tc_debug.gcstress = 0; /* the collections below are the check; stress is for the parent */
    for (int i = 0; i < 4; i++) {
        (void)make_list(20000, 7);
        tc_gc();
        check_list(keep, n, id);
    }
    _exit(0);
}

TC_TEST(fork_during_a_collection_gives_the_child_a_heap_it_can_collect)
{
    setup();
    enum { ID = 500000 };
    const int N = tc_debug.gcstress ? 6000 : 60000; /* gcstress: a cycle every few allocations */
    struct node *volatile keep = make_list(N, ID);
    alarm(120);
    for (int round = 0; round < 8; round++) {
        fflush(stdout);
        pid_t pid;
        if (round < 2) {
            sem_init(&fork_snapshot, 0, 0);
            sem_init(&fork_release, 0, 0);
            gc_test_after_snapshot = hold_the_cycle;
            gc_collect(GC_TRIGGER_HEAP); /* asks for a cycle and returns */
            tc_blocking_enter();         /* stop #1 must not wait for this thread */
            while (sem_wait(&fork_snapshot) != 0) {}
            tc_blocking_leave();
            gc_test_after_snapshot = NULL;
            pthread_t rel;
            CHECK_EQ(pthread_create(&rel, NULL, release_later, NULL), 0);
            pid = fork();
            if (pid == 0) child_after_fork_in_a_cycle(keep, N, ID);
            double forked = tc_test_now();
            CHECK_EQ(pthread_join(rel, NULL), 0);
            CHECK_MSG(forked >= atomic_load(&fork_released_at),
                      "round %d: fork returned before the cycle it interrupted could go on", round);
        } else {
            (void)make_list(N / 3, 9);
            gc_collect(GC_TRIGGER_HEAP);
            usleep((useconds_t)(round - 2) * 700);
            pid = fork();
            if (pid == 0) child_after_fork_in_a_cycle(keep, N, ID);
        }
        CHECK(pid > 0);
        int st;
        CHECK_EQ(waitpid(pid, &st, 0), pid);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: child status %#x (signal %d)",
                  round, st, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        tc_gc();
        check_list(keep, N, ID);
    }
    alarm(0);
}

/* Two threads forking at once while cycles are asked for: each fork's
 * state is its own thread's, and the end of one fork does not let a cycle
 * start under the other (co.forks counts them). Every child collects and
 * finds the shared list intact. */
static struct node *fork_shared;
static atomic_int fork_quit;
static void *fork_a_few(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        pid_t pid = fork();
        if (pid == 0) child_after_fork_in_a_cycle(fork_shared, 3000, 88);
        CHECK(pid > 0);
        int st;
        CHECK_EQ(waitpid(pid, &st, 0), pid);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x (signal %d)", st,
                  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    return NULL;
}

static void *ask_for_cycles(void *arg)
{
    (void)arg;
    while (!atomic_load(&fork_quit)) {
        (void)make_list(2000, 5);
        gc_collect(GC_TRIGGER_HEAP);
    }
    return NULL;
}

TC_TEST(two_threads_fork_at_once_while_cycles_run)
{
    setup();
    fork_shared = make_list(3000, 88);
    tc_root *r = tc_root_register(&fork_shared, sizeof fork_shared, NULL, 0);
    fflush(stdout);
    alarm(120);
    atomic_store(&fork_quit, 0);
    pthread_t asker, f[2];
    CHECK_EQ(tc_pthread_create(&asker, NULL, ask_for_cycles, NULL), 0);
    for (int i = 0; i < 2; i++) CHECK_EQ(tc_pthread_create(&f[i], NULL, fork_a_few, NULL), 0);
    for (int i = 0; i < 2; i++) CHECK_EQ(pthread_join(f[i], NULL), 0);
    atomic_store(&fork_quit, 1);
    CHECK_EQ(pthread_join(asker, NULL), 0);
    alarm(0);
    tc_gc();
    check_list(fork_shared, 3000, 88);
    tc_root_unregister(r);
}

/* Forking from a blocking region works too (the handler leaves it to stop
 * the world and enters it again in parent and child). */
TC_TEST(fork_from_a_blocking_region)
{
    setup();
    struct node *volatile keep = make_list(1000, 77);
    fflush(stdout);
    tc_blocking_enter();
    pid_t pid = fork();
    if (pid == 0) {
        tc_blocking_leave();
        child_after_fork_in_a_cycle(keep, 1000, 77);
    }
    tc_blocking_leave();
    CHECK(pid > 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    check_list(keep, 1000, 77);
}

TC_TEST_MAIN()
