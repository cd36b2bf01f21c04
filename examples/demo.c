/*
 * demo.c — the collector at work on the data structures of a tiny interpreter.
 *
 * A global environment (a hash table on the heap) binds 4096 variables to
 * lists of numbers. Every round rebinds some of them to fresh lists (the old
 * lists become garbage) and builds throw-away trees; a second thread churns
 * trees of its own. At the end every binding is checked. On the way it keeps
 * each rule of docs/embedding.md: typed objects, registered roots, TC_STORE,
 * attached threads, blocking regions.
 *
 * gctrace is on (see main): one line per collection on stderr. Try
 * TC_DEBUG=gccheckmark=1,clobberfree=1 or TC_GOGC=25 as well.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tricolor.h"

enum { NVARS = 4096, LISTLEN = 32, ROUNDS = 200, NBUCKETS = 1024, NSYMS = 2 * NVARS };

/* Heap objects. The collector knows their layout from the types below. */
// clang-format off
struct cell   { struct cell *next; long n; };                         /* a list cell */
struct tree   { struct tree *left, *right; };                         /* churn */
struct entry  { struct entry *next; struct cell *value; long sym; }; /* a binding */
struct bucket { struct entry *head; };                                /* hash chain */
struct env    { struct bucket *buckets; long count; };                /* the table */
// clang-format on
static tc_type *cell_t, *tree_t, *entry_t, *bucket_t, *env_t, *symslot_t;

/* The global environment. Static data is not scanned: registered in main. */
static struct env *globals;
static long gen[NVARS]; /* the generation each variable is bound to: not pointers */

/* Interned names, in unmanaged memory (tc_persistent_alloc: it lives as
 * long as the program). A symbol is its slot's index. The strings are heap
 * objects that only this table points to: without the registration in main,
 * the collector would free them. Touched by the main thread only. */
struct symslot {
    char *name; /* a heap string */
};
static struct symslot *symtab;

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static long intern(const char *s)
{
    unsigned i = hash(s) % NSYMS;
    for (int probes = 0; probes < NSYMS; probes++, i = (i + 1) % NSYMS) {
        if (symtab[i].name == NULL) {
            char *copy = tc_alloc_noscan(strlen(s) + 1); /* holds no pointers */
            strcpy(copy, s);
            symtab[i].name = copy; /* a plain root: an ordinary store */
            return i;
        }
        if (strcmp(symtab[i].name, s) == 0) return i;
    }
    fprintf(stderr, "demo: symbol table full (were names lost?)\n");
    exit(1);
}

/* A list of LISTLEN cells holding base, base+1, ... Every cell comes back
 * zeroed; heap pointers are written into heap objects with TC_STORE. */
static struct cell *make_list(long base)
{
    struct cell *head = NULL;
    for (long j = LISTLEN - 1; j >= 0; j--) {
        struct cell *c = tc_new(cell_t);
        c->n = base + j;
        TC_STORE(c->next, head);
        head = c; /* a local: the stack is scanned, no TC_STORE needed */
    }
    return head;
}

static struct entry **slot_of(struct env *env, long sym)
{
    struct entry **pp = &env->buckets[sym % NBUCKETS].head;
    while (*pp != NULL && (*pp)->sym != sym) pp = &(*pp)->next;
    return pp;
}

static void bind(struct env *env, long sym, struct cell *value)
{
    struct entry **pp = slot_of(env, sym);
    if (*pp == NULL) {
        struct entry *e = tc_new(entry_t);
        e->sym = sym;     /* a scalar: a plain store */
        TC_STORE(*pp, e); /* *pp is a bucket head or an entry's next: heap memory */
        env->count++;
    }
    TC_STORE((*pp)->value, value); /* the old list is now garbage */
}

/* Short-lived churn: a complete binary tree, dropped by the caller. */
static struct tree *make_tree(int depth)
{
    struct tree *t = tc_new(tree_t);
    if (depth > 0) {
        TC_STORE(t->left, make_tree(depth - 1));
        TC_STORE(t->right, make_tree(depth - 1));
    }
    return t;
}

static long count_tree(const struct tree *t)
{
    return t == NULL ? 0 : 1 + count_tree(t->left) + count_tree(t->right);
}

/* The second thread: churns trees until main is done, keeps the last four
 * alive in a local array (its stack is scanned), and now and then waits.
 * Started with tc_pthread_create, so it is attached for its whole life. */
static atomic_bool done;

static void *worker(void *arg)
{
    long *bad = arg; /* not a heap pointer: a long in main's stack frame */
    struct tree *keep[4] = {0};
    for (int i = 0; !atomic_load(&done); i++) {
        keep[i % 4] = make_tree(9);
        if (i % 16 == 0) {
            /* A wait (a read, a poll, a sleep) in a blocking region: the
             * collector neither waits for this thread nor signals it, and
             * scans its stack from here, so keep[] stays alive. Inside,
             * touch no heap pointer. */
            tc_blocking_enter();
            nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
            tc_blocking_leave();
        }
        for (int k = 0; k < 4 && k <= i; k++) *bad += count_tree(keep[k]) != 1023;
    }
    return NULL; /* a thread's return value is not a root: return no heap pointer */
}

int main(void)
{
    tc_config cfg;
    tc_config_default(&cfg);
    cfg.debug = "gctrace=1"; /* one line per collection on stderr */
    tc_init(&cfg);           /* attaches this thread */

    cell_t = TC_TYPE(struct cell, next); /* types: built once, kept forever */
    tree_t = TC_TYPE(struct tree, left, right);
    entry_t = TC_TYPE(struct entry, next, value);
    bucket_t = TC_TYPE(struct bucket, head);
    env_t = TC_TYPE(struct env, buckets);
    symslot_t = TC_TYPE_FLAGS(TC_NOTINHEAP, struct symslot, name);

    /* Roots. The symbol table is scanned precisely by its layout; the global
     * is one word, scanned conservatively (layout NULL). */
    symtab = tc_persistent_alloc(NSYMS * sizeof *symtab, 0, NULL); /* zeroed */
    tc_root_register(symtab, NSYMS * sizeof *symtab, symslot_t, 0);
    tc_root_register(&globals, sizeof globals, NULL, 0);

    struct env *env = tc_new(env_t);
    TC_STORE(env->buckets, tc_new_array(bucket_t, NBUCKETS));
    globals = env; /* a plain root: an ordinary store */

    long worker_bad = 0;
    pthread_t th;
    tc_pthread_create(&th, NULL, worker, &worker_bad);

    char name[16];
    for (int i = 0; i < NVARS; i++) {
        snprintf(name, sizeof name, "var%d", i);
        bind(globals, intern(name), make_list(i * 100000L));
    }
    unsigned rng = 1;
    long trees_bad = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < NVARS / 16; k++) { /* rebind some variables */
            rng = rng * 1103515245u + 12345u;
            int i = (int)(rng >> 8) % NVARS;
            snprintf(name, sizeof name, "var%d", i);
            bind(globals, intern(name), make_list(i * 100000L + ++gen[i] * LISTLEN));
        }
        trees_bad += count_tree(make_tree(8)) != 511; /* garbage at once */
    }

    atomic_store(&done, true);
    /* Joining waits: a blocking region, so this thread never holds up a stop. */
    tc_blocking_enter();
    pthread_join(th, NULL);
    tc_blocking_leave();
    tc_gc(); /* one forced collection; the live data must survive it */

    /* Check every binding, every cell and every interned name. */
    long bad = trees_bad + worker_bad + (globals->count != NVARS);
    for (int i = 0; i < NVARS; i++) {
        snprintf(name, sizeof name, "var%d", i);
        struct entry *e = *slot_of(globals, intern(name)); /* a lost name: no entry */
        long j = 0;
        for (struct cell *c = e ? e->value : NULL; c != NULL; c = c->next, j++)
            bad += c->n != i * 100000L + gen[i] * LISTLEN + j;
        bad += j != LISTLEN;
    }

    tc_stats st;
    tc_read_stats(&st);
    uint64_t max_pause = 0;
    for (uint64_t i = 0; i < st.num_gc && i < 256; i++)
        if (st.pause_ns[i] > max_pause) max_pause = st.pause_ns[i];
    printf("\ncollections      %llu (%llu forced)\n", (unsigned long long)st.num_gc,
           (unsigned long long)st.num_forced_gc);
    printf("pauses           max %.3f ms, total %.3f ms\n", max_pause / 1e6,
           st.pause_total_ns / 1e6);
    printf("heap             %.2f MiB marked live by the last cycle, goal %.2f MiB\n",
           st.heap_marked / 1048576.0, st.next_gc / 1048576.0);
    printf("objects          %llu allocated, %llu freed\n",
           (unsigned long long)st.heap_alloc_objects, (unsigned long long)st.heap_free_objects);
    printf("live data        %d variables x %d cells, %d names: %s\n", NVARS, LISTLEN, NVARS,
           bad == 0 ? "intact" : "CORRUPTED");
    return bad == 0 ? 0 : 1;
}
