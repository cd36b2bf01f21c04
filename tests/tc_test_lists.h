/*
 * tc_test_lists.h — the linked lists the collector tests keep alive, lose
 * and check: a node type with an id and two pointer words, lists whose ids
 * count up from a first id, and a check that reads every node back.
 *
 * A test includes it after tc_test.h and sets node_t (TC_TYPE(struct node,
 * next, other)) once tc_init has run. With TC_DEBUG=clobberfree=1 a node
 * freed while still reachable fails check_list at its id.
 */
#ifndef TC_TEST_LISTS_H
#define TC_TEST_LISTS_H

#include <stdint.h>

#include "tc_test.h"
#include "tricolor.h"

struct node {
    uint64_t id;
    struct node *next;
    void *other;
};
static tc_type *node_t;

/* n nodes with ids first_id, first_id + 1, ...; not inlined, so that the
 * nodes' addresses die with its frame. */
static __attribute__((noinline)) struct node *make_list(int n, uint64_t first_id)
{
    struct node *head = NULL;
    for (int i = n - 1; i >= 0; i--) {
        struct node *x = tc_new(node_t);
        CHECK(x != NULL);
        x->id = first_id + (uint64_t)i;
        x->next = head;
        head = x;
    }
    return head;
}

static inline void check_list(const struct node *x, int n, uint64_t first_id)
{
    for (int i = 0; i < n; i++, x = x->next) {
        CHECK(x != NULL);
        CHECK_EQ(x->id, first_id + (uint64_t)i);
    }
    CHECK(x == NULL);
}

#endif
