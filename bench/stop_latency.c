/*
 * stop_latency.c — how long threads_stop_world takes to stop N threads.
 *
 *   build/bench/bench_stop_latency [rounds]
 *
 * For N = 1, 2, 4, 8 threads of three kinds — spinning without any call
 * (must be signalled), spinning through tc_safepoint (park on their own),
 * blocked in read() outside a blocking region (signalled; the read restarts)
 * — stops and restarts the world `rounds` times and prints the latency from
 * the request to the last thread stopped: median, 99th percentile, maximum.
 * With more threads than cores the figures include scheduling delays.
 */
#define _GNU_SOURCE 1
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

enum kind { SPIN, SAFEPOINT, READ, NKINDS };
static const char *kind_name[] = {"spin, no calls", "spin + tc_safepoint", "blocked in read"};

static atomic_int quit;
static int pipes[2];

static void *worker(void *arg)
{
    enum kind k = (enum kind)(intptr_t)arg;
    volatile uint64_t n = 0;
    switch (k) {
    case SPIN:
        while (!atomic_load_explicit(&quit, memory_order_relaxed)) n++;
        break;
    case SAFEPOINT:
        while (!atomic_load_explicit(&quit, memory_order_relaxed)) {
            n++;
            tc_safepoint();
        }
        break;
    case READ: {
        char c;
        while (read(pipes[0], &c, 1) < 0) {}
        break;
    }
    default:
        break;
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 500;
    if (rounds < 1) rounds = 1;
    tc_init(NULL);
    if (pipe(pipes) != 0) return 1;
    uint64_t *ns = calloc((size_t)rounds, sizeof *ns);
    printf("stop latency, %d rounds, %ld CPUs (microseconds)\n", rounds,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-22s %3s %9s %9s %9s %12s\n", "threads", "N", "median", "p99", "max", "signals/stop");
    for (int k = 0; k < NKINDS; k++) {
        for (int n = 1; n <= 8; n *= 2) {
            pthread_t th[8];
            atomic_store(&quit, 0);
            for (int i = 0; i < n; i++)
                tc_pthread_create(&th[i], NULL, worker, (void *)(intptr_t)k);
            struct timespec settle = {0, 20 * 1000 * 1000};
            nanosleep(&settle, NULL);
            threads_stop_stats s0, s1;
            threads_read_stop_stats(&s0);
            for (int r = 0; r < rounds; r++) {
                threads_stop_world("bench");
                ns[r] = threads_last_stop_ns();
                threads_start_world();
                struct timespec gap = {0, 200 * 1000};
                nanosleep(&gap, NULL);
            }
            threads_read_stop_stats(&s1);
            qsort(ns, (size_t)rounds, sizeof *ns, cmp_u64);
            printf("%-22s %3d %9.1f %9.1f %9.1f %12.2f\n", kind_name[k], n,
                   (double)ns[rounds / 2] / 1e3, (double)ns[(size_t)rounds * 99 / 100] / 1e3,
                   (double)ns[rounds - 1] / 1e3, (double)(s1.nsignals - s0.nsignals) / rounds);
            atomic_store(&quit, 1);
            if (k == READ)
                for (int i = 0; i < n; i++)
                    if (write(pipes[1], "x", 1) != 1) return 1;
            for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        }
    }
    free(ns);
    return 0;
}
