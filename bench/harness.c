/*
 * harness.c — the shared half of tricolor's benchmarks (see harness.h).
 *
 * Isolation. Every measurement runs in a process of its own: the small
 * benchmarks fork a child per measurement (bh_in_child), the GC benchmarks
 * exec a fresh copy of the program per backend (bh_gcbench_main). A peer
 * library is dlopen'ed only inside that process, so peers never share an
 * address space, their heaps start fresh, and peak RSS (ru_maxrss from wait4)
 * belongs to one backend.
 *
 * Peers. glibc is called directly (through a pointer hidden from the
 * optimiser). mimalloc and jemalloc are dlopen'ed RTLD_LOCAL and their
 * entry points taken with dlsym on their own handle; for jemalloc, whose
 * Debian build exports unprefixed malloc/free, we check with dladdr that the
 * symbol lives in libjemalloc and that mallctl exists, so we never time
 * libc's malloc by mistake. Boehm GC (libgc.so.1) is started with GC_init in
 * the measuring process; extra threads register with GC_register_my_thread.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ==== clocks and memory ================================================= */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bh_wall_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t bh_cpu_ns(void) { return clock_ns(CLOCK_PROCESS_CPUTIME_ID); }

long bh_peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bh_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ==== start-up ============================================================ */

#define BH_TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

void bh_prologue(int argc, char **argv)
{
    (void)argc;
    if (getenv("BH_REEXECED")) return;
    char buf[1024];
    const char *old = getenv("GLIBC_TUNABLES");
    if (old && *old)
        snprintf(buf, sizeof buf, "%s:%s", old, BH_TLS_TUNABLE);
    else
        snprintf(buf, sizeof buf, "%s", BH_TLS_TUNABLE);
    setenv("GLIBC_TUNABLES", buf, 1);
    setenv("BH_REEXECED", "1", 1);
    execv("/proc/self/exe", argv);
    /* Could not re-execute: go on; jemalloc may then be n/a. */
}

uint64_t bh_parse_size(const char *s)
{
    char *e;
    double v = strtod(s, &e);
    if (strncasecmp(e, "g", 1) == 0)
        v *= 1 << 30;
    else if (strncasecmp(e, "m", 1) == 0)
        v *= 1 << 20;
    else if (strncasecmp(e, "k", 1) == 0)
        v *= 1 << 10;
    return v > 0 ? (uint64_t)v : 0;
}

const char *bh_arg(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] != '-' || strncmp(a + 2, name, n) != 0) continue;
        if (a[2 + n] == '=') return a + 3 + n;
        if (a[2 + n] == '\0') return "";
    }
    return NULL;
}

/* ==== backends ============================================================= */

static void why_set(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* ---- glibc ---- */

static void *(*volatile glibc_malloc_fn)(size_t) = malloc;
static void (*volatile glibc_free_fn)(void *) = free;

static bool glibc_init(char *why, size_t len)
{
    (void)why, (void)len;
    return true;
}
static void *glibc_alloc(size_t n) { return glibc_malloc_fn(n); }
static void glibc_free(void *p) { glibc_free_fn(p); }

const bh_backend bh_glibc = {.name = "glibc",
                             .init = glibc_init,
                             .alloc = glibc_alloc,
                             .alloc_atomic = glibc_alloc,
                             .free = glibc_free};

/* ---- mimalloc ---- */

static void *(*mi_malloc_fn)(size_t);
static void (*mi_free_fn)(void *);

static bool mimalloc_init(char *why, size_t len)
{
    void *h = dlopen("libmimalloc.so.2", RTLD_LOCAL | RTLD_NOW);
    if (!h) {
        why_set(why, len, "dlopen: %s", dlerror());
        return false;
    }
    mi_malloc_fn = (void *(*)(size_t))dlsym(h, "mi_malloc");
    mi_free_fn = (void (*)(void *))dlsym(h, "mi_free");
    if (!mi_malloc_fn || !mi_free_fn) {
        why_set(why, len, "libmimalloc.so.2 lacks mi_malloc/mi_free");
        return false;
    }
    return true;
}
static void *mimalloc_alloc(size_t n) { return mi_malloc_fn(n); }
static void mimalloc_free(void *p) { mi_free_fn(p); }

const bh_backend bh_mimalloc = {.name = "mimalloc",
                                .init = mimalloc_init,
                                .alloc = mimalloc_alloc,
                                .alloc_atomic = mimalloc_alloc,
                                .free = mimalloc_free};

/* ---- jemalloc ---- */

static void *(*je_malloc_fn)(size_t);
static void (*je_free_fn)(void *);

static bool from_library(void *sym, const char *libpart)
{
    Dl_info info;
    return sym && dladdr(sym, &info) && info.dli_fname && strstr(info.dli_fname, libpart);
}

static bool jemalloc_init(char *why, size_t len)
{
    void *h = dlopen("libjemalloc.so.2", RTLD_LOCAL | RTLD_NOW);
    if (!h) {
        why_set(why, len, "dlopen: %s", dlerror());
        return false;
    }
    /* Debian exports jemalloc unprefixed; some builds use je_. Take whichever
     * really lives in libjemalloc, never libc's. */
    static const char *const names[][2] = {{"malloc", "free"}, {"je_malloc", "je_free"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *m = dlsym(h, names[i][0]), *f = dlsym(h, names[i][1]);
        if (from_library(m, "jemalloc") && from_library(f, "jemalloc") &&
            (dlsym(h, "mallctl") || dlsym(h, "je_mallctl"))) {
            je_malloc_fn = (void *(*)(size_t))m;
            je_free_fn = (void (*)(void *))f;
            return true;
        }
    }
    why_set(why, len, "no malloc/free of jemalloc's own in libjemalloc.so.2");
    return false;
}
static void *jemalloc_alloc(size_t n) { return je_malloc_fn(n); }
static void jemalloc_free(void *p) { je_free_fn(p); }

const bh_backend bh_jemalloc = {.name = "jemalloc",
                                .init = jemalloc_init,
                                .alloc = jemalloc_alloc,
                                .alloc_atomic = jemalloc_alloc,
                                .free = jemalloc_free};

/* ---- Boehm GC ---- */

struct gc_stack_base_ {
    void *mem_base;
    void *reg_base;
};

static struct {
    void (*init)(void);
    void *(*malloc)(size_t);
    void *(*malloc_atomic)(size_t);
    void (*disable)(void);
    void (*gcollect)(void);
    uintptr_t (*get_gc_no)(void);
    void (*enable_incremental)(void);
    void (*allow_register_threads)(void);
    int (*get_stack_base)(struct gc_stack_base_ *);
    int (*register_my_thread)(const struct gc_stack_base_ *);
    int (*unregister_my_thread)(void);
} gc;

static bool boehm_load(char *why, size_t len)
{
    void *h = dlopen("libgc.so.1", RTLD_LOCAL | RTLD_NOW);
    if (!h) {
        why_set(why, len, "dlopen: %s", dlerror());
        return false;
    }
#define GC_SYM(field, sym)                                                                         \
    do {                                                                                           \
        *(void **)&gc.field = dlsym(h, sym);                                                       \
        if (!gc.field) {                                                                           \
            why_set(why, len, "libgc.so.1 lacks %s", sym);                                         \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
    GC_SYM(init, "GC_init");
    GC_SYM(malloc, "GC_malloc");
    GC_SYM(malloc_atomic, "GC_malloc_atomic");
    GC_SYM(disable, "GC_disable");
    GC_SYM(gcollect, "GC_gcollect");
    GC_SYM(get_gc_no, "GC_get_gc_no");
    GC_SYM(enable_incremental, "GC_enable_incremental");
    GC_SYM(allow_register_threads, "GC_allow_register_threads");
    GC_SYM(get_stack_base, "GC_get_stack_base");
    GC_SYM(register_my_thread, "GC_register_my_thread");
    GC_SYM(unregister_my_thread, "GC_unregister_my_thread");
#undef GC_SYM
    gc.init();
    gc.allow_register_threads();
    return true;
}

static bool boehm_init(char *why, size_t len) { return boehm_load(why, len); }
static bool boehm_incr_init(char *why, size_t len)
{
    if (!boehm_load(why, len)) return false;
    gc.enable_incremental();
    return true;
}
static void *boehm_alloc(size_t n) { return gc.malloc(n); }
static void *boehm_alloc_atomic(size_t n) { return gc.malloc_atomic(n); }
static void boehm_disable(void) { gc.disable(); }
static long boehm_count(void) { return (long)gc.get_gc_no(); }
static void boehm_thread_init(void)
{
    struct gc_stack_base_ sb;
    if (gc.get_stack_base(&sb) == 0) gc.register_my_thread(&sb);
}
static void boehm_thread_fini(void) { gc.unregister_my_thread(); }

const bh_backend bh_boehm = {.name = "boehm",
                             .init = boehm_init,
                             .alloc = boehm_alloc,
                             .alloc_atomic = boehm_alloc_atomic,
                             .gc_disable = boehm_disable,
                             .gc_count = boehm_count,
                             .thread_init = boehm_thread_init,
                             .thread_fini = boehm_thread_fini};

const bh_backend bh_boehm_incr = {.name = "boehm-incr",
                                  .init = boehm_incr_init,
                                  .alloc = boehm_alloc,
                                  .alloc_atomic = boehm_alloc_atomic,
                                  .gc_disable = boehm_disable,
                                  .gc_count = boehm_count,
                                  .thread_init = boehm_thread_init,
                                  .thread_fini = boehm_thread_fini};

const bh_backend *bh_find(const bh_backend *const *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i]->name, name) == 0) return list[i];
    return NULL;
}

/* ==== child processes =====================================================
 * The child writes: int count, then count doubles, or count < 0 and a
 * reason string. */

static bool read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        p += r, n -= (size_t)r;
    }
    return true;
}

static void write_full(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3);
        p += w, n -= (size_t)w;
    }
}

int bh_in_child(bh_child_fn fn, void *arg, double *out, int max, char *why, size_t whylen)
{
    int fds[2];
    if (pipe(fds) != 0) {
        why_set(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        why_set(why, whylen, "fork: %s", strerror(errno));
        close(fds[0]), close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        char reason[256] = "";
        int n = fn(arg, out, max, reason, sizeof reason);
        write_full(fds[1], &n, sizeof n);
        if (n > 0)
            write_full(fds[1], out, sizeof(double) * (size_t)n);
        else
            write_full(fds[1], reason, sizeof reason);
        _exit(0);
    }
    close(fds[1]);
    int n = -1, status = 0;
    if (!read_full(fds[0], &n, sizeof n)) {
        why_set(why, whylen, "child died");
        n = -1;
    } else if (n > 0) {
        if (n > max || !read_full(fds[0], out, sizeof(double) * (size_t)n)) {
            why_set(why, whylen, "short result from child");
            n = -1;
        }
    } else {
        char reason[256];
        if (read_full(fds[0], reason, sizeof reason))
            why_set(why, whylen, "%.*s", (int)sizeof reason, reason);
        n = -1;
    }
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (n > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        why_set(why, whylen, "child exited badly (status %d)", status);
        n = -1;
    }
    return n;
}

/* ==== tables =============================================================== */

void bh_table_init(bh_table *t, const char *title, const char *const *cols, int ncols, int ref)
{
    memset(t, 0, sizeof *t);
    t->title = title;
    t->ncols = ncols < BH_MAX_COLS ? ncols : BH_MAX_COLS;
    t->ref = ref;
    for (int c = 0; c < t->ncols; c++) t->col[c] = cols[c];
}

int bh_table_row(bh_table *t, const char *label, const char *unit)
{
    if (t->nrows == BH_MAX_ROWS) {
        fprintf(stderr, "bench: table %s is full\n", t->title);
        exit(2);
    }
    int r = t->nrows++;
    t->row[r] = label;
    t->unit[r] = unit;
    for (int c = 0; c < BH_MAX_COLS; c++) t->v[r][c] = NAN;
    return r;
}

#define BH_LABEL_W 26
#define BH_CELL_W  18

static void fmt_value(char *buf, size_t n, double v, const char *unit)
{
    if (isnan(v))
        snprintf(buf, n, "n/a");
    else if (v != 0 && fabs(v) < 10 && v != floor(v))
        snprintf(buf, n, "%.2f%s", v, unit);
    else
        snprintf(buf, n, "%.0f%s", v, unit);
}

void bh_table_print(const bh_table *t)
{
    printf("\n== %s\n", t->title);
    if (t->note) printf("   %s\n", t->note);
    printf("   cells: value and ratio to %s (value / %s's; >1 means more than %s)\n",
           t->col[t->ref], t->col[t->ref], t->col[t->ref]);
    printf("%-*s", BH_LABEL_W, "");
    for (int c = 0; c < t->ncols; c++)
        printf("%*s%s", BH_CELL_W - (c == t->ref ? 1 : 0), t->col[c], c == t->ref ? "*" : "");
    printf("\n");
    for (int r = 0; r < t->nrows; r++) {
        printf("%-*s", BH_LABEL_W, t->row[r]);
        double ref = t->v[r][t->ref];
        for (int c = 0; c < t->ncols; c++) {
            char val[32], cell[64];
            double v = t->v[r][c];
            fmt_value(val, sizeof val, v, t->unit[r]);
            if (c == t->ref || isnan(v))
                snprintf(cell, sizeof cell, "%s", val);
            else if (isnan(ref) || ref == 0)
                snprintf(cell, sizeof cell, "%s   -  ", val);
            else
                snprintf(cell, sizeof cell, "%s %5.2fx", val, v / ref);
            printf("%*s", BH_CELL_W, cell);
        }
        printf("\n");
    }
    fflush(stdout);
}

/* ==== GC benchmarks ==========================================================
 * Child mode prints one line "BH_RESULT check=C gcs=G main_cpu_ms=M" on
 * stdout (or "BH_NA reason"); the Go programs print the same line without
 * main_cpu_ms. The driver times each process from fork to wait4 and takes
 * CPU time and peak RSS from the rusage wait4 returns. main_cpu_ms is the
 * CPU time of the thread that ran the benchmark: with a single-threaded
 * program on two CPUs, whatever a collector does on that thread (assists,
 * sweeping by allocation) is on the critical path, what it does on its own
 * threads is not. */

typedef struct gc_sample {
    bool ok;
    double wall_ms, cpu_ms, rss_mib, gcs, main_cpu_ms; /* main_cpu_ms: NAN if not reported */
    long check;
    char why[200];
} gc_sample;

static gc_sample run_process(char *const argv[])
{
    gc_sample s = {0};
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(s.why, sizeof s.why, "pipe failed");
        return s;
    }
    fflush(NULL);
    uint64_t t0 = bh_wall_ns();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]), close(fds[1]);
        execv(argv[0], argv);
        dprintf(1, "BH_NA cannot exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], out + len, sizeof out - 1 - len)) > 0 || (r < 0 && errno == EINTR))
        if (r > 0) len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
        snprintf(s.why, sizeof s.why, "fork/wait failed");
        return s;
    }
    uint64_t t1 = bh_wall_ns();
    const char *res = strstr(out, "BH_RESULT");
    const char *na = strstr(out, "BH_NA");
    long check = 0, gcs = 0;
    if (res && sscanf(res, "BH_RESULT check=%ld gcs=%ld", &check, &gcs) == 2 && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0) {
        s.ok = true;
        s.wall_ms = (double)(t1 - t0) / 1e6;
        s.cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
        s.rss_mib = (double)ru.ru_maxrss / 1024;
        s.gcs = (double)gcs;
        const char *m = strstr(res, "main_cpu_ms=");
        s.main_cpu_ms = m ? strtod(m + strlen("main_cpu_ms="), NULL) : NAN;
        s.check = check;
    } else if (na) {
        snprintf(s.why, sizeof s.why, "%.*s", (int)strcspn(na + 6, "\n"), na + 6);
    } else {
        snprintf(s.why, sizeof s.why, "failed (status %d)", status);
    }
    return s;
}

static int gc_child(const bh_gcbench *g, const char *name, const char *param)
{
    const bh_backend *b = bh_find(g->backends, g->nbackends, name);
    if (!b) {
        printf("BH_NA no backend %s\n", name);
        return 0;
    }
    char why[256] = "";
    if (!b->init(why, sizeof why)) {
        printf("BH_NA %s\n", why);
        return 0;
    }
    long check = g->run(b, param);
    struct rusage ru;
    double main_cpu = getrusage(RUSAGE_THREAD, &ru) == 0
                          ? (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3
                          : NAN;
    printf("BH_RESULT check=%ld gcs=%ld main_cpu_ms=%.1f\n", check, b->gc_count ? b->gc_count() : 0,
           main_cpu);
    return 0;
}

int bh_gcbench_main(const bh_gcbench *g, int argc, char **argv)
{
    bh_prologue(argc, argv);
    const char *backend = bh_arg(argc, argv, "backend");
    const char *param = bh_arg(argc, argv, "param");
    bool quick = bh_arg(argc, argv, "quick") != NULL;
    if (!param) param = quick ? g->param_quick : g->param_full;
    if (backend) return gc_child(g, backend, param);

    const char *reps_s = bh_arg(argc, argv, "reps");
    int reps = reps_s ? atoi(reps_s) : 1;
    if (reps < 1) reps = 1;
    const char *ref_name = bh_arg(argc, argv, "ref");
    const char *go = bh_arg(argc, argv, "go");
    const char *only = bh_arg(argc, argv, "backends");

    const char *cols[BH_MAX_COLS];
    int ncols = 0, ref = 0;
    for (int i = 0; i < g->nbackends && ncols < BH_MAX_COLS - 1; i++) {
        const char *n = g->backends[i]->name;
        if (only) { /* --backends=a,b: keep listed ones */
            size_t l = strlen(n);
            const char *p = strstr(only, n);
            while (p && !((p == only || p[-1] == ',') && (p[l] == ',' || p[l] == '\0')))
                p = strstr(p + 1, n);
            if (!p) continue;
        }
        cols[ncols++] = n;
    }
    if (go && *go) cols[ncols++] = "go";
    bool ref_found = false;
    for (int c = 0; c < ncols; c++)
        if (ref_name && strcmp(cols[c], ref_name) == 0) ref = c, ref_found = true;
    if (ref_name && !ref_found)
        fprintf(stderr, "%s: --ref=%s is no column here; the reference is %s\n", g->name, ref_name,
                cols[0]);

    static char title[160], note[200];
    snprintf(title, sizeof title, "%s (%s), median of %d process%s per backend", g->name, param,
             reps, reps > 1 ? "es" : "");
    bh_table t;
    bh_table_init(&t, title, cols, ncols, ref);
    int r_wall = bh_table_row(&t, "wall time", "ms");
    int r_cpu = bh_table_row(&t, "CPU time (all threads)", "ms");
    int r_main = bh_table_row(&t, "CPU time (program's thread)", "ms");
    int r_rss = bh_table_row(&t, "peak RSS", "MiB");
    int r_gcs = bh_table_row(&t, "GC count", "");

    long ref_check = 0;
    bool have_check = false, mismatch = false;
    char nas[1024] = "";
    for (int c = 0; c < ncols; c++) {
        double wall[64], cpu[64], rss[64], gcs[64], mcpu[64];
        int n = 0, nm = 0;
        gc_sample s = {0};
        for (int rep = 0; rep < reps && rep < 64; rep++) {
            char barg[128], parg[128];
            snprintf(barg, sizeof barg, "--backend=%s", cols[c]);
            snprintf(parg, sizeof parg, "--param=%s", param);
            char *self[] = {"/proc/self/exe", barg, parg, NULL};
            char *goargv[] = {(char *)go, (char *)param, NULL};
            s = run_process(strcmp(cols[c], "go") == 0 && go ? goargv : self);
            if (!s.ok) break;
            wall[n] = s.wall_ms, cpu[n] = s.cpu_ms, rss[n] = s.rss_mib, gcs[n] = s.gcs;
            if (!isnan(s.main_cpu_ms)) mcpu[nm++] = s.main_cpu_ms;
            n++;
            if (!have_check)
                ref_check = s.check, have_check = true;
            else if (s.check != ref_check)
                mismatch = true;
        }
        if (n == 0) {
            size_t l = strlen(nas);
            snprintf(nas + l, sizeof nas - l, "%s%s: %s", l ? "; " : "", cols[c], s.why);
            continue;
        }
        t.v[r_wall][c] = bh_median(wall, n);
        t.v[r_cpu][c] = bh_median(cpu, n);
        if (nm > 0) t.v[r_main][c] = bh_median(mcpu, nm);
        t.v[r_rss][c] = bh_median(rss, n);
        t.v[r_gcs][c] = bh_median(gcs, n);
    }
    if (mismatch)
        snprintf(note, sizeof note, "WARNING: check values differ between backends");
    else
        snprintf(note, sizeof note, "check value %ld, the same for every backend", ref_check);
    t.note = note;
    bh_table_print(&t);
    if (nas[0]) printf("   n/a: %s\n", nas);
    return mismatch ? 1 : 0;
}
