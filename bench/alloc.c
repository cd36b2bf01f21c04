/*
 * alloc.c — the cost of allocating, without freeing (issue 3).
 *
 * For each object size (16, 32, 64, 256, 1024, 8192 bytes), allocate
 * N = BYTES / size objects and never free them, on one thread, then split
 * across two threads (each allocating N/2; the wall time runs from the
 * first thread's start to the last one's end).
 * Reported: wall and CPU ns per object (two tables from the same runs; CPU
 * time is the whole process's, all threads), median of several runs, each in a fresh
 * forked child (fresh heap, one peer loaded). The first word of every object
 * is written, so every side touches its memory.
 *
 * malloc peers do malloc without free; Boehm does GC_malloc with collection
 * disabled (GC_disable), so every side does the same work: hand out fresh
 * memory; tricolor's two columns run after tc_set_gc_percent(-1):
 * "tricolor" allocates with tc_alloc_noscan (pointer-free objects), "tc_new"
 * with tc_new of a type of that size whose first word is a pointer (the word
 * each object's own address is written to), so it pays for typed objects'
 * heap bits. A backend is one bh_backend entry in `backends` below.
 * --ref=NAME picks the reference column (default: the first, tricolor).
 */
#include "harness.h"
#include "tc_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tricolor ---------------------------------------------------------- */

static const size_t sizes[] = {16, 32, 64, 256, 1024, 8192};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* One type per measured size: size bytes, a pointer in the first word. */
static tc_type *tc_types[NSIZES];

static bool tc_alloc_init(char *why, size_t whylen)
{
    if (!bh_tc_init(why, whylen)) return false;
    for (size_t k = 0; k < NSIZES; k++) {
        static const size_t first_word[] = {0};
        char name[32];
        snprintf(name, sizeof name, "obj%zu", sizes[k]);
        tc_types[k] = tc_type_new(name, sizes[k], first_word, 1, 0);
        if (!tc_types[k]) {
            snprintf(why, whylen, "tc_type_new(%zu) failed", sizes[k]);
            return false;
        }
    }
    return true;
}

static void *tc_alloc_new(size_t size)
{
    for (size_t k = 0; k < NSIZES; k++)
        if (sizes[k] == size) return tc_new(tc_types[k]);
    return tc_alloc_conservative(size);
}

static const bh_backend bh_tc_noscan = {.name = "tricolor",
                                        .init = tc_alloc_init,
                                        .alloc = tc_alloc_noscan,
                                        .alloc_atomic = tc_alloc_noscan,
                                        .gc_disable = bh_tc_gc_disable,
                                        .gc_count = bh_tc_gc_count,
                                        .thread_init = bh_tc_thread_init,
                                        .thread_fini = bh_tc_thread_fini};

static const bh_backend bh_tc_new = {.name = "tc_new",
                                     .init = tc_alloc_init,
                                     .alloc = tc_alloc_new,
                                     .alloc_atomic = tc_alloc_noscan,
                                     .gc_disable = bh_tc_gc_disable,
                                     .gc_count = bh_tc_gc_count,
                                     .thread_init = bh_tc_thread_init,
                                     .thread_fini = bh_tc_thread_fini};

static const bh_backend *const backends[] = {&bh_tc_noscan, &bh_tc_new,   &bh_glibc,
                                             &bh_mimalloc,  &bh_jemalloc, &bh_boehm};
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
    if (!j->b->init(why, whylen)) return -1;
    if (j->b->gc_disable) j->b->gc_disable();
    uint64_t t0, t1, c0 = bh_cpu_ns();
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
    uint64_t c1 = bh_cpu_ns();
    if (max < 2) return -1;
    out[0] = (double)(t1 - t0) / (double)j->n;
    out[1] = (double)(c1 - c0) / (double)j->n;
    return 2;
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
    /* Two tables from the same runs: wall time, and CPU time of the whole
     * process (all threads), which a loaded machine disturbs much less. */
    static bh_table t, tc;
    bh_table_init(&t, "allocation without free: wall ns per object", cols, NBACKENDS, ref);
    bh_table_init(&tc, "allocation without free: CPU ns per object (all threads)", cols, NBACKENDS,
                  ref);
    static char note[200];
    snprintf(note, sizeof note,
             "%ld MiB per run (N = that / size), median of %d; collectors off "
             "(tc_set_gc_percent(-1), GC_disable)",
             bytes >> 20, reps);
    t.note = tc.note = note;
    static char labels[BH_MAX_ROWS][40];
    char nas[512] = "";
    for (int threads = 1; threads <= 2; threads++)
        for (size_t k = 0; k < NSIZES; k++) {
            int r = t.nrows;
            snprintf(labels[r], sizeof labels[r], "%zuB, %d thread%s", sizes[k], threads,
                     threads > 1 ? "s" : "");
            bh_table_row(&t, labels[r], "ns");
            bh_table_row(&tc, labels[r], "ns");
            for (int c = 0; c < NBACKENDS; c++) {
                job j = {.b = backends[c],
                         .size = sizes[k],
                         .n = bytes / (long)sizes[k],
                         .threads = threads};
                double v[64], vc[64];
                int n = 0;
                char why[256] = "";
                for (int rep = 0; rep < reps; rep++) {
                    double two[2];
                    if (bh_in_child(child, &j, two, 2, why, sizeof why) != 2) break;
                    v[n] = two[0], vc[n] = two[1];
                    n++;
                }
                if (n > 0)
                    t.v[r][c] = bh_median(v, n), tc.v[r][c] = bh_median(vc, n);
                else if (!strstr(nas, cols[c])) {
                    size_t l = strlen(nas);
                    snprintf(nas + l, sizeof nas - l, "%s%s: %s", l ? "; " : "", cols[c], why);
                }
            }
        }
    bh_table_print(&t);
    bh_table_print(&tc);
    if (nas[0]) printf("   n/a: %s\n", nas);
    return 0;
}
