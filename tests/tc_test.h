/*
 * tc_test.h — the project's small test harness.
 *
 * A test file defines cases with TC_TEST(name) { ... } and ends with
 * TC_TEST_MAIN(). The executable runs every case in order, or only those
 * named on the command line. A failed CHECK prints file, line, the
 * expression and the values, then exits non-zero.
 *
 * Randomised cases take their seed from tc_test_seed(): it prints the seed
 * and honours TC_TEST_SEED, so a failure can be rerun exactly.
 * tc_test_soak() is true when TC_SOAK=1: stress cases then run longer.
 *
 * Death tests: TC_EXPECT_DEATH(stmt, "substring") runs stmt in a forked child
 * and checks that the child aborts with the substring on stderr. stmt must
 * hold no unparenthesised comma: put a longer scenario in a function.
 */
#ifndef TC_TEST_H
#define TC_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* TC_TEST_UNDER_TSAN: 1 in ThreadSanitizer builds, where a few cases must
 * step aside (TSan owns parts of the address space, and delivers signals
 * only at its interceptors); such a case prints why it skipped. */
#if defined(__SANITIZE_THREAD__)
#define TC_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TC_TEST_UNDER_TSAN 1
#endif
#endif
#ifndef TC_TEST_UNDER_TSAN
#define TC_TEST_UNDER_TSAN 0
#endif

typedef void (*tc_test_fn)(void);
struct tc_test_case {
    const char *name;
    tc_test_fn fn;
};

#define TC_TEST_MAX 256
extern struct tc_test_case tc_test_cases[TC_TEST_MAX];
extern int tc_test_ncases;

#define TC_TEST(name)                                                                              \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void tc_register_##name(void)                              \
    {                                                                                              \
        if (tc_test_ncases < TC_TEST_MAX)                                                          \
            tc_test_cases[tc_test_ncases++] = (struct tc_test_case){#name, name};                  \
    }                                                                                              \
    static void name(void)

#define TC_FAIL(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: FAILED: ", __FILE__, __LINE__);                                    \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        exit(1);                                                                                   \
    } while (0)

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) TC_FAIL("CHECK(%s)", #c);                                                        \
    } while (0)

#define CHECK_MSG(c, ...)                                                                          \
    do {                                                                                           \
        if (!(c)) TC_FAIL(__VA_ARGS__);                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        uint64_t tc_a_ = (uint64_t)(a), tc_b_ = (uint64_t)(b);                                     \
        if (tc_a_ != tc_b_)                                                                        \
            TC_FAIL("CHECK_EQ(%s, %s): %" PRIu64 " (%#" PRIx64 ") != %" PRIu64 " (%#" PRIx64 ")",  \
                    #a, #b, tc_a_, tc_a_, tc_b_, tc_b_);                                           \
    } while (0)

/* The seed of this run: TC_TEST_SEED if set, else from the clock. Printed once.
 * Not thread-safe: take it before starting threads. */
uint64_t tc_test_seed(void);
/* xorshift64*: deterministic per seed. */
static inline uint64_t tc_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
int tc_test_soak(void);
double tc_test_now(void); /* monotonic seconds */
/* Run fn with stderr going to a temporary file; what it wrote (at most
 * 64 KiB, NUL-terminated, in a buffer the next call reuses). */
const char *tc_test_capture_stderr(void (*fn)(void));

/* Death tests: the child runs with stderr redirected into a pipe that the
 * parent reads; the parent asserts the child died of SIGABRT with substr in
 * what it printed. */
pid_t tc_test_fork_child(int *read_fd);
void tc_test_check_death(pid_t pid, int read_fd, const char *substr, const char *what,
                         const char *file, int line);

#define TC_EXPECT_DEATH(stmt, substr)                                                              \
    do {                                                                                           \
        int tc_fd_;                                                                                \
        pid_t tc_pid_ = tc_test_fork_child(&tc_fd_);                                               \
        if (tc_pid_ == 0) {                                                                        \
            stmt;                                                                                  \
            _exit(0);                                                                              \
        }                                                                                          \
        tc_test_check_death(tc_pid_, tc_fd_, substr, #stmt, __FILE__, __LINE__);                   \
    } while (0)

/* pthread_join inside a blocking region, for attached threads: a stop never
 * waits on the joiner (and TSan's runtime can deadlock taking the stop
 * signal inside join). */
int tc_test_join(pthread_t t, void **ret);

/* tc_init once, with collection turned off (tests of the allocator that
 * hold objects only in memory the collector does not scan). */
void tc_test_init_collection_off(void);

int tc_test_main(int argc, char **argv);
#define TC_TEST_MAIN()                                                                             \
    int main(int argc, char **argv) { return tc_test_main(argc, argv); }

#endif
