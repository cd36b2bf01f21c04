/*
 * gcbench.c — GCBench (Ellis, Kovac, Boehm), written from its published
 * description, on every backend (issue 4).
 *
 * A node is two pointers and two ints. The program builds and drops a
 * "stretch" tree of depth 18; keeps a long-lived tree of depth 16 (built top
 * down) and a long-lived array of 500000 doubles for the whole run; then for
 * each depth d = 4, 6, ..., 16 builds 2 * size(18) / size(d) trees of depth d
 * top-down (allocate a node, then populate its children) and as many
 * bottom-up (children first), dropping each; at the end it checks that the
 * long-lived tree and array survived. size(d) = 2^(d+1) - 1 nodes.
 *
 * malloc backends free each dropped tree; collected backends never free.
 * tricolor allocates nodes with tc_new of a type with two pointer words and
 * the array with tc_alloc_noscan, default GOGC. The long-lived tree and array
 * are held by locals of run() for the whole run (the stack or registers are
 * their roots), so no root is registered. The
 * check value counts nodes allocated (and goes negative if the long-lived
 * data was damaged). The param scales the depths: "16" is the published run,
 * smaller values shrink every depth by the difference.
 */
#include "harness.h"
#include "tc_backend.h"

#include <stdlib.h>

typedef struct node {
    struct node *left, *right;
    int i, j;
} node;

static const bh_backend *B;
static long nodes;

static node *new_node(node *l, node *r)
{
    node *n = B->alloc(sizeof *n);
    n->left = l, n->right = r, n->i = n->j = 0;
    nodes++;
    return n;
}

static long tree_size(int d) { return (1L << (d + 1)) - 1; }

static void populate(int depth, node *n)
{
    if (depth <= 0) return;
    depth--;
    n->left = new_node(NULL, NULL);
    n->right = new_node(NULL, NULL);
    populate(depth, n->left);
    populate(depth, n->right);
}

static node *make_tree(int depth)
{
    if (depth <= 0) return new_node(NULL, NULL);
    node *l = make_tree(depth - 1);
    return new_node(l, make_tree(depth - 1));
}

static void drop(node *n)
{
    if (!B->free || !n) return;
    drop(n->left);
    drop(n->right);
    B->free(n);
}

static long run(const bh_backend *b, const char *param)
{
    B = b;
    int max_depth = atoi(param);
    if (max_depth < 6) max_depth = 6;
    int min_depth = 4, stretch_depth = max_depth + 2, long_depth = max_depth;
    long array_size = 500000;

    drop(make_tree(stretch_depth));

    node *long_lived = new_node(NULL, NULL);
    populate(long_depth, long_lived);
    double *array = B->alloc_atomic(sizeof(double) * (size_t)array_size);
    for (long i = 0; i < array_size; i++) array[i] = 1.0 / (double)(i + 1);

    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(stretch_depth) / tree_size(d);
        for (long i = 0; i < iters; i++) {
            node *t = new_node(NULL, NULL);
            populate(d, t);
            drop(t);
        }
        for (long i = 0; i < iters; i++) drop(make_tree(d));
    }

    long result = nodes;
    if (!long_lived || array[999] != 1.0 / 1000) result = -result;
    drop(long_lived);
    if (B->free) B->free(array);
    return result;
}

/* ---- tricolor: alloc is only ever a node, alloc_atomic the array ---- */

static tc_type *node_type;

static bool tc_gcb_init(char *why, size_t whylen)
{
    if (!bh_tc_init(why, whylen)) return false;
    node_type = TC_TYPE(node, left, right);
    return node_type != NULL;
}

static void *tc_gcb_alloc(size_t size)
{
    (void)size;
    return tc_new(node_type);
}

static const bh_backend bh_tc = {.name = "tricolor",
                                 .init = tc_gcb_init,
                                 .alloc = tc_gcb_alloc,
                                 .alloc_atomic = tc_alloc_noscan,
                                 .gc_count = bh_tc_gc_count};

static const bh_backend *const backends[] = {&bh_tc,       &bh_glibc, &bh_mimalloc,
                                             &bh_jemalloc, &bh_boehm, &bh_boehm_incr};

int main(int argc, char **argv)
{
    bh_gcbench g = {.name = "GCBench",
                    .param_full = "16",
                    .param_quick = "12",
                    .run = run,
                    .backends = backends,
                    .nbackends = sizeof backends / sizeof backends[0]};
    return bh_gcbench_main(&g, argc, argv);
}
