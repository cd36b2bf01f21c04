/* tc_test.c — the harness behind tc_test.h. */
#include "tc_test.h"

#include <errno.h>
#include <fcntl.h>

#include "tricolor.h"

struct tc_test_case tc_test_cases[TC_TEST_MAX];
int tc_test_ncases;

uint64_t tc_test_seed(void)
{
    static uint64_t seed;
    if (seed == 0) {
        const char *s = getenv("TC_TEST_SEED");
        if (s != NULL) seed = strtoull(s, NULL, 0);
        if (seed == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            seed = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
            if (seed == 0) seed = 1;
        }
        printf("seed: TC_TEST_SEED=%" PRIu64 "\n", seed);
        fflush(stdout);
    }
    return seed;
}

int tc_test_soak(void)
{
    const char *s = getenv("TC_SOAK");
    return s != NULL && strcmp(s, "0") != 0;
}

double tc_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *tc_test_capture_stderr(void (*fn)(void))
{
    static char buf[64 << 10];
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    char path[] = "/tmp/tc_test_stderr_XXXXXX";
    int fd = mkstemp(path);
    CHECK(saved >= 0 && fd >= 0);
    unlink(path);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
    return buf;
}

pid_t tc_test_fork_child(int *read_fd)
{
    int fds[2];
    if (pipe(fds) != 0) TC_FAIL("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) TC_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        /* No core files from expected aborts. */
        signal(SIGABRT, SIG_DFL);
        return 0;
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

void tc_test_check_death(pid_t pid, int read_fd, const char *substr, const char *what,
                         const char *file, int line)
{
    static char buf[16384];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(read_fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n == sizeof buf - 1) break;
    }
    buf[n] = 0;
    close(read_fd);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
        fprintf(stderr, "%s:%d: FAILED: %s did not abort (status %#x); it printed:\n%s\n", file,
                line, what, status, buf);
        exit(1);
    }
    if (strstr(buf, substr) == NULL || strstr(buf, "tricolor: fatal error: ") == NULL) {
        fprintf(stderr, "%s:%d: FAILED: %s aborted without \"%s\"; it printed:\n%s\n", file, line,
                what, substr, buf);
        exit(1);
    }
    /* The fatal message is one line. */
    const char *msg = strstr(buf, "tricolor: fatal error: ");
    const char *nl = strchr(msg, '\n');
    if (nl == NULL || strstr(nl + 1, "tricolor: fatal error") != NULL) {
        fprintf(stderr, "%s:%d: FAILED: %s: fatal message is not one line:\n%s\n", file, line, what,
                buf);
        exit(1);
    }
}

int tc_test_join(pthread_t t, void **ret)
{
    tc_blocking_enter();
    int r = pthread_join(t, ret);
    tc_blocking_leave();
    return r;
}

void tc_test_init_collection_off(void)
{
    static int done;
    if (done) return;
    done = 1;
    tc_config c;
    tc_config_default(&c);
    c.gc_percent = -1;
    tc_init(&c);
}

int tc_test_main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 0; i < tc_test_ncases; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int j = 1; j < argc; j++)
                if (strcmp(argv[j], tc_test_cases[i].name) == 0) wanted = 1;
            if (!wanted) continue;
        }
        double t0 = tc_test_now();
        printf("%-60s ", tc_test_cases[i].name);
        fflush(stdout);
        tc_test_cases[i].fn();
        printf("ok (%.3fs)\n", tc_test_now() - t0);
        fflush(stdout);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 1;
    }
    printf("%d cases passed\n", ran);
    return 0;
}
