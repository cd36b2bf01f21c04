/*
 * test_heap_preinit.c — the collected heap refuses to allocate before
 * tc_init (its own process: every other test file starts the library).
 */
#include "tc_test.h"

#include "tricolor.h"

TC_TEST(allocation_before_tc_init_is_fatal)
{
    TC_EXPECT_DEATH(tc_alloc_noscan(16), "before tc_init");
    TC_EXPECT_DEATH(tc_alloc_conservative(100000), "before tc_init");
    /* object lookup is harmless before tc_init: nothing is a heap object */
    int x;
    CHECK(tc_object_base(&x) == NULL);
    CHECK_EQ(tc_object_size(&x), 0);
    tc_stats st;
    tc_read_stats(&st);
    CHECK_EQ(st.heap_mapped, 0);
    CHECK_EQ(st.heap_alloc_objects, 0);
}

TC_TEST_MAIN()
