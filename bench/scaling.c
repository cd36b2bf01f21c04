/*
 * scaling.c — how tricolor's allocation and marking scale with threads, for
 * a run on a many-core machine. Not part of the default `make bench`:
 * `bench/run.sh --scaling` (or `make bench BENCH_ARGS=--scaling`) runs it
 * alone, or run build/bench/bench_scaling directly.
 *
 * Two tables, one row per thread count T (1, 2, 4, 8, 16 by default; rows
 * above this machine's CPU count are skipped with a note). Every cell is the
 * median over --reps forked children (bh_in_child), one measurement each, so
 * every measurement starts from a fresh heap with one allocator loaded.
 *
 * 1. Allocation, two workloads, collectors off (tc_config.gc_percent = -1,
 *    GC_disable): each of T threads allocates M objects and never frees them
 *      - 16 B: tc_alloc_noscan(16); peers malloc(16) / GC_MALLOC_ATOMIC(16)
 *      - 32 B: tc_new of a 32-byte type with two pointer words; peers
 *        malloc(32) / GC_MALLOC(32)
 *    and writes each object's first word. Wall time runs from the first
 *    thread's start to the last one's end (threads meet at a barrier first).
 *    Reported: tricolor's aggregate rate in million objects/s, its speedup
 *    over T = 1 and its parallel efficiency (speedup / T); mimalloc,
 *    jemalloc and Boehm (extra threads registered with GC_register_my_thread,
 *    as bench_alloc does; tricolor's attach with tc_thread_attach) as their
 *    rate over tricolor's at the same T (>1: faster than tricolor).
 *
 * 2. Marking. Each child builds the same live heap, single-threaded and with
 *    collection off: LIVE bytes of 32, 48 and 64-byte typed nodes (sizes
 *    drawn at random; each has a `next` and a `link` pointer, the 64-byte
 *    ones a second link) threaded onto many lists whose heads sit in large
 *    pointer arrays (16384 slots, 128 KiB each), which hang off one top
 *    array held by one registered root. Each list has about 32 nodes, a node
 *    joins a random list, and its links point at random earlier nodes
 *    (through a reservoir of 65536 of them), so the graph is spread over the
 *    whole heap as a random graph is. Then one tc_gc() to warm up and --gcs
 *    timed ones. tricolor runs the world-stopped collector with T markers
 *    (TC_DEBUG settings gcstoptheworld=1,gcmarkers=T through tc_config.debug):
 *    the concurrent collector's background marking is capped at a quarter of
 *    the CPUs whatever gcmarkers says (docs/gc.md), so only the stopped mark
 *    uses T markers. Its mark time is that cycle's stop (tc_read_stats'
 *    pause_ns; it is the whole mark), the tc_gc time also includes waiting
 *    for the sweep. --concurrent runs the default concurrent collector
 *    instead (gcmarkers=T only). Boehm builds the same shape with GC_MALLOC,
 *    rooted in a global, with GC_MARKERS=T in its environment before GC_init,
 *    collects with GC_gcollect (after GC_enable); its cell is that wall time.
 *    Reported per GB of live data (the bytes the nodes and arrays asked
 *    for, the same on both sides: Boehm's conservative heap is larger): ms
 *    per GB, speedup over one marker, efficiency.
 *
 * Options: --threads=1,2,4 (rows), --reps=N (children per cell, default 3),
 * --alloc=M (objects per thread and workload, default 4M = 4 * 2^20),
 * --live=SIZE (default 512M; K/M/G suffixes are powers of two), --gcs=N
 * (timed collections per child, default 3), --only=alloc|mark,
 * --concurrent, --oversubscribe (keep rows above the CPU count), --quick
 * (256K objects, 32M live, 1 rep, 2 timed collections: seconds).
 * Timing is reported, never asserted.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "tc_backend.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_ROWS    16
#define MAX_REPS    64

static struct {
    int threads[MAX_ROWS];
    int nrows;
    int reps;
    long alloc;    /* objects per thread and workload */
    uint64_t live; /* bytes of the marking heap */
    int gcs;       /* timed collections per child */
    bool concurrent;
} C;

/* ==== allocation ============================================================ */

/* 32 bytes, pointers in the first two words: tricolor's tc_new workload. */
typedef struct pair {
    void *a, *b;
    uintptr_t x, y;
} pair;

static tc_type *pair_type;

static void *tc_alloc_pair(size_t size)
{
    (void)size;
    return tc_new(pair_type);
}

/* tricolor with collection off from the start (no cycle can run before it). */
static bool tc_alloc_init(char *why, size_t whylen)
{
    (void)why, (void)whylen;
    tc_config cfg;
    tc_config_default(&cfg);
    cfg.gc_percent = -1;
    tc_init(&cfg);
    pair_type = TC_TYPE(pair, a, b);
    return pair_type != NULL;
}

static const bh_backend bh_tc = {.name = "tricolor",
                                 .init = tc_alloc_init,
                                 .alloc = tc_alloc_pair,
                                 .alloc_atomic = tc_alloc_noscan,
                                 .gc_disable = bh_tc_gc_disable,
                                 .thread_init = bh_tc_thread_init,
                                 .thread_fini = bh_tc_thread_fini};

static const bh_backend *const alloc_backends[] = {&bh_tc, &bh_mimalloc, &bh_jemalloc, &bh_boehm};
#define NALLOC ((int)(sizeof alloc_backends / sizeof alloc_backends[0]))

typedef struct alloc_job {
    const bh_backend *b;
    bool scanned; /* the 32-byte workload (alloc), else 16 bytes (alloc_atomic) */
    long n;       /* per thread */
    int threads;
} alloc_job;

typedef struct alloc_worker {
    const alloc_job *j;
    pthread_barrier_t *go;
    uint64_t start, end;
} alloc_worker;

static void *alloc_worker_main(void *arg)
{
    alloc_worker *w = arg;
    const alloc_job *j = w->j;
    if (j->b->thread_init) j->b->thread_init();
    void *(*alloc)(size_t) = j->scanned ? j->b->alloc : j->b->alloc_atomic;
    size_t size = j->scanned ? 32 : 16;
    BH_OPAQUE(alloc);
    pthread_barrier_wait(w->go);
    w->start = bh_wall_ns();
    for (long i = 0; i < j->n; i++) {
        void **p = alloc(size);
        *p = p;
        BH_OPAQUE(p);
    }
    w->end = bh_wall_ns();
    if (j->b->thread_fini) j->b->thread_fini();
    return NULL;
}

/* out[0]: million objects per second, all threads together. */
static int alloc_child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const alloc_job *j = arg;
    if (max < 1) return -1;
    if (!j->b->init(why, whylen)) return -1;
    if (j->b->gc_disable) j->b->gc_disable();
    static pthread_t tid[MAX_THREADS];
    static alloc_worker w[MAX_THREADS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)j->threads + 1);
    for (int k = 0; k < j->threads; k++) {
        w[k] = (alloc_worker){.j = j, .go = &go};
        if (pthread_create(&tid[k], NULL, alloc_worker_main, &w[k]) != 0) {
            snprintf(why, whylen, "pthread_create failed at thread %d", k);
            return -1; /* the child exits; the others never pass the barrier */
        }
    }
    pthread_barrier_wait(&go);
    for (int k = 0; k < j->threads; k++) pthread_join(tid[k], NULL);
    uint64_t t0 = w[0].start, t1 = w[0].end;
    for (int k = 1; k < j->threads; k++) {
        t0 = w[k].start < t0 ? w[k].start : t0;
        t1 = w[k].end > t1 ? w[k].end : t1;
    }
    out[0] = (double)j->n * j->threads / ((double)(t1 - t0) / 1e9) / 1e6;
    return 1;
}

/* ==== marking ================================================================ */

typedef struct node32 {
    void *next, *link;
    uintptr_t x[2];
} node32;
typedef struct node48 {
    void *next, *link;
    uintptr_t x[4];
} node48;
typedef struct node64 {
    void *next, *link, *link2;
    uintptr_t x[5];
} node64;

#define ARRAY_SLOTS 16384 /* pointers per large array: 128 KiB */
#define LIST_LEN    32    /* nodes per list, on average */
#define RESERVOIR   65536 /* random earlier nodes that links point at */

/* How the heap's pieces are allocated, so both sides build the same graph. */
typedef struct heap_ops {
    void *(*node)(int kind);  /* kind 0, 1, 2: 32, 48, 64 bytes */
    void *(*array)(size_t n); /* n pointer slots */
    void (*store)(void **slot, void *p);
} heap_ops;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return *s = x;
}

/* Build about `live` bytes; returns the top array and the bytes asked for. */
static void *build_heap(const heap_ops *ops, uint64_t live, uint64_t *built)
{
    static const size_t kind_size[3] = {32, 48, 64};
    uint64_t nodes = live / 48 + 1;
    uint64_t nlists = (nodes + LIST_LEN - 1) / LIST_LEN;
    size_t narrays = (size_t)((nlists + ARRAY_SLOTS - 1) / ARRAY_SLOTS);
    uint64_t bytes = narrays * (uint64_t)ARRAY_SLOTS * sizeof(void *) + narrays * sizeof(void *);
    void **top = ops->array(narrays);
    for (size_t a = 0; a < narrays; a++) ops->store(&top[a], ops->array(ARRAY_SLOTS));
    nlists = (uint64_t)narrays * ARRAY_SLOTS;
    /* The reservoir is malloc'd: pointers here keep nothing alive, but every
     * node is on a list, and nothing collects while we build. */
    void **pool = calloc(RESERVOIR, sizeof *pool);
    uint64_t s = 0x9e3779b97f4a7c15u;
    while (bytes < live) {
        uint64_t r = rng_next(&s);
        int kind = (int)(r % 3);
        void **n = ops->node(kind);
        bytes += kind_size[kind];
        uint64_t list = (r >> 8) % nlists;
        void **head = &((void **)top[list / ARRAY_SLOTS])[list % ARRAY_SLOTS];
        ops->store(&n[0], *head); /* next */
        ops->store(head, n);
        ops->store(&n[1], pool[(r >> 32) % RESERVOIR]); /* link */
        if (kind == 2) ops->store(&n[2], pool[rng_next(&s) % RESERVOIR]);
        pool[(r >> 48) % RESERVOIR] = n;
    }
    free(pool);
    *built = bytes;
    return top;
}

/* ---- tricolor ---- */

static tc_type *node_type[3], *slot_type;

static void *tc_node(int kind) { return tc_new(node_type[kind]); }
static void *tc_array(size_t n) { return tc_new_array(slot_type, n); }
static void tc_store_ptr(void **slot, void *p) { TC_STORE(*slot, p); }

static struct {
    void *top;
} tc_root_block; /* the one registered root */

typedef struct mark_job {
    int threads;
} mark_job;

enum { M_MARK_MS, M_GC_MS, M_BUILT, M_MARKED, M_BUILD_MS, M_N };

static int tc_mark_child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const mark_job *j = arg;
    if (max < M_N) return -1;
    static char debug[96];
    snprintf(debug, sizeof debug, "%sgcmarkers=%d", C.concurrent ? "" : "gcstoptheworld=1,",
             j->threads);
    tc_config cfg;
    tc_config_default(&cfg);
    cfg.gc_percent = -1;
    cfg.debug = debug;
    tc_init(&cfg);
    node_type[0] = TC_TYPE(node32, next, link);
    node_type[1] = TC_TYPE(node48, next, link);
    node_type[2] = TC_TYPE(node64, next, link, link2);
    slot_type = tc_type_new("slot", sizeof(void *), (const size_t[]){0}, 1, 0);
    if (!node_type[0] || !node_type[1] || !node_type[2] || !slot_type) {
        snprintf(why, whylen, "tc_type_new failed");
        return -1;
    }
    tc_root *root = tc_root_register(&tc_root_block, sizeof tc_root_block, NULL, 0);
    static const heap_ops ops = {tc_node, tc_array, tc_store_ptr};
    uint64_t built, b0 = bh_wall_ns();
    tc_root_block.top = build_heap(&ops, C.live, &built);
    uint64_t b1 = bh_wall_ns();

    static tc_stats st; /* large (rings) */
    double mark[MAX_REPS], gc[MAX_REPS];
    for (int i = 0; i < C.gcs; i++) {
        uint64_t t0 = bh_wall_ns();
        tc_gc();
        uint64_t t1 = bh_wall_ns();
        tc_read_stats(&st);
        gc[i] = (double)(t1 - t0) / 1e6;
        /* The world-stopped cycle's one stop is its whole mark; the
         * concurrent one has no mark figure in the stats: use tc_gc's. */
        mark[i] = C.concurrent ? gc[i] : (double)st.pause_ns[(st.num_gc + 255) % 256] / 1e6;
    }
    out[M_MARK_MS] = bh_median(mark, C.gcs);
    out[M_GC_MS] = bh_median(gc, C.gcs);
    out[M_BUILT] = (double)built;
    out[M_MARKED] = (double)st.heap_marked;
    out[M_BUILD_MS] = (double)(b1 - b0) / 1e6;
    tc_root_unregister(root);
    return M_N;
}

/* ---- Boehm ---- */

static void *(*gc_malloc_fn)(size_t);
static void *volatile boehm_root; /* a global: Boehm scans the data segment */

static void *boehm_node(int kind)
{
    static const size_t sz[3] = {32, 48, 64};
    return gc_malloc_fn(sz[kind]);
}
static void *boehm_array(size_t n) { return gc_malloc_fn(n * sizeof(void *)); }
static void plain_store(void **slot, void *p) { *slot = p; }

enum { B_GC_MS, B_BUILT, B_MARKERS, B_N };

static int boehm_mark_child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const mark_job *j = arg;
    if (max < B_N) return -1;
    char n[16];
    snprintf(n, sizeof n, "%d", j->threads);
    setenv("GC_MARKERS", n, 1);
    if (!bh_boehm.init(why, whylen)) return -1;
    void *h = dlopen("libgc.so.1", RTLD_NOLOAD | RTLD_NOW);
    void (*enable)(void) = h ? (void (*)(void))dlsym(h, "GC_enable") : NULL;
    void (*gcollect)(void) = h ? (void (*)(void))dlsym(h, "GC_gcollect") : NULL;
    int (*get_parallel)(void) = h ? (int (*)(void))dlsym(h, "GC_get_parallel") : NULL;
    *(void **)&gc_malloc_fn = h ? dlsym(h, "GC_malloc") : NULL;
    if (!enable || !gcollect || !gc_malloc_fn) {
        snprintf(why, whylen, "libgc.so.1 lacks GC_enable/GC_gcollect/GC_malloc");
        return -1;
    }
    int markers = get_parallel ? get_parallel() + 1 : 1; /* GC_parallel: helpers */
    if (j->threads > 1 && markers == 1) {
        snprintf(why, whylen, "libgc marks with one thread (no parallel mark)");
        return -1;
    }
    bh_boehm.gc_disable();
    static const heap_ops ops = {boehm_node, boehm_array, plain_store};
    uint64_t built;
    boehm_root = build_heap(&ops, C.live, &built);
    enable();
    double gc[MAX_REPS];
    for (int i = 0; i < C.gcs; i++) {
        uint64_t t0 = bh_wall_ns();
        gcollect();
        gc[i] = (double)(bh_wall_ns() - t0) / 1e6;
    }
    out[B_GC_MS] = bh_median(gc, C.gcs);
    out[B_BUILT] = (double)built;
    out[B_MARKERS] = markers;
    return B_N;
}

/* ==== driver ================================================================== */

static int cpus_here(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

/* Run fn in C.reps children; med[k] is the median of field k (of nfields)
 * over the children that succeeded. Returns how many did (0: why says). */
static int in_children(bh_child_fn fn, void *arg, double *med, int nfields, char *why,
                       size_t whylen)
{
    static double v[8][MAX_REPS];
    double out[8];
    int n = 0;
    for (int r = 0; r < C.reps; r++) {
        if (bh_in_child(fn, arg, out, 8, why, whylen) < nfields) break;
        for (int k = 0; k < nfields; k++) v[k][n] = out[k];
        n++;
    }
    for (int k = 0; k < nfields; k++) med[k] = n ? bh_median(v[k], n) : NAN;
    return n;
}

static void note_na(char *nas, size_t len, const char *who, const char *why)
{
    if (strstr(nas, who)) return;
    size_t l = strlen(nas);
    snprintf(nas + l, len - l, "%s%s: %s", l ? "; " : "", who, why);
}

static void alloc_tables(void)
{
    for (int scanned = 0; scanned < 2; scanned++) {
        printf("\n== allocation scaling, %s\n",
               scanned ? "32 B: tc_new of a two-pointer type" : "16 B: tc_alloc_noscan");
        printf("   each of T threads allocates %ld objects and frees none; collectors off; "
               "median of %d process%s\n",
               C.alloc, C.reps, C.reps > 1 ? "es" : "");
        printf("   peers (%s): their rate / tricolor's at the same T (>1: faster than "
               "tricolor)\n",
               scanned ? "malloc(32), GC_MALLOC(32)" : "malloc(16), GC_MALLOC_ATOMIC(16)");
        printf("%8s %16s %8s %10s", "threads", "tricolor Mobj/s", "speedup", "efficiency");
        for (int c = 1; c < NALLOC; c++) printf(" %10s", alloc_backends[c]->name);
        printf("\n");
        fflush(stdout);
        double base = NAN;
        char nas[1024] = "";
        for (int r = 0; r < C.nrows; r++) {
            int t = C.threads[r];
            double rate[NALLOC];
            for (int c = 0; c < NALLOC; c++) {
                alloc_job j = {
                    .b = alloc_backends[c], .scanned = scanned, .n = C.alloc, .threads = t};
                char why[256] = "";
                if (!in_children(alloc_child, &j, &rate[c], 1, why, sizeof why))
                    note_na(nas, sizeof nas, alloc_backends[c]->name, why);
            }
            if (r == 0) base = rate[0];
            double sp = rate[0] / base;
            printf("%8d %16.1f %8.2f %9.0f%%", t, rate[0], sp, 100 * sp * C.threads[0] / t);
            for (int c = 1; c < NALLOC; c++) {
                if (isnan(rate[c]))
                    printf(" %10s", "n/a");
                else
                    printf(" %9.2fx", rate[c] / rate[0]);
            }
            printf("\n");
            fflush(stdout);
        }
        if (nas[0]) printf("   n/a: %s\n", nas);
    }
}

static void mark_table(void)
{
    printf("\n== marking scaling: tc_gc() %s, %.0f MiB live\n",
           C.concurrent ? "with the concurrent collector and TC_DEBUG=gcmarkers=T"
                        : "with T markers (TC_DEBUG=gcstoptheworld=1,gcmarkers=T)",
           (double)C.live / (1 << 20));
    printf("   32-64 B typed nodes on lists from 128 KiB pointer arrays, random links; "
           "median of %d collections per process, of %d process%s\n",
           C.gcs, C.reps, C.reps > 1 ? "es" : "");
    printf("   mark: %s; gc: all of tc_gc (mark, then the wait for the sweep);\n"
           "   boehm: GC_gcollect with GC_MARKERS=T; per GB of data asked for (the same "
           "on both sides)\n",
           C.concurrent ? "tc_gc's wall time (the stats give no concurrent mark time)"
                        : "the cycle's one stop (tc_read_stats pause_ns)");
    printf("%8s %9s %9s %8s %10s %9s | %11s %8s %10s\n", "threads", "mark ms", "ms/GB", "speedup",
           "efficiency", "gc ms/GB", "boehm ms/GB", "speedup", "efficiency");
    fflush(stdout);
    double base = NAN, bbase = NAN, built = NAN, marked = NAN, build_ms = NAN;
    char nas[1024] = "", bmark[256] = "";
    for (int r = 0; r < C.nrows; r++) {
        int t = C.threads[r];
        mark_job j = {.threads = t};
        char why[256] = "";
        double m[M_N], b[B_N];
        if (!in_children(tc_mark_child, &j, m, M_N, why, sizeof why))
            note_na(nas, sizeof nas, "tricolor", why);
        if (!in_children(boehm_mark_child, &j, b, B_N, why, sizeof why))
            note_na(nas, sizeof nas, "boehm", why);
        if (!isnan(m[M_BUILT])) built = m[M_BUILT], marked = m[M_MARKED], build_ms = m[M_BUILD_MS];
        if (isnan(built) && !isnan(b[B_BUILT])) built = b[B_BUILT];
        if (!isnan(b[B_MARKERS]) && (int)b[B_MARKERS] != t) {
            size_t l = strlen(bmark);
            snprintf(bmark + l, sizeof bmark - l, "%s%d for %d", l ? ", " : "", (int)b[B_MARKERS],
                     t);
        }
        double gb = built / (double)(1u << 30);
        double per = m[M_MARK_MS] / gb, bper = b[B_GC_MS] / gb;
        if (r == 0) base = per, bbase = bper;
        double t0 = C.threads[0];
        printf("%8d %9.1f %9.1f %8.2f %9.0f%% %9.1f | %11.1f %8.2f %9.0f%%\n", t, m[M_MARK_MS], per,
               base / per, 100 * base / per * t0 / t, m[M_GC_MS] / gb, bper, bbase / bper,
               100 * bbase / bper * t0 / t);
        fflush(stdout);
    }
    printf("   heap: %.1f MiB asked for, %.1f MiB marked by tricolor, built in %.0f ms "
           "(one thread)\n",
           built / (1 << 20), marked / (1 << 20), build_ms);
    if (bmark[0]) printf("   boehm ran other marker counts than asked: %s\n", bmark);
    if (nas[0]) printf("   n/a: %s\n", nas);
}

int main(int argc, char **argv)
{
    bh_prologue(argc, argv);
    bool quick = bh_arg(argc, argv, "quick") != NULL;
    const char *a;
    C.reps = quick ? 1 : 3;
    C.alloc = quick ? 256L << 10 : 4L << 20;
    C.live = quick ? 32u << 20 : 512u << 20;
    C.gcs = quick ? 2 : 3;
    C.concurrent = bh_arg(argc, argv, "concurrent") != NULL;
    if ((a = bh_arg(argc, argv, "reps")) && *a) C.reps = atoi(a);
    if ((a = bh_arg(argc, argv, "alloc")) && *a) C.alloc = (long)bh_parse_size(a);
    if ((a = bh_arg(argc, argv, "live")) && *a) C.live = bh_parse_size(a);
    if ((a = bh_arg(argc, argv, "gcs")) && *a) C.gcs = atoi(a);
    if (C.reps < 1 || C.reps > MAX_REPS) C.reps = 3;
    if (C.gcs < 1 || C.gcs > MAX_REPS) C.gcs = 3;
    if (C.alloc < 1) C.alloc = 4L << 20;
    if (C.live < (1u << 20)) C.live = 1u << 20;
    bool over = bh_arg(argc, argv, "oversubscribe") != NULL;
    const char *only = bh_arg(argc, argv, "only");

    static const int def_rows[] = {1, 2, 4, 8, 16};
    int want[MAX_ROWS], nwant = 0;
    if ((a = bh_arg(argc, argv, "threads")) && *a) {
        for (const char *p = a; *p && nwant < MAX_ROWS; p += strcspn(p, ","), p += *p == ',') {
            int t = atoi(p);
            if (t >= 1 && t <= MAX_THREADS) want[nwant++] = t;
        }
    } else {
        for (size_t i = 0; i < sizeof def_rows / sizeof def_rows[0]; i++)
            want[nwant++] = def_rows[i];
    }
    int ncpu = cpus_here();
    char skipped[256] = "";
    for (int i = 0; i < nwant; i++) {
        if (want[i] > ncpu && !over) {
            size_t l = strlen(skipped);
            snprintf(skipped + l, sizeof skipped - l, "%s%d", l ? ", " : "", want[i]);
            continue;
        }
        C.threads[C.nrows++] = want[i];
    }
    printf("scaling %son %d CPUs, %s", quick ? "(quick) " : "", ncpu,
           C.nrows ? "threads" : "no thread counts left to run");
    for (int r = 0; r < C.nrows; r++) printf("%s%d", r ? "," : " ", C.threads[r]);
    printf("\n");
    if (skipped[0])
        printf("   skipped: %s thread%s (more than the %d CPUs here; --oversubscribe keeps "
               "them)\n",
               skipped, strchr(skipped, ',') ? "s" : "", ncpu);
    if (over && want[nwant - 1] > ncpu)
        printf("   rows above %d threads are oversubscribed\n", ncpu);
    if (C.nrows == 0) return 0;
    if (C.threads[0] != 1)
        printf("   no 1-thread row: speedups are over the %d-thread row, efficiency = speedup x "
               "%d / T\n",
               C.threads[0], C.threads[0]);
    uint64_t t0 = bh_wall_ns();
    if (!only || strcmp(only, "alloc") == 0) {
        alloc_tables();
        printf("   (allocation tables: %.1f s)\n", (double)(bh_wall_ns() - t0) / 1e9);
    }
    uint64_t t1 = bh_wall_ns();
    if (!only || strcmp(only, "mark") == 0) {
        mark_table();
        printf("   (marking table: %.1f s)\n", (double)(bh_wall_ns() - t1) / 1e9);
    }
    return 0;
}
