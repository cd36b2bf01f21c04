/*
 * pause.c — stop lengths, mutator latency and mutator utilisation under a
 * large live heap with steady churn (issue 5), for tricolor, Boehm GC (default
 * and incremental) and Go (bench/go/pause.go).
 *
 * Workload. LIVE bytes (default 1 GiB) of 32-byte nodes (one pointer, three
 * data words) in lists of LIST_LEN nodes, whose heads sit in one heap array
 * (the table) held by a global that is a root. T mutator threads (default 2)
 * each own the lists i with i % T == t, so no list is shared. One operation
 * picks a random list and position and replaces a segment of SEG nodes with
 * SEG new ones: the live size stays constant and every operation makes SEG
 * nodes of garbage. Pointer stores into the heap go through TC_STORE on
 * tricolor (plain stores on Boehm; Go has its own barrier). The churn runs for
 * a fixed time (default 10 s) after the heap is built and one full
 * collection has marked it.
 *
 * Measured, per side, during the churn only:
 *   stops     tricolor: every single stop from tc_read_stats' stop_ns ring,
 *             read every 20 ms so the 256-entry ring does not wrap (a wrap is
 *             counted and reported); Boehm: PRE_STOP_WORLD to
 *             POST_START_WORLD through GC_set_on_collection_event; Go: the
 *             first and third fields of "a+b+c ms clock" of each gctrace
 *             line (GODEBUG=gctrace=1). Count, max, p99, total.
 *   op latency  each operation timed with CLOCK_MONOTONIC (one clock read per
 *             operation: the end of one is the start of the next), recorded in
 *             a per-thread log-linear histogram (64 sub-buckets per power of
 *             two, 1.6% resolution; exact max) in malloc'd memory. max,
 *             p99.9, p99.
 *   utilisation  ops/s during the churn against ops/s of the same workload in
 *             a second process with collection off (tricolor
 *             tc_set_gc_percent(-1), GC_disable, GOGC=off), whose churn is
 *             shorter (at most 2 s, and at most max(LIVE, 512 MiB) of garbage); MMU
 *             over 10 ms windows = the fewest operations any 10 ms window
 *             completed, over the collection-off rate. Also operations per
 *             CPU-second of the whole process (collector threads included),
 *             which shared, loaded machines disturb much less than wall-clock
 *             rates.
 *
 * Each C side runs in a forked child (bh_in_child); Go runs as its own
 * process. Options: --live=SIZE (256MiB, 1GiB, bytes), --threads=T,
 * --duration=SECONDS, --quick (64 MiB, 2 s), --go=PATH, --backends=a,b.
 */
#define _GNU_SOURCE
#include "harness.h"
#include "tc_backend.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#define LIST_LEN   16
#define SEG        4
#define WIN_NS     10000000ull /* MMU window: 10 ms */
#define SLOW_OP_NS 50000ull    /* "slow operations": as gctrace=2's slow-path line */

typedef struct node {
    struct node *next;
    uint64_t k[3];
} node;

/* ---- latency histogram: log-linear, 64 sub-buckets per power of two ---- */

#define HIST_N 4096

static int hist_index(uint64_t v)
{
    if (v < 128) return (int)v;
    int shift = 63 - __builtin_clzll(v) - 6;
    int i = shift * 64 + (int)(v >> shift);
    return i < HIST_N ? i : HIST_N - 1;
}

/* The middle of bucket i's range. */
static double hist_value(int i)
{
    if (i < 128) return i;
    int shift = i / 64 - 1;
    uint64_t m = (uint64_t)(i - shift * 64);
    return (double)(m << shift) + (double)((1ull << shift) - 1) / 2;
}

static double hist_pct(const uint64_t *h, uint64_t total, double p)
{
    uint64_t want = (uint64_t)ceil(p * (double)total), c = 0;
    if (want == 0) want = 1;
    for (int i = 0; i < HIST_N; i++) {
        c += h[i];
        if (c >= want) return hist_value(i);
    }
    return NAN;
}

/* ---- configuration and sides ---- */

typedef struct cfg {
    uint64_t live;
    int threads;
    double duration_s;
    bool baseline;  /* collection off, short churn */
    double force_s; /* the monitor requests a cycle this often; 0: pacer only */
} cfg;

enum { SIDE_TC, SIDE_BOEHM };

static int side;
static const bh_backend *B;
static tc_type *node_type, *slot_type;
static node **table; /* the root: a global (Boehm scans data; tricolor: registered) */
static size_t nlists;
static cfg C;
static _Atomic uint64_t end_ns;
static _Atomic int started;

static inline node *new_node(void)
{
    return side == SIDE_TC ? tc_new(node_type) : B->alloc(sizeof(node));
}

#define STORE(lv, p)                                                                               \
    do {                                                                                           \
        if (side == SIDE_TC)                                                                       \
            TC_STORE(lv, p);                                                                       \
        else                                                                                       \
            (lv) = (p);                                                                            \
    } while (0)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void build(void)
{
    nlists = C.live / (sizeof(node) * LIST_LEN);
    if (nlists < 16) nlists = 16;
    node **t = side == SIDE_TC ? tc_new_array(slot_type, nlists) : B->alloc(nlists * sizeof *t);
    STORE(table, t);
    for (size_t i = 0; i < nlists; i++) {
        node *head = NULL;
        for (int j = 0; j < LIST_LEN; j++) {
            node *n = new_node();
            n->k[0] = i, n->k[1] = (uint64_t)j;
            STORE(n->next, head);
            head = n;
        }
        STORE(t[i], head);
    }
}

/* Replace SEG nodes of list i from position pos with new ones. */
static void op(node **t, size_t i, int pos, uint64_t tag)
{
    node **slot = &t[i];
    for (int j = 0; j < pos; j++) slot = &(*slot)->next;
    node *after = *slot;
    for (int j = 0; j < SEG; j++) after = after->next;
    node *chain = after;
    for (int j = 0; j < SEG; j++) {
        node *n = new_node();
        n->k[0] = i, n->k[1] = tag;
        STORE(n->next, chain);
        chain = n;
    }
    STORE(*slot, chain);
}

typedef struct mut {
    pthread_t th;
    int id;
    uint64_t ops;
    uint64_t *hist; /* HIST_N */
    uint32_t *win;  /* ops per 10 ms window */
    size_t nwin;
    uint64_t max_ns;
    uint64_t t_start;
    long nivcsw; /* times the kernel preempted this thread during the churn */
} mut;

/* The calling thread's involuntary context switches so far. */
static long thread_preemptions(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

static void *mutator(void *arg)
{
    mut *m = arg;
    if (B && B->thread_init) B->thread_init();
    if (side == SIDE_TC) tc_thread_attach();
    node **t = table;
    uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(m->id + 1);
    size_t mine = (nlists - (size_t)m->id + (size_t)C.threads - 1) / (size_t)C.threads;
    uint64_t garbage = C.live > (512ull << 20) ? C.live : 512ull << 20;
    uint64_t cap = C.baseline ? garbage / (SEG * sizeof(node)) / (uint64_t)C.threads : UINT64_MAX;
    atomic_fetch_add(&started, 1);
    while (atomic_load(&started) < C.threads) sched_yield();
    uint64_t t0 = bh_wall_ns(), end = atomic_load(&end_ns);
    m->t_start = t0;
    long cs0 = thread_preemptions();
    while (t0 < end && m->ops < cap) {
        uint64_t r = rng_next(&s);
        size_t i = (size_t)m->id + (size_t)(r % mine) * (size_t)C.threads;
        op(t, i, (int)((r >> 40) % (LIST_LEN - SEG + 1)), m->ops);
        uint64_t t1 = bh_wall_ns(), d = t1 - t0;
        m->hist[hist_index(d)]++;
        if (d > m->max_ns) m->max_ns = d;
        size_t w = (size_t)((t1 - m->t_start) / WIN_NS);
        if (w < m->nwin) m->win[w]++;
        m->ops++;
        t0 = t1;
    }
    m->nivcsw = thread_preemptions() - cs0;
    if (side == SIDE_TC) tc_thread_detach();
    if (B && B->thread_fini) B->thread_fini();
    return NULL;
}

/* ---- stops ---- */

#define MAX_STOPS (1 << 20)
static double *stops_ms; /* malloc'd */
static size_t nstops;
static uint64_t stops_lost;
static volatile bool boehm_recording;
static uint64_t boehm_stop_t0;

static void boehm_event(int ev)
{
    enum { PRE_STOP_WORLD = 6, POST_START_WORLD = 9 };
    if (ev == PRE_STOP_WORLD)
        boehm_stop_t0 = bh_wall_ns();
    else if (ev == POST_START_WORLD && boehm_recording && boehm_stop_t0 && nstops < MAX_STOPS)
        stops_ms[nstops++] = (double)(bh_wall_ns() - boehm_stop_t0) / 1e6;
}

static tc_stats st; /* large: static */
static uint64_t tc_seen;

static void tc_collect_stops(void)
{
    tc_read_stats(&st);
    if (st.num_stops - tc_seen > 256) {
        stops_lost += st.num_stops - tc_seen - 256;
        tc_seen = st.num_stops - 256;
    }
    for (; tc_seen < st.num_stops; tc_seen++)
        if (nstops < MAX_STOPS) stops_ms[nstops++] = (double)st.stop_ns[tc_seen % 256] / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Result slots, shared with the Go parser. */
enum {
    R_NSTOPS,
    R_STOP_MAX,
    R_STOP_P99,
    R_STOP_TOTAL,
    R_OP_MAX,
    R_OP_P999,
    R_OP_P99,
    R_OPS_S,
    R_OPS_CPU_S,
    R_MINWIN,
    R_GCS,
    R_LOST,
    R_RSS,
    R_PREEMPT,
    R_SLOW,
    R_N
};

/* The stop rows of a column from its stops' lengths (ms; sorted here). */
static void stop_summary(double *stops_ms, size_t nstops, double *out)
{
    qsort(stops_ms, nstops, sizeof *stops_ms, cmp_d);
    double total = 0;
    for (size_t i = 0; i < nstops; i++) total += stops_ms[i];
    out[R_NSTOPS] = (double)nstops;
    out[R_STOP_MAX] = nstops ? stops_ms[nstops - 1] : 0;
    out[R_STOP_P99] = nstops ? stops_ms[(size_t)ceil(0.99 * (double)nstops) - 1] : 0;
    out[R_STOP_TOTAL] = total;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One full collection after the build, outside the measurement: the churn
 * then starts from a marked heap, not inside a cycle the build started
 * (whether such a cycle spilled into the churn used to decide a run's
 * p99.9). Not in the GC-off baseline. */
static void settle(void)
{
    if (C.baseline) return;
    if (side == SIDE_TC) {
        tc_gc();
        return;
    }
    void *h = dlopen("libgc.so.1", RTLD_NOLOAD | RTLD_NOW);
    void (*gcollect)(void) = h ? (void (*)(void))dlsym(h, "GC_gcollect") : NULL;
    if (gcollect) gcollect();
}

static int child(void *arg, double *out, int max, char *why, size_t whylen)
{
    const char *name = arg;
    if (max < R_N) return -1;
    if (strcmp(name, "tricolor") == 0) {
        side = SIDE_TC;
        B = NULL;
        tc_init(NULL);
        node_type = TC_TYPE(node, next);
        slot_type = tc_type_new("slot", sizeof(void *), (const size_t[]){0}, 1, 0);
        tc_root_register(&table, sizeof table, slot_type, 0);
        if (C.baseline) tc_set_gc_percent(-1);
    } else {
        side = SIDE_BOEHM;
        B = strcmp(name, "boehm") == 0 ? &bh_boehm : &bh_boehm_incr;
        if (!B->init(why, whylen)) return -1;
        if (C.baseline) B->gc_disable();
        void *h = dlopen("libgc.so.1", RTLD_NOLOAD | RTLD_NOW);
        void (*set_ev)(void (*)(int)) =
            h ? (void (*)(void (*)(int)))dlsym(h, "GC_set_on_collection_event") : NULL;
        if (!set_ev) {
            snprintf(why, whylen, "libgc.so.1 lacks GC_set_on_collection_event");
            return -1;
        }
        set_ev(boehm_event);
    }
    stops_ms = malloc(MAX_STOPS * sizeof *stops_ms);
    build();
    settle();

    int T = C.threads;
    mut *ms = calloc((size_t)T, sizeof *ms);
    size_t nwin = (size_t)(C.duration_s * 1e9 / WIN_NS) + 2;
    for (int i = 0; i < T; i++) {
        ms[i].id = i;
        ms[i].hist = calloc(HIST_N, sizeof(uint64_t));
        ms[i].win = calloc(nwin, sizeof(uint32_t));
        ms[i].nwin = nwin;
    }
    if (side == SIDE_TC) {
        tc_read_stats(&st);
        tc_seen = st.num_stops;
    }
    long gc0 = side == SIDE_TC ? bh_tc_gc_count() : B->gc_count();
    boehm_recording = true;
    uint64_t cpu0 = bh_cpu_ns(), w0 = bh_wall_ns();
    atomic_store(&end_ns, w0 + (uint64_t)(C.duration_s * 1e9));
    for (int i = 0; i < T; i++) pthread_create(&ms[i].th, NULL, mutator, &ms[i]);
    /* The monitor (this thread) reads tricolor's stop ring every 20 ms and
     * requests a cycle every force_s seconds, without the mutators waiting. */
    void (*boehm_force)(void) = NULL;
    if (side == SIDE_BOEHM && C.force_s > 0 && !C.baseline) {
        void *h = dlopen("libgc.so.1", RTLD_NOLOAD | RTLD_NOW);
        boehm_force = (void (*)(void))dlsym(h, B == &bh_boehm ? "GC_gcollect"
                                                              : "GC_start_incremental_collection");
    }
    uint64_t next_force = w0 + (uint64_t)(C.force_s * 1e9);
    while (bh_wall_ns() < atomic_load(&end_ns)) {
        if (side == SIDE_TC) tc_blocking_enter();
        sleep_ms(20);
        if (side == SIDE_TC) {
            tc_blocking_leave();
            tc_collect_stops();
        }
        uint64_t now = bh_wall_ns();
        if (C.force_s > 0 && !C.baseline && now >= next_force && now < atomic_load(&end_ns)) {
            if (side == SIDE_TC)
                tc_gc();
            else if (boehm_force)
                boehm_force();
            next_force = bh_wall_ns() + (uint64_t)(C.force_s * 1e9);
        }
    }
    if (side == SIDE_TC) tc_blocking_enter();
    for (int i = 0; i < T; i++) pthread_join(ms[i].th, NULL);
    if (side == SIDE_TC) {
        tc_blocking_leave();
        tc_collect_stops();
    }
    boehm_recording = false;
    uint64_t w1 = bh_wall_ns(), cpu1 = bh_cpu_ns();

    /* Sanity: every list still holds LIST_LEN nodes. */
    for (size_t i = 0; i < nlists; i++) {
        int n = 0;
        for (node *p = table[i]; p; p = p->next) n++;
        if (n != LIST_LEN) {
            snprintf(why, whylen, "list %zu has %d nodes", i, n);
            return -1;
        }
    }

    uint64_t *h = calloc(HIST_N, sizeof(uint64_t)), ops = 0, opmax = 0;
    long preempt = 0;
    for (int i = 0; i < T; i++) {
        for (int j = 0; j < HIST_N; j++) h[j] += ms[i].hist[j];
        ops += ms[i].ops;
        preempt += ms[i].nivcsw;
        if (ms[i].max_ns > opmax) opmax = ms[i].max_ns;
    }
    /* The fewest ops in any complete 10 ms window, summed over threads
     * (windows of every thread start within microseconds of each other). */
    double elapsed = (double)(w1 - w0);
    size_t full = (size_t)(elapsed / WIN_NS);
    if (full > 0) full--; /* the last window may be cut short */
    double minwin = NAN;
    for (size_t w = 0; w < full && w < nwin; w++) {
        double s = 0;
        for (int i = 0; i < T; i++) s += ms[i].win[w];
        if (isnan(minwin) || s < minwin) minwin = s;
    }
    stop_summary(stops_ms, nstops, out);
    out[R_OP_MAX] = (double)opmax / 1e3;
    out[R_OP_P999] = hist_pct(h, ops, 0.999) / 1e3;
    out[R_OP_P99] = hist_pct(h, ops, 0.99) / 1e3;
    out[R_OPS_S] = (double)ops / (elapsed / 1e9);
    out[R_OPS_CPU_S] = (double)ops / ((double)(cpu1 - cpu0) / 1e9);
    out[R_MINWIN] = minwin;
    out[R_GCS] = (double)((side == SIDE_TC ? bh_tc_gc_count() : B->gc_count()) - gc0);
    out[R_LOST] = (double)stops_lost;
    out[R_RSS] = (double)bh_peak_rss_kib() / 1024;
    out[R_PREEMPT] = (double)preempt / (elapsed / 1e9);
    uint64_t slow = 0; /* operations of 50 us or more (bucket boundaries are exact there) */
    for (int j = hist_index(SLOW_OP_NS); j < HIST_N; j++) slow += h[j];
    out[R_SLOW] = (double)slow / (elapsed / 1e9);
    return R_N;
}

/* ---- Go: one process, gctrace on stderr, results on stdout ---- */

static int run_go(const char *go, double *out, char *why, size_t whylen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%sGODEBUG=gctrace=1 '%s' %llu %d %g %s %g 2>&1",
             C.baseline ? "GOGC=off " : "", go, (unsigned long long)C.live, C.threads, C.duration_s,
             C.baseline ? "baseline" : "gc", C.baseline ? 0.0 : C.force_s);
    fflush(NULL);
    FILE *f = popen(cmd, "r");
    if (!f) {
        snprintf(why, whylen, "popen failed");
        return -1;
    }
    stops_ms = stops_ms ? stops_ms : malloc(MAX_STOPS * sizeof *stops_ms);
    nstops = 0;
    bool churn = false, got = false;
    char line[1024];
    for (int i = 0; i < R_N; i++) out[i] = NAN;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "BH_CHURN_START", 14) == 0) churn = true;
        if (strncmp(line, "BH_CHURN_END", 12) == 0) churn = false;
        const char *p = strstr(line, "%: ");
        double a, b, c;
        if (churn && strncmp(line, "gc ", 3) == 0 && p &&
            sscanf(p + 3, "%lf+%lf+%lf ms clock", &a, &b, &c) == 3 && nstops + 2 <= MAX_STOPS) {
            stops_ms[nstops++] = a;
            stops_ms[nstops++] = c;
        }
        double ops_s, ops_cpu, opmax, p999, p99, minwin, gcs, rss;
        if (sscanf(line,
                   "BH_RESULT ops_s=%lf ops_cpu_s=%lf op_max_us=%lf op_p999_us=%lf op_p99_us=%lf "
                   "minwin=%lf gcs=%lf rss_mib=%lf",
                   &ops_s, &ops_cpu, &opmax, &p999, &p99, &minwin, &gcs, &rss) == 8) {
            got = true;
            out[R_OPS_S] = ops_s, out[R_OPS_CPU_S] = ops_cpu, out[R_OP_MAX] = opmax;
            out[R_OP_P999] = p999, out[R_OP_P99] = p99, out[R_MINWIN] = minwin;
            out[R_GCS] = gcs, out[R_RSS] = rss;
            out[R_PREEMPT] = NAN; /* goroutines are not threads: not measured */
            out[R_SLOW] = NAN;
        }
    }
    int status = pclose(f);
    if (!got || status != 0) {
        snprintf(why, whylen, "go run failed (status %d)", status);
        return -1;
    }
    stop_summary(stops_ms, nstops, out);
    out[R_LOST] = 0;
    return R_N;
}

static bool wanted(const char *only, const char *n)
{
    if (!only) return true;
    size_t l = strlen(n);
    for (const char *p = strstr(only, n); p; p = strstr(p + 1, n))
        if ((p == only || p[-1] == ',') && (p[l] == ',' || p[l] == '\0')) return true;
    return false;
}

int main(int argc, char **argv)
{
    bool quick = bh_arg(argc, argv, "quick") != NULL;
    const char *a;
    C.live = quick ? 64ull << 20 : 1ull << 30;
    C.threads = 2;
    C.duration_s = quick ? 2 : 10;
    if ((a = bh_arg(argc, argv, "live")) && *a) C.live = bh_parse_size(a);
    if ((a = bh_arg(argc, argv, "threads")) && *a) C.threads = atoi(a);
    if ((a = bh_arg(argc, argv, "duration")) && *a) C.duration_s = atof(a);
    C.force_s = C.duration_s / 5;
    if ((a = bh_arg(argc, argv, "force-every")) && *a) C.force_s = atof(a);
    if (C.threads < 1) C.threads = 1;
    if (C.threads > 64) C.threads = 64;
    const char *go = bh_arg(argc, argv, "go");
    const char *only = bh_arg(argc, argv, "backends");
    double dur = C.duration_s, base_dur = dur < 2 ? dur : 2;

    const char *all[] = {"tricolor", "go", "boehm", "boehm-incr"};
    const char *cols[4];
    int ncols = 0;
    for (int i = 0; i < 4; i++)
        if (wanted(only, all[i]) && (strcmp(all[i], "go") != 0 || (go && *go)))
            cols[ncols++] = all[i];

    static char title[200], note[300];
    snprintf(title, sizeof title,
             "pause: %.0f MiB live in %zu-byte nodes, %d mutator thread%s, %.0f s churn, a cycle "
             "requested every %g s",
             (double)C.live / (1 << 20), sizeof(node), C.threads, C.threads > 1 ? "s" : "", dur,
             C.force_s);
    bh_table t;
    bh_table_init(&t, title, cols, ncols, 0);
    int r_ns = bh_table_row(&t, "stops", "");
    int r_smax = bh_table_row(&t, "stop max", "ms");
    int r_sp99 = bh_table_row(&t, "stop p99", "ms");
    int r_stot = bh_table_row(&t, "stops total", "ms");
    int r_omax = bh_table_row(&t, "op latency max", "us");
    int r_o999 = bh_table_row(&t, "op latency p99.9", "us");
    int r_o99 = bh_table_row(&t, "op latency p99", "us");
    int r_ops = bh_table_row(&t, "ops/s, wall (GC on)", "");
    int r_base = bh_table_row(&t, "ops/s, wall (GC off)", "");
    int r_util = bh_table_row(&t, "utilisation on/off, wall", "");
    int r_mmu = bh_table_row(&t, "MMU 10ms vs GC off", "");
    int r_cpu = bh_table_row(&t, "ops per CPU-s (GC on)", "");
    int r_cpub = bh_table_row(&t, "ops per CPU-s (GC off)", "");
    int r_cpuu = bh_table_row(&t, "ops/CPU-s on/off", "");
    int r_gcs = bh_table_row(&t, "GC cycles", "");
    int r_rss = bh_table_row(&t, "peak RSS", "MiB");
    int r_slow = bh_table_row(&t, "ops >= 50 us per s (GC on)", "");
    int r_slowb = bh_table_row(&t, "ops >= 50 us per s (GC off)", "");
    int r_pre = bh_table_row(&t, "mutator preemptions/s (GC on)", "");
    int r_preb = bh_table_row(&t, "mutator preemptions/s (GC off)", "");

    char nas[1024] = "";
    uint64_t lost = 0;
    for (int c = 0; c < ncols; c++) {
        double on[R_N], off[R_N];
        char why[256] = "";
        int n;
        C.baseline = false, C.duration_s = dur;
        if (strcmp(cols[c], "go") == 0)
            n = run_go(go, on, why, sizeof why);
        else
            n = bh_in_child(child, (void *)cols[c], on, R_N, why, sizeof why);
        if (n < R_N) {
            size_t l = strlen(nas);
            snprintf(nas + l, sizeof nas - l, "%s%s: %s%s", l ? "; " : "", cols[c], why,
                     strcmp(cols[c], "boehm-incr") == 0
                         ? " (\"un-mprotect vdb failed ... errno= 12\" "
                           "above: libgc's page-protection barrier "
                           "ran past vm.max_map_count)"
                         : "");
            continue;
        }
        C.baseline = true, C.duration_s = base_dur;
        if (strcmp(cols[c], "go") == 0)
            n = run_go(go, off, why, sizeof why);
        else
            n = bh_in_child(child, (void *)cols[c], off, R_N, why, sizeof why);
        if (n < R_N)
            for (int i = 0; i < R_N; i++) off[i] = NAN;
        lost += (uint64_t)on[R_LOST];
        t.v[r_ns][c] = on[R_NSTOPS];
        t.v[r_smax][c] = on[R_STOP_MAX];
        t.v[r_sp99][c] = on[R_STOP_P99];
        t.v[r_stot][c] = on[R_STOP_TOTAL];
        t.v[r_omax][c] = on[R_OP_MAX];
        t.v[r_o999][c] = on[R_OP_P999];
        t.v[r_o99][c] = on[R_OP_P99];
        t.v[r_ops][c] = on[R_OPS_S];
        t.v[r_base][c] = off[R_OPS_S];
        t.v[r_util][c] = on[R_OPS_S] / off[R_OPS_S];
        double mmu = on[R_MINWIN] / (off[R_OPS_S] * (double)WIN_NS / 1e9);
        t.v[r_mmu][c] = mmu > 1 ? 1 : mmu;
        t.v[r_cpu][c] = on[R_OPS_CPU_S];
        t.v[r_cpub][c] = off[R_OPS_CPU_S];
        t.v[r_cpuu][c] = on[R_OPS_CPU_S] / off[R_OPS_CPU_S];
        t.v[r_gcs][c] = on[R_GCS];
        t.v[r_rss][c] = on[R_RSS];
        t.v[r_slow][c] = on[R_SLOW];
        t.v[r_slowb][c] = off[R_SLOW];
        t.v[r_pre][c] = on[R_PREEMPT];
        t.v[r_preb][c] = off[R_PREEMPT];
    }
    snprintf(note, sizeof note,
             "ops/s, utilisation and MMU rows: higher is better; GC off: %.0f s churn, at most "
             "max(LIVE, 512 MiB) of garbage%s",
             base_dur, lost ? "; WARNING: tricolor stop ring wrapped, stops lost" : "");
    t.note = note;
    bh_table_print(&t);
    if (nas[0]) printf("   n/a: %s\n", nas);
    return 0;
}
