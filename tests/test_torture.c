/* test_torture.c — threads mutate random object graphs while the collector
 * runs, and a shadow model outside the heap catches any object freed while
 * still reachable (a reused slot has a new identity) and any corrupted byte.
 *
 * Each thread owns a graph of four kinds of objects:
 *   node  typed, precise: two child pointers and one pointer that may point
 *         into the middle of another object;
 *   vec   a typed array of (tag, pointer) cells;
 *   cons  conservatively scanned words, pointers mixed with integers;
 *   blob  pointer-free bytes with a pattern derived from the object's id.
 * Word 0 of every object is its id. The graph hangs off two roots in malloc
 * memory (one registered conservative, one precise), plus pointers that live
 * only in local variables across collections. The shadow (malloc memory,
 * never scanned) records for each id what every pointer slot should lead to:
 * the child's id and the offset into it. verify() walks the graph from the
 * roots and checks every object and every edge against the shadow.
 *
 * Runs about two seconds (TC_SOAK=1: a minute). ctest runs it with
 * gcstress and gccheckmark (tests/torture.cmake).
 */
#include <pthread.h>
#include <stddef.h>

#include "tc_test.h"
#include "tricolor.h"

enum { K_NODE = 1, K_VEC, K_CONS, K_BLOB };
#define NSLOTS 8
#define NROOTS 64

struct node {
    uint64_t id;
    void *l, *r;
    void *any; /* may be interior */
    uint64_t check;
};
struct cell {
    uint64_t tag;
    void *p;
};

static tc_type *node_t, *cell_t, *rootcell_t;

/* ---- the shadow ---------------------------------------------------------------- */

struct shadow {
    uint64_t id; /* 0: empty */
    int kind;
    int nslots;
    size_t size;
    uint64_t child[NSLOTS]; /* 0: NULL */
    size_t off[NSLOTS];
    int seen; /* visit mark of the last verify */
};

struct world {
    int tid;
    uint64_t rng;
    uint64_t next_id;
    struct shadow *tab; /* open addressing by id */
    size_t cap, n;
    struct cell *root_precise; /* registered with rootcell_t */
    void **root_cons;          /* registered conservative */
    int verify_gen;
    uint64_t ops, gcs, objects_checked;
};

static struct shadow *sh_find(struct world *w, uint64_t id)
{
    size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & (w->cap - 1);
    for (;; i = (i + 1) & (w->cap - 1)) {
        if (w->tab[i].id == id) return &w->tab[i];
        if (w->tab[i].id == 0) return NULL;
    }
}

static struct shadow *sh_add(struct world *w, uint64_t id)
{
    if ((w->n + 1) * 2 > w->cap) {
        struct shadow *old = w->tab;
        size_t oc = w->cap;
        w->cap = oc ? oc * 2 : 4096;
        w->tab = calloc(w->cap, sizeof *w->tab);
        w->n = 0;
        for (size_t i = 0; i < oc; i++)
            if (old[i].id) *sh_add(w, old[i].id) = old[i];
        free(old);
    }
    size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & (w->cap - 1);
    while (w->tab[i].id != 0) i = (i + 1) & (w->cap - 1);
    w->tab[i] = (struct shadow){.id = id};
    w->n++;
    return &w->tab[i];
}

/* Drop the objects the last verify did not reach (they are garbage). */
static void sh_prune(struct world *w)
{
    struct shadow *old = w->tab;
    size_t oc = w->cap;
    w->tab = calloc(oc, sizeof *w->tab);
    w->n = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].id && old[i].seen == w->verify_gen) *sh_add(w, old[i].id) = old[i];
    free(old);
}

/* ---- objects ----------------------------------------------------------------------- */

static uint8_t pattern(uint64_t id, size_t i) { return (uint8_t)(id * 31 + i * 7); }

/* Slot address i of an object of a given kind. */
static void **slot_addr(void *obj, int kind, int i)
{
    switch (kind) {
    case K_NODE: {
        struct node *n = obj;
        return i == 0 ? &n->l : i == 1 ? &n->r : &n->any;
    }
    case K_VEC:
        return &((struct cell *)obj)[i + 1].p;
    case K_CONS:
        return &((void **)obj)[1 + 2 * i];
    default:
        return NULL;
    }
}

static void *new_object(struct world *w, int kind)
{
    uint64_t id = ((uint64_t)w->tid << 48) | ++w->next_id;
    struct shadow *s = sh_add(w, id);
    s->kind = kind;
    void *obj;
    switch (kind) {
    case K_NODE: {
        struct node *n = tc_new(node_t);
        n->check = ~id;
        s->nslots = 3;
        s->size = sizeof *n;
        obj = n;
        break;
    }
    case K_VEC: {
        int n = 1 + (int)(tc_rand(&w->rng) % NSLOTS);
        struct cell *c = tc_new_array(cell_t, (size_t)n + 1);
        for (int i = 0; i <= n; i++) c[i].tag = id ^ (uint64_t)i;
        s->nslots = n;
        s->size = (size_t)(n + 1) * sizeof *c;
        obj = c;
        break;
    }
    case K_CONS: {
        int n = 1 + (int)(tc_rand(&w->rng) % NSLOTS);
        void **v = tc_alloc_conservative((size_t)(2 * n + 1) * sizeof(void *));
        for (int i = 0; i < n; i++) v[2 + 2 * i] = (void *)(uintptr_t)(id + (uint64_t)i); /* ints */
        s->nslots = n;
        s->size = (size_t)(2 * n + 1) * sizeof(void *);
        obj = v;
        break;
    }
    default: {
        size_t n = 8 + tc_rand(&w->rng) % 3000;
        if (tc_rand(&w->rng) % 50 == 0) n += 40000; /* a large object now and then */
        unsigned char *b = tc_alloc_noscan(n);
        for (size_t i = 8; i < n; i++) b[i] = pattern(id, i);
        s->size = n;
        obj = b;
        break;
    }
    }
    *(uint64_t *)obj = id;
    return obj;
}

/* The object a (possibly interior) pointer leads to, given the edge's offset. */

/* ---- verification ---------------------------------------------------------------------- */

/* An explicit worklist: chains get long, recursion would not do. */
struct edge {
    void *p;
    uint64_t want;
    size_t off;
};
static __thread struct edge *wl;
static __thread size_t wl_n, wl_cap;

static void push_edge(void *p, uint64_t want, size_t off)
{
    if (want == 0) {
        CHECK_MSG(p == NULL, "edge should be NULL, holds %p", p);
        return;
    }
    CHECK_MSG(p != NULL, "edge to %#llx is NULL", (unsigned long long)want);
    if (wl_n == wl_cap) {
        wl_cap = wl_cap ? wl_cap * 2 : 1024;
        wl = realloc(wl, wl_cap * sizeof *wl);
    }
    wl[wl_n++] = (struct edge){p, want, off};
}

static void verify_obj(struct world *w, void *obj, uint64_t want_id)
{
    uint64_t id = *(uint64_t *)obj;
    CHECK_MSG(id == want_id, "object %p has id %#llx, expected %#llx: freed while reachable?", obj,
              (unsigned long long)id, (unsigned long long)want_id);
    struct shadow *s = sh_find(w, id);
    CHECK_MSG(s != NULL, "object %p id %#llx not in the shadow", obj, (unsigned long long)id);
    if (s->seen == w->verify_gen) return;
    s->seen = w->verify_gen;
    w->objects_checked++;
    /* Pointer-free objects under 16 bytes are packed into 16-byte blocks,
     * and the lookups report the block: an 8-byte blob may sit at offset 8. */
    void *base =
        s->size < 16 && s->kind == K_BLOB ? (void *)((uintptr_t)obj & ~(uintptr_t)15) : obj;
    CHECK_MSG(tc_object_base(obj) == base, "object %p (size %zu) has base %p", obj, s->size,
              tc_object_base(obj));
    CHECK(tc_object_size(obj) >= s->size + (size_t)((char *)obj - (char *)base));
    switch (s->kind) {
    case K_NODE:
        CHECK_EQ(((struct node *)obj)->check, ~id);
        break;
    case K_VEC:
        for (int i = 0; i <= s->nslots; i++)
            CHECK_EQ(((struct cell *)obj)[i].tag, id ^ (uint64_t)i);
        break;
    case K_CONS:
        for (int i = 0; i < s->nslots; i++)
            CHECK_EQ((uintptr_t)((void **)obj)[2 + 2 * i], (uintptr_t)(id + (uint64_t)i));
        break;
    case K_BLOB:
        for (size_t i = 8; i < s->size; i++)
            CHECK_MSG(((unsigned char *)obj)[i] == pattern(id, i),
                      "blob %p id %#llx byte %zu corrupted", obj, (unsigned long long)id, i);
        break;
    }
    for (int i = 0; i < s->nslots; i++)
        push_edge(*slot_addr(obj, s->kind, i), s->child[i], s->off[i]);
}

static void drain_edges(struct world *w)
{
    while (wl_n > 0) {
        struct edge e = wl[--wl_n];
        verify_obj(w, (char *)e.p - e.off, e.want);
    }
}

/* Roots' expected ids live in the shadow of a pseudo-object per root array. */
static __thread uint64_t (*my_root_want)[NROOTS];

static void verify(struct world *w)
{
    w->verify_gen++;
    for (int i = 0; i < NROOTS; i++) {
        push_edge(w->root_precise[i].p, my_root_want[0][i], 0);
        push_edge(w->root_cons[i], my_root_want[1][i], 0);
    }
    drain_edges(w);
    sh_prune(w);
}

/* ---- mutation ------------------------------------------------------------------------ */

/* A random reachable object: a random walk from a random root. */
static void *pick(struct world *w, struct shadow **out)
{
    int r = (int)(tc_rand(&w->rng) % NROOTS);
    void *p = (tc_rand(&w->rng) & 1) ? w->root_precise[r].p : w->root_cons[r];
    if (p == NULL) return NULL;
    struct shadow *s = sh_find(w, *(uint64_t *)p);
    for (int steps = (int)(tc_rand(&w->rng) % 6); steps > 0 && s->nslots > 0; steps--) {
        int i = (int)(tc_rand(&w->rng) % (uint64_t)s->nslots);
        if (s->child[i] == 0 || s->off[i] != 0) break;
        void *q = *slot_addr(p, s->kind, i);
        p = q;
        s = sh_find(w, s->child[i]);
    }
    *out = s;
    return p;
}

static void set_edge(struct world *w, void *obj, struct shadow *s, int i, void *target,
                     struct shadow *ts)
{
    size_t off = 0;
    /* Node's third slot takes interior pointers. */
    if (target != NULL && s->kind == K_NODE && i == 2 && ts->size > 16)
        off = 8 * (1 + tc_rand(&w->rng) % ((ts->size - 8) / 8));
    TC_STORE(*slot_addr(obj, s->kind, i), target ? (char *)target + off : NULL);
    s->child[i] = target ? ts->id : 0;
    s->off[i] = off;
}

static void mutate(struct world *w)
{
    uint64_t op = tc_rand(&w->rng) % 100;
    if (op < 40) { /* new object into a root or a slot */
        int kind = 1 + (int)(tc_rand(&w->rng) % 4);
        void *obj = new_object(w, kind);
        struct shadow *ts = sh_find(w, *(uint64_t *)obj);
        struct shadow *s;
        void *parent = (tc_rand(&w->rng) % 3) ? pick(w, &s) : NULL;
        if (parent != NULL && s->nslots > 0) {
            set_edge(w, parent, s, (int)(tc_rand(&w->rng) % (uint64_t)s->nslots), obj, ts);
        } else {
            int r = (int)(tc_rand(&w->rng) % NROOTS);
            if (tc_rand(&w->rng) & 1) {
                w->root_precise[r].p = obj;
                my_root_want[0][r] = ts->id;
            } else {
                w->root_cons[r] = obj;
                my_root_want[1][r] = ts->id;
            }
        }
    } else if (op < 75) { /* link two reachable objects */
        struct shadow *s, *ts;
        void *a = pick(w, &s), *b = pick(w, &ts);
        if (a != NULL && b != NULL && s->nslots > 0)
            set_edge(w, a, s, (int)(tc_rand(&w->rng) % (uint64_t)s->nslots), b, ts);
    } else if (op < 90) { /* drop an edge */
        struct shadow *s;
        void *a = pick(w, &s);
        if (a != NULL && s->nslots > 0)
            set_edge(w, a, s, (int)(tc_rand(&w->rng) % (uint64_t)s->nslots), NULL, NULL);
    } else if (op < 97) { /* drop a root */
        int r = (int)(tc_rand(&w->rng) % NROOTS);
        w->root_precise[r].p = NULL;
        my_root_want[0][r] = 0;
    } else { /* an object held only by a local across a collection */
        struct node *volatile local = new_object(w, K_NODE);
        uint64_t id = local->id;
        tc_gc();
        w->gcs++;
        CHECK_EQ(local->id, id);
        CHECK_EQ(local->check, ~id);
    }
}

static double deadline;

static void *worker(void *arg)
{
    struct world *w = arg;
    my_root_want = malloc(2 * sizeof *my_root_want);
    memset(my_root_want, 0, 2 * sizeof *my_root_want);
    w->root_precise = calloc(NROOTS, sizeof(struct cell));
    w->root_cons = calloc(NROOTS, sizeof(void *));
    tc_root *r1 = tc_root_register(w->root_precise, NROOTS * sizeof(struct cell), rootcell_t, 0);
    tc_root *r2 = tc_root_register(w->root_cons, NROOTS * sizeof(void *), NULL, 0);
    while (tc_test_now() < deadline) {
        for (int i = 0; i < 200; i++, w->ops++) mutate(w);
        verify(w);
    }
    verify(w);
    tc_root_unregister(r1);
    tc_root_unregister(r2);
    free(w->root_precise);
    free(w->root_cons);
    free(w->tab);
    free(my_root_want);
    free(wl);
    wl = NULL;
    wl_n = wl_cap = 0;
    return NULL;
}

TC_TEST(torture_random_graphs_survive_collection_intact)
{
    tc_init(NULL);
    node_t = TC_TYPE(struct node, l, r, any);
    cell_t = TC_TYPE(struct cell, p);
    rootcell_t = cell_t;
    enum { T = 3 };
    uint64_t seed = tc_test_seed();
    deadline = tc_test_now() + (tc_test_soak() ? 60.0 : 2.0);
    struct world w[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        w[i] = (struct world){.tid = i + 1, .rng = seed * (uint64_t)(i + 7) + 1};
        CHECK_EQ(tc_pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    uint64_t ops = 0, checked = 0, gcs = 0;
    for (int i = 0; i < T; i++) {
        tc_test_join(th[i], NULL);
        ops += w[i].ops;
        checked += w[i].objects_checked;
        gcs += w[i].gcs;
    }
    tc_stats st;
    tc_read_stats(&st);
    printf("torture: %llu mutations, %llu object checks, %llu explicit and %llu total "
           "collections\n",
           (unsigned long long)ops, (unsigned long long)checked, (unsigned long long)gcs,
           (unsigned long long)st.num_gc);
    CHECK(ops > (TC_TEST_UNDER_TSAN ? 100 : 1000)); /* TSan with gcstress=1: slow */
    CHECK(st.num_gc > 0);
}

TC_TEST_MAIN()
