/*
 * unmanaged.c — tricolor's unmanaged allocators beside malloc (issue 2).
 *
 * ns per operation, median of several repetitions, each column measured in a
 * forked child of its own (fresh heap, one peer library loaded):
 *
 *   fixalloc LIFO pair  alloc one object and free it at once, repeated
 *   fixalloc batch      alloc 1000 objects, then free them in the same order
 *                       (one operation = one alloc + its free)
 *   persistent          alloc without ever freeing; the peers do malloc
 *                       without free of the same size, which is the same work
 *
 * Every allocation's first word is written, so each side touches its memory.
 * Columns: tricolor (fixalloc with its default zero=true: reused objects are
 * cleared; persistent memory is zero), tricolor with zero=false, glibc,
 * mimalloc, jemalloc. All calls go through a function pointer, the same for
 * every side. Ratios are to tricolor: above 1 means the peer is slower.
 */
#include "harness.h"
#include "tricolor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum pattern { LIFO, BATCH, PERSISTENT };
enum column { COL_TC, COL_TC_NOZERO, COL_GLIBC, COL_MIMALLOC, COL_JEMALLOC, NCOLS };

static const char *const col_names[NCOLS] = {"tricolor", "tc zero=false", "glibc", "mimalloc",
                                             "jemalloc"};
static const bh_backend *const col_backend[NCOLS] = {NULL, NULL, &bh_glibc, &bh_mimalloc,
                                                     &bh_jemalloc};

typedef struct job {
    enum pattern pattern;
    enum column col;
    size_t size;
    long ops;
    int reps;
} job;

/* One allocator seen the same way by every loop. */
typedef struct side {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p);
    void *ctx;
} side;

static void *fix_alloc(void *ctx, size_t size)
{
    (void)size;
    return tc_fixalloc_alloc(ctx);
}
static void fix_free(void *ctx, void *p) { tc_fixalloc_free(ctx, p); }
static void *pers_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return tc_persistent_alloc(size, 0, NULL);
}
static void *peer_alloc(void *ctx, size_t size) { return ((const bh_backend *)ctx)->alloc(size); }
static void peer_free(void *ctx, void *p) { ((const bh_backend *)ctx)->free(p); }

#define BATCH_N 1000

static double measure(const job *j, side s)
{
    BH_OPAQUE(s.alloc);
    BH_OPAQUE(s.free);
    static void *batch[BATCH_N];
    uint64_t t0 = bh_wall_ns();
    switch (j->pattern) {
    case LIFO:
        for (long i = 0; i < j->ops; i++) {
            void **p = s.alloc(s.ctx, j->size);
            *p = p;
            BH_OPAQUE(p);
            s.free(s.ctx, p);
        }
        break;
    case BATCH:
        for (long i = 0; i < j->ops; i += BATCH_N) {
            for (int k = 0; k < BATCH_N; k++) {
                void **p = s.alloc(s.ctx, j->size);
                *p = p;
                batch[k] = p;
            }
            for (int k = 0; k < BATCH_N; k++) s.free(s.ctx, batch[k]);
        }
        break;
    case PERSISTENT:
        for (long i = 0; i < j->ops; i++) {
            void **p = s.alloc(s.ctx, j->size);
            *p = p;
            BH_OPAQUE(p);
        }
        break;
    }
    uint64_t t1 = bh_wall_ns();
    long ops = j->pattern == BATCH ? (j->ops / BATCH_N) * BATCH_N : j->ops;
    return (double)(t1 - t0) / (double)ops;
}

static int child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const job *j = arg;
    side s = {0};
    static tc_fixalloc pool;
    if (j->col == COL_TC || j->col == COL_TC_NOZERO) {
        if (j->pattern == PERSISTENT) {
            if (j->col == COL_TC_NOZERO) {
                snprintf(why, whylen, "-");
                return -1;
            }
            s.alloc = pers_alloc;
        } else {
            tc_fixalloc_init(&pool, j->size, NULL, NULL, NULL);
            pool.zero = j->col == COL_TC;
            s.alloc = fix_alloc, s.free = fix_free, s.ctx = &pool;
        }
    } else {
        const bh_backend *b = col_backend[j->col];
        if (!b->init(why, whylen)) return -1;
        s.alloc = peer_alloc, s.free = peer_free, s.ctx = (void *)b;
    }
    int n = j->reps < max ? j->reps : max;
    if (j->pattern != PERSISTENT) { /* warm: the pool or heap holds its objects */
        job warm = *j;
        warm.ops = BATCH_N * 4;
        measure(&warm, s);
    }
    for (int r = 0; r < n; r++) out[r] = measure(j, s);
    return n;
}

int main(int argc, char **argv)
{
    bh_prologue(argc, argv);
    bool quick = bh_arg(argc, argv, "quick") != NULL;
    const char *reps_s = bh_arg(argc, argv, "reps");
    int reps = reps_s ? atoi(reps_s) : quick ? 3 : 7;
    if (reps < 1 || reps > 64) reps = 5;
    long pair_ops = quick ? 200000 : 2000000;
    long pers_ops = quick ? 20000 : 100000;

    bh_table t;
    bh_table_init(&t, "unmanaged allocators: ns per operation", col_names, NCOLS, COL_TC);
    static char note[200];
    snprintf(note, sizeof note,
             "median of %d; persistent rows compare with malloc WITHOUT free (persistent never "
             "frees)",
             reps);
    t.note = note;
    static const size_t pair_sizes[] = {16, 64, 256, 1024};
    static const size_t pers_sizes[] = {16, 64, 256};
    static char labels[BH_MAX_ROWS][48];
    job jobs[BH_MAX_ROWS];
    int nj = 0;
    for (int pat = LIFO; pat <= PERSISTENT; pat++) {
        const size_t *sizes = pat == PERSISTENT ? pers_sizes : pair_sizes;
        int ns = pat == PERSISTENT ? 3 : 4;
        for (int k = 0; k < ns; k++) {
            const char *pname = pat == LIFO    ? "fixalloc LIFO pair"
                                : pat == BATCH ? "fixalloc batch 1000"
                                               : "persistent (no free)";
            snprintf(labels[nj], sizeof labels[nj], "%s %zuB", pname, sizes[k]);
            bh_table_row(&t, labels[nj], "ns");
            jobs[nj] = (job){.pattern = (enum pattern)pat,
                             .size = sizes[k],
                             .ops = pat == PERSISTENT ? pers_ops : pair_ops,
                             .reps = reps};
            nj++;
        }
    }
    char nas[512] = "";
    for (int r = 0; r < nj; r++)
        for (int c = 0; c < NCOLS; c++) {
            job j = jobs[r];
            j.col = (enum column)c;
            double v[64];
            char why[256] = "";
            int n = bh_in_child(child, &j, v, 64, why, sizeof why);
            if (n > 0)
                t.v[r][c] = bh_median(v, n);
            else if (strcmp(why, "-") != 0 && !strstr(nas, col_names[c])) {
                size_t l = strlen(nas);
                snprintf(nas + l, sizeof nas - l, "%s%s: %s", l ? "; " : "", col_names[c], why);
            }
        }
    bh_table_print(&t);
    if (nas[0]) printf("   n/a: %s\n", nas);
    return 0;
}
