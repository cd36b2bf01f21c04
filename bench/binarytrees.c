/*
 * binarytrees.c — the benchmarks-game binary-trees program, single-threaded,
 * on every backend (issue 4).
 *
 * The algorithm as published: with max depth n (min depth 4), build and check
 * one "stretch" tree of depth n+1 and drop it; build a long-lived tree of
 * depth n; then for each depth d = 4, 6, ..., n build and check
 * 2^(n - d + 4) trees of depth d, bottom-up, dropping each; finally check the
 * long-lived tree. A node is two pointers (16 bytes); check counts nodes.
 *
 * malloc backends free every tree explicitly after checking it; collected
 * backends (tricolor, Boehm) never free. tricolor allocates each node with
 * tc_new of a type whose two words are pointers, default GOGC; every tree is
 * held by locals of the recursion (stack or registers), so nothing is
 * registered as a root. Pointer stores are plain C stores, as for the other
 * sides: with today's stopped-world mark TC_STORE is exactly that. One
 * process per backend: see harness.c.
 */
#include "harness.h"
#include "tc_backend.h"

#include <stdlib.h>

typedef struct node {
    struct node *left, *right;
} node;

static const bh_backend *B;

static node *bottom_up(int depth)
{
    node *n = B->alloc(sizeof *n);
    if (depth > 0) {
        n->left = bottom_up(depth - 1);
        n->right = bottom_up(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static long check(const node *n) { return n->left ? 1 + check(n->left) + check(n->right) : 1; }

static void release(node *n)
{
    if (n->left) {
        release(n->left);
        release(n->right);
    }
    B->free(n);
}

/* Check, then free the tree if the backend frees. */
static long check_and_drop(node *n)
{
    long c = check(n);
    if (B->free) release(n);
    return c;
}

static long run(const bh_backend *b, const char *param)
{
    B = b;
    int min_depth = 4, max_depth = atoi(param);
    if (max_depth < min_depth + 2) max_depth = min_depth + 2;
    long total = check_and_drop(bottom_up(max_depth + 1));
    node *long_lived = bottom_up(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth);
        for (long i = 0; i < iterations; i++) total += check_and_drop(bottom_up(d));
    }
    total += check_and_drop(long_lived);
    return total;
}

/* ---- tricolor: every allocation here is a node ---- */

static tc_type *node_type;

static bool tc_bt_init(char *why, size_t whylen)
{
    if (!bh_tc_init(why, whylen)) return false;
    node_type = TC_TYPE(node, left, right);
    return node_type != NULL;
}

static void *tc_bt_alloc(size_t size)
{
    (void)size;
    return tc_new(node_type);
}

static const bh_backend bh_tc = {.name = "tricolor",
                                 .init = tc_bt_init,
                                 .alloc = tc_bt_alloc,
                                 .alloc_atomic = tc_alloc_noscan,
                                 .gc_count = bh_tc_gc_count};

static const bh_backend *const backends[] = {&bh_tc,       &bh_glibc, &bh_mimalloc,
                                             &bh_jemalloc, &bh_boehm, &bh_boehm_incr};

int main(int argc, char **argv)
{
    bh_gcbench g = {.name = "binary-trees",
                    .param_full = "21",
                    .param_quick = "16",
                    .run = run,
                    .backends = backends,
                    .nbackends = sizeof backends / sizeof backends[0]};
    return bh_gcbench_main(&g, argc, argv);
}
