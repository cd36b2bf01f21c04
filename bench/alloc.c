/*
 * alloc.c — the cost of allocating, without freeing (issue 3).
 *
 * For each object size (16, 32, 64, 256, 1024, 8192 bytes), allocate
 * N = BYTES / size objects and never free them, on one thread, then split
 * across two threads (each allocating N/2; the wall time runs from the
 * first thread's start to the last one's end).
 * Reported: wall ns per object, median of several runs, each run in a fresh
 * forked child (fresh heap, one peer loaded). The first word of every object
 * is written, so every side touches its memory.
 *
 * malloc peers do malloc without free; Boehm does GC_malloc with collection
 * disabled (GC_disable), so every side does the same work: hand out fresh
 * memory. A backend is one bh_backend entry in `backends` below; tricolor's
 * entries (tc_alloc_noscan and tc_new based) join the table when its heap
 * lands. --ref=NAME picks the reference column (default: the first).
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tricolor's columns (perf branch): the collector off (gc_percent < 0), so
 * like every other side it only hands out fresh memory. tc-noscan: tc_alloc_noscan;
 * tc-cons: tc_alloc_conservative (a slot that may hold pointers, like *p = p). */
#include "tricolor.h"

static bool tc_bench_init(char *why, size_t whylen)
{
    (void)why, (void)whylen;
    tc_config cfg;
    tc_config_default(&cfg);
    cfg.gc_percent = -1;
    tc_init(&cfg);
    return true;
}
static void tc_bench_thread_init(void) { tc_thread_attach(); }
static void tc_bench_thread_fini(void) { tc_thread_detach(); }
static const bh_backend bh_tc_noscan = {.name = "tc-noscan",
                                        .init = tc_bench_init,
                                        .alloc = tc_alloc_noscan,
                                        .alloc_atomic = tc_alloc_noscan,
                                        .thread_init = tc_bench_thread_init,
                                        .thread_fini = tc_bench_thread_fini};
static const bh_backend bh_tc_cons = {.name = "tc-cons",
                                      .init = tc_bench_init,
                                      .alloc = tc_alloc_conservative,
                                      .alloc_atomic = tc_alloc_noscan,
                                      .thread_init = tc_bench_thread_init,
                                      .thread_fini = tc_bench_thread_fini};
/* ---- end of tricolor's columns */

static const bh_backend *const backends[] = {&bh_glibc, &bh_mimalloc,  &bh_jemalloc,
                                             &bh_boehm, &bh_tc_noscan, &bh_tc_cons};
#define NBACKENDS ((int)(sizeof backends / sizeof backends[0]))

typedef struct job {
    const bh_backend *b;
    size_t size;
    long n; /* objects in all */
    int threads;
} job;

typedef struct worker {
    const job *j;
    long n;
    pthread_barrier_t *go;
    uint64_t start, end; /* this thread's own clock readings */
} worker;

static void alloc_loop(const bh_backend *b, size_t size, long n)
{
    void *(*alloc)(size_t) = b->alloc;
    BH_OPAQUE(alloc);
    for (long i = 0; i < n; i++) {
        void **p = alloc(size);
        *p = p;
        BH_OPAQUE(p);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    const bh_backend *b = w->j->b;
    if (b->thread_init) b->thread_init();
    pthread_barrier_wait(w->go);
    w->start = bh_wall_ns();
    alloc_loop(b, w->j->size, w->n);
    w->end = bh_wall_ns();
    if (b->thread_fini) b->thread_fini();
    return NULL;
}

static int child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const job *j = arg;
    (void)max;
    if (!j->b->init(why, whylen)) return -1;
    if (j->b->gc_disable) j->b->gc_disable();
    uint64_t t0, t1;
    if (j->threads == 1) {
        t0 = bh_wall_ns();
        alloc_loop(j->b, j->size, j->n);
        t1 = bh_wall_ns();
    } else {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, (unsigned)j->threads + 1);
        pthread_t tid[8];
        worker w[8];
        for (int k = 0; k < j->threads; k++) {
            w[k] = (worker){.j = j, .n = j->n / j->threads, .go = &go};
            pthread_create(&tid[k], NULL, worker_main, &w[k]);
        }
        pthread_barrier_wait(&go);
        for (int k = 0; k < j->threads; k++) pthread_join(tid[k], NULL);
        /* From the first thread's start to the last one's end. */
        t0 = w[0].start, t1 = w[0].end;
        for (int k = 1; k < j->threads; k++) {
            t0 = w[k].start < t0 ? w[k].start : t0;
            t1 = w[k].end > t1 ? w[k].end : t1;
        }
    }
    out[0] = (double)(t1 - t0) / (double)j->n;
    return 1;
}

int main(int argc, char **argv)
{
    bh_prologue(argc, argv);
    bool quick = bh_arg(argc, argv, "quick") != NULL;
    const char *reps_s = bh_arg(argc, argv, "reps");
    int reps = reps_s ? atoi(reps_s) : quick ? 1 : 5;
    if (reps < 1 || reps > 64) reps = 5;
    long bytes = (quick ? 8L : 64L) << 20;
    const char *ref_name = bh_arg(argc, argv, "ref");

    const char *cols[NBACKENDS];
    int ref = -1;
    for (int c = 0; c < NBACKENDS; c++) {
        cols[c] = backends[c]->name;
        if (ref_name && strcmp(ref_name, cols[c]) == 0) ref = c;
    }
    if (ref < 0) {
        if (ref_name)
            fprintf(stderr, "alloc: --ref=%s is no column here; the reference is %s\n", ref_name,
                    cols[0]);
        ref = 0;
    }
    bh_table t;
    bh_table_init(&t, "allocation without free: wall ns per object", cols, NBACKENDS, ref);
    static char note[200];
    snprintf(note, sizeof note,
             "%ld MiB per run (N = that / size), median of %d; boehm: GC_malloc, GC_disable'd",
             bytes >> 20, reps);
    t.note = note;
    static const size_t sizes[] = {16, 32, 64, 256, 1024, 8192};
    static char labels[BH_MAX_ROWS][40];
    char nas[512] = "";
    for (int threads = 1; threads <= 2; threads++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            int r = t.nrows;
            snprintf(labels[r], sizeof labels[r], "%zuB, %d thread%s", sizes[k], threads,
                     threads > 1 ? "s" : "");
            bh_table_row(&t, labels[r], "ns");
            for (int c = 0; c < NBACKENDS; c++) {
                job j = {.b = backends[c],
                         .size = sizes[k],
                         .n = bytes / (long)sizes[k],
                         .threads = threads};
                double v[64];
                int n = 0;
                char why[256] = "";
                for (int rep = 0; rep < reps; rep++) {
                    double one;
                    if (bh_in_child(child, &j, &one, 1, why, sizeof why) != 1) break;
                    v[n++] = one;
                }
                if (n > 0)
                    t.v[r][c] = bh_median(v, n);
                else if (!strstr(nas, cols[c])) {
                    size_t l = strlen(nas);
                    snprintf(nas + l, sizeof nas - l, "%s%s: %s", l ? "; " : "", cols[c], why);
                }
            }
        }
    bh_table_print(&t);
    if (nas[0]) printf("   n/a: %s\n", nas);
    return 0;
}
