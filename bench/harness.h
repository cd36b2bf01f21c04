/*
 * harness.h — what every tricolor benchmark shares: clocks, peak RSS,
 * median-of-N, running a measurement in a child process, loading the peer
 * allocators side by side, and printing a table of ratios.
 *
 * Peers (glibc malloc, mimalloc, jemalloc, Boehm GC) are reached through a
 * table of function pointers, one bh_backend per peer. mimalloc, jemalloc and
 * libgc are loaded with dlopen(RTLD_LOCAL|RTLD_NOW) inside the child that
 * measures them, so that one binary compares them without one peer's malloc
 * interposing another's. A peer that cannot be loaded is "n/a", never a
 * failure. Adding a backend (tricolor's, when its heap lands) is one more
 * bh_backend and one more entry in a benchmark's table.
 *
 * Timing is reported, never asserted: nothing here goes into a test.
 */
#ifndef TRICOLOR_BENCH_HARNESS_H
#define TRICOLOR_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keep the compiler from seeing through a value (a function pointer, an
 * allocation), so malloc/free pairs are not folded away. */
#define BH_OPAQUE(x) __asm__ volatile("" : "+r"(x))

/* ---- clocks and memory ------------------------------------------------ */

uint64_t bh_wall_ns(void);  /* CLOCK_MONOTONIC */
uint64_t bh_cpu_ns(void);   /* CLOCK_PROCESS_CPUTIME_ID: all threads */
long bh_peak_rss_kib(void); /* getrusage(RUSAGE_SELF).ru_maxrss */

/* Median of n values (n >= 1); sorts v in place. */
double bh_median(double *v, int n);

/* ---- start-up --------------------------------------------------------- */

/* Call first in main. jemalloc and mimalloc use initial-exec TLS, which
 * glibc's default static-TLS surplus cannot hold for a dlopen'ed library;
 * this re-executes the program once with GLIBC_TUNABLES raising
 * glibc.rtld.optional_static_tls. Returns normally in the re-executed copy. */
void bh_prologue(int argc, char **argv);

/* The value of "--name=value" in argv, or NULL; "--name" alone gives "". */
const char *bh_arg(int argc, char **argv, const char *name);
/* A size such as "512M", "1G", "64k" or "1000" in bytes; 0 if not positive. */
uint64_t bh_parse_size(const char *s);

/* ---- backends ---------------------------------------------------------- */

typedef struct bh_backend {
    const char *name;
    /* Load and start the allocator in this process. false: not available,
     * with the reason in why. */
    bool (*init)(char *why, size_t whylen);
    void *(*alloc)(size_t size);        /* may hold pointers (GC: scanned) */
    void *(*alloc_atomic)(size_t size); /* holds no pointers */
    void (*free)(void *p);              /* NULL: collected, never freed */
    void (*gc_disable)(void);           /* NULL: nothing to disable */
    long (*gc_count)(void);             /* NULL: no collector (0) */
    void (*thread_init)(void);          /* run first in each extra thread, or NULL */
    void (*thread_fini)(void);          /* run last in each extra thread, or NULL */
} bh_backend;

extern const bh_backend bh_glibc;      /* malloc/free of the C library */
extern const bh_backend bh_mimalloc;   /* libmimalloc.so.2: mi_malloc/mi_free */
extern const bh_backend bh_jemalloc;   /* libjemalloc.so.2: its own malloc/free */
extern const bh_backend bh_boehm;      /* libgc.so.1: GC_malloc, default settings */
extern const bh_backend bh_boehm_incr; /* libgc.so.1 after GC_enable_incremental */

/* The backend called name in list[0..n), or NULL. */
const bh_backend *bh_find(const bh_backend *const *list, int n, const char *name);

/* ---- child processes ---------------------------------------------------- */

/* Run fn(arg, out, max) in a forked child; the child writes up to max
 * doubles into out and returns how many (negative: n/a, with a reason in
 * why). Returns the count the child reported, or -1 with why filled. */
typedef int (*bh_child_fn)(void *arg, double *out, int max, char *why, size_t whylen);
int bh_in_child(bh_child_fn fn, void *arg, double *out, int max, char *why, size_t whylen);

/* ---- tables --------------------------------------------------------------- */

/* A table: rows by columns of values (NaN: n/a). Printed with the reference
 * column's value in its unit, and every other cell as value and ratio
 * value/reference (lower is better for times and memory). */
#define BH_MAX_ROWS 64
#define BH_MAX_COLS 12
typedef struct bh_table {
    const char *title;
    const char *note; /* one more line under the title, or NULL */
    int nrows, ncols, ref;
    const char *row[BH_MAX_ROWS];
    const char *unit[BH_MAX_ROWS]; /* per row: "ns", "ms", "KiB", "" */
    const char *col[BH_MAX_COLS];
    double v[BH_MAX_ROWS][BH_MAX_COLS];
} bh_table;

void bh_table_init(bh_table *t, const char *title, const char *const *cols, int ncols, int ref);
int bh_table_row(bh_table *t, const char *label, const char *unit); /* index; cells n/a */
void bh_table_print(const bh_table *t);

/* ---- GC benchmarks: one process per backend ----------------------------- */

/* The program of one GC benchmark. run() does the work with backend b and
 * params (from --param=), and returns a check value; the driver runs it in a
 * separate process per backend (exec of /proc/self/exe) so peak RSS is per
 * backend, and reads wall time, CPU time and peak RSS from wait4. */
typedef struct bh_gcbench {
    const char *name;        /* "binarytrees" */
    const char *param_full;  /* the parameter of a full run ("21") */
    const char *param_quick; /* of --quick ("16") */
    long (*run)(const bh_backend *b, const char *param);
    const bh_backend *const *backends;
    int nbackends;
} bh_gcbench;

/* main() of a GC benchmark. Child mode: --backend=NAME --param=P. Driver
 * mode (default): --quick, --reps=N, --ref=NAME (default glibc),
 * --go=PATH (the Go version, run as "PATH P"), --backends=a,b,... */
int bh_gcbench_main(const bh_gcbench *g, int argc, char **argv);

#endif
