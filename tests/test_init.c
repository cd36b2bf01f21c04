/* test_init.c — start-up: configuration from defaults, environment and the
 * caller; TC_DEBUG parsing; the fatal-error line. */
#include <errno.h>
#include <fcntl.h>

#include "debug.h"
#include "init.h"
#include "tc_test.h"

static void parse_good(void)
{
    debug_parse("gctrace=1,gcstress=25,,invalidptr=0,hugepages=0,gcidlemark=1");
}
static void parse_bad(void) { debug_parse("nosuch=1,gctrace=x,gcmarkers,clobberfree=2"); }

TC_TEST(tc_debug_sets_known_knobs)
{
    debug_reset();
    const char *out = tc_test_capture_stderr(parse_good);
    CHECK_EQ(strlen(out), 0);
    CHECK_EQ(tc_debug.gctrace, 1);
    CHECK_EQ(tc_debug.gcstress, 25);
    CHECK_EQ(tc_debug.invalidptr, 0);
    CHECK_EQ(tc_debug.hugepages, 0);
    CHECK_EQ(tc_debug.gcidlemark, 1);
    debug_reset();
    CHECK_EQ(tc_debug.invalidptr, 1);
    CHECK_EQ(tc_debug.hugepages, 1);
    CHECK_EQ(tc_debug.gcidlemark, 0);
    CHECK_EQ(tc_debug.gctrace, 0);
}

TC_TEST(tc_debug_warns_once_per_bad_item_and_keeps_going)
{
    debug_reset();
    const char *out = tc_test_capture_stderr(parse_bad);
    CHECK(strstr(out, "tricolor: warning: TC_DEBUG: unknown setting 'nosuch'") != NULL);
    CHECK(strstr(out, "bad value in 'gctrace=x'") != NULL);
    CHECK(strstr(out, "'gcmarkers' is not name=value") != NULL);
    int lines = 0;
    for (const char *p = out; *p; p++) lines += *p == '\n';
    CHECK_EQ(lines, 3);
    CHECK_EQ(tc_debug.gctrace, 0);
    CHECK_EQ(tc_debug.clobberfree, 2); /* the good item after the bad ones applied */
    debug_reset();
}

TC_TEST(byte_counts_parse_with_suffixes)
{
    int64_t v;
    CHECK(init_parse_bytes("0", &v) && v == 0);
    CHECK(init_parse_bytes("512MiB", &v) && v == (int64_t)512 << 20);
    CHECK(init_parse_bytes("3GiB", &v) && v == (int64_t)3 << 30);
    CHECK(init_parse_bytes("7K", &v) && v == 7 << 10);
    CHECK(init_parse_bytes("100B", &v) && v == 100);
    CHECK(!init_parse_bytes("", &v));
    CHECK(!init_parse_bytes("-5", &v));
    CHECK(!init_parse_bytes("12XB", &v));
    CHECK(!init_parse_bytes("99999999999TiB", &v));
}

static void config_from_env(void)
{
    tc_config c;
    setenv("TC_GOGC", "off", 1);
    setenv("TC_MEMLIMIT", "64MiB", 1);
    tc_config_default(&c);
    if (c.gc_percent != -1 || c.memory_limit != (int64_t)64 << 20) abort();
    setenv("TC_GOGC", "250", 1);
    setenv("TC_MEMLIMIT", "lots", 1);
    tc_config_default(&c);
    if (c.gc_percent != 250 || c.memory_limit != INT64_MAX) abort();
    unsetenv("TC_GOGC");
    unsetenv("TC_MEMLIMIT");
}

TC_TEST(config_reads_the_environment)
{
    const char *out = tc_test_capture_stderr(config_from_env);
    CHECK(strstr(out, "TC_MEMLIMIT=lots is not a byte count") != NULL);
    tc_config c;
    tc_config_default(&c);
    CHECK_EQ(c.gc_percent, 100);
    CHECK(c.memory_limit == INT64_MAX);
}

static void init_twice(void)
{
    tc_init(NULL);
    tc_init(NULL);
}

TC_TEST(tc_init_applies_config_and_refuses_a_second_call)
{
    /* In a child, so that this process's state stays untouched. */
    TC_EXPECT_DEATH(init_twice(), "tc_init called twice");
    int fd;
    pid_t pid = tc_test_fork_child(&fd);
    if (pid == 0) {
        tc_config c;
        tc_config_default(&c);
        c.gc_percent = 42;
        c.debug = "gccheckmark=1";
        tc_init(&c);
        _exit(init_done() && init_config.gc_percent == 42 && tc_debug.gccheckmark == 1 ? 0 : 3);
    }
    close(fd);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TC_TEST(throw_prints_one_line_and_aborts)
{
    TC_EXPECT_DEATH(tc_throw("bad span %p state %d", (void *)0x1234, 7),
                    "tricolor: fatal error: bad span 0x1234 state 7");
}

TC_TEST_MAIN()
