/*
 * pacer.c — the heap goal and the collection trigger.
 *
 * Owns: GOGC (gc_percent), the soft memory limit, the inputs of the last
 * commit, and the goal and trigger computed from them.
 *
 * The goal (Go 1.18+'s formula, roots included):
 *     gogc_goal  = marked + (marked + roots) * GOGC / 100,
 *                  at least PACER_HEAP_MINIMUM * GOGC / 100;
 *     limit_goal = limit - overhead - headroom, headroom = max(3% of that, 1 MiB),
 *                  at least marked;
 *     goal       = min(gogc_goal, limit_goal); GOGC off: limit_goal alone.
 * The trigger: a cycle starts when heap_live reaches
 *     trigger = marked + (goal - marked) * trigger_frac,
 * where the collector sets trigger_frac after each cycle from
 * pacer_next_trigger (early enough that marking, at the allocation rate it
 * just saw, ends at the goal; at least 0.7 as in Go, or less after marks that
 * idle CPUs did, at most 0.95); 1.0 with the world-stopped collector, which
 * needs no runway. Before any cycle: 0.875.
 *
 * Concurrency: settings, goal and trigger are relaxed atomics: the
 * allocation slow path reads the trigger without a lock, and a stale value
 * only moves a collection by one allocation. pacer_commit and the setters
 * serialise on pacer_mu (runtime.h's lock order: a leaf), so a setter and a
 * commit never interleave their read-compute-publish.
 */
#include "pacer.h"

static tc_mutex pacer_mu = TC_MUTEX_INIT;
static _Atomic int gc_percent = 100;
static _Atomic int64_t memory_limit = INT64_MAX;
static _Atomic uint64_t heap_goal = PACER_HEAP_MINIMUM, heap_trigger = PACER_HEAP_MINIMUM;
static pacer_inputs last;           /* under pacer_mu */
static double trigger_frac = 0.875; /* under pacer_mu: where between marked and goal */

uint64_t pacer_compute_goal(const pacer_inputs *in, int percent, int64_t limit)
{
    uint64_t goal = PACER_GOAL_NONE;
    if (percent >= 0) {
        uint64_t p = (uint64_t)percent;
        goal = in->heap_marked + (in->heap_marked + in->root_bytes) * p / 100;
        uint64_t floor = PACER_HEAP_MINIMUM * p / 100;
        if (goal < floor) goal = floor;
    }
    if (limit != INT64_MAX) {
        uint64_t l = limit < 0 ? 0 : (uint64_t)limit;
        uint64_t avail = l > in->overhead ? l - in->overhead : 0;
        uint64_t headroom = avail / 100 * 3;
        if (headroom < ((uint64_t)1 << 20)) headroom = (uint64_t)1 << 20;
        uint64_t limit_goal = avail > headroom ? avail - headroom : 0;
        if (limit_goal < in->heap_marked) limit_goal = in->heap_marked;
        if (limit_goal < goal) goal = limit_goal;
    }
    return goal;
}

static void recompute_locked(void)
{
    uint64_t goal = pacer_compute_goal(&last, atomic_load(&gc_percent), atomic_load(&memory_limit));
    atomic_store_explicit(&heap_goal, goal, memory_order_relaxed);
    uint64_t trig = goal;
    if (goal != PACER_GOAL_NONE && goal > last.heap_marked)
        trig = last.heap_marked + (uint64_t)((double)(goal - last.heap_marked) * trigger_frac);
    atomic_store_explicit(&heap_trigger, trig, memory_order_relaxed);
}

void pacer_init(int percent, int64_t limit)
{
    tc_lock(&pacer_mu);
    atomic_store(&gc_percent, percent < 0 ? -1 : percent);
    atomic_store(&memory_limit, limit);
    last = (pacer_inputs){0};
    recompute_locked();
    tc_unlock(&pacer_mu);
}

void pacer_commit(const pacer_inputs *in)
{
    tc_lock(&pacer_mu);
    last = *in;
    recompute_locked();
    tc_unlock(&pacer_mu);
}

/* Start early enough that marking, at the allocation rate the last mark
 * saw, ends at the goal (the runway: that growth plus 10%), kept between a
 * floor and 95% of the way from the marked heap to the goal.
 *
 * The floor is Go's 70% when the workers keep to their 25% share: a cycle
 * that starts earlier marks longer beside allocation, everything allocated
 * meanwhile is black and counted live, and that raises the next goal (Go
 * keeps the floor for peak RSS). Starting later is paid by assists on the
 * mutators' threads. When idle CPUs did much of the marking, assists are
 * the only cost the program sees, so the floor drops to 10% while the next
 * goal, should this mark's black allocation be a whole runway, still fits in
 * the heap memory the process already holds (growing into it costs no RSS);
 * to 60% beyond that. docs/gc.md ("Pacing") has the measurements behind
 * the numbers. Known weakness: the goal doubles whatever a mark counted
 * live, black allocation included, so a long mark during a growth phase
 * sets a high goal: binary-trees' peak RSS lands above Boehm's in about 1
 * run in 8 on 2 CPUs (docs/gc.md, "Pacing", has the figures and what was
 * tried). */
uint64_t pacer_next_trigger(uint64_t marked, uint64_t goal, uint64_t grown, bool idle_marked,
                            uint64_t resident)
{
    if (goal == PACER_GOAL_NONE || goal <= marked) return goal;
    uint64_t span = goal - marked, runway = grown + grown / 10;
    uint64_t next_goal = goal + 2 * runway;
    uint64_t floor_pct = !idle_marked ? 70 : next_goal <= resident ? 10 : 60;
    uint64_t lo = marked + span / 100 * floor_pct, hi = marked + span / 100 * 95;
    uint64_t t = goal > runway ? goal - runway : 0;
    return t < lo ? lo : t > hi ? hi : t;
}

void pacer_set_trigger_fraction(double f)
{
    tc_lock(&pacer_mu);
    trigger_frac = f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
    recompute_locked();
    tc_unlock(&pacer_mu);
}

uint64_t pacer_goal(void) { return atomic_load_explicit(&heap_goal, memory_order_relaxed); }
uint64_t pacer_trigger(void) { return atomic_load_explicit(&heap_trigger, memory_order_relaxed); }
int pacer_gc_percent(void) { return atomic_load_explicit(&gc_percent, memory_order_relaxed); }
int64_t pacer_memory_limit(void)
{
    return atomic_load_explicit(&memory_limit, memory_order_relaxed);
}

int tc_set_gc_percent(int percent)
{
    tc_lock(&pacer_mu);
    int old = atomic_load(&gc_percent);
    atomic_store(&gc_percent, percent < 0 ? -1 : percent);
    recompute_locked();
    tc_unlock(&pacer_mu);
    return old;
}

int64_t tc_set_memory_limit(int64_t bytes)
{
    tc_lock(&pacer_mu);
    int64_t old = atomic_load(&memory_limit);
    if (bytes >= 0) {
        atomic_store(&memory_limit, bytes);
        recompute_locked();
    }
    tc_unlock(&pacer_mu);
    return old;
}

double pacer_assist_work_per_byte(uint64_t expected, uint64_t done, uint64_t triggered,
                                  uint64_t goal, uint64_t hard_goal, uint64_t live)
{
    if (done > expected) {
        /* More work than the last cycle's: pace for the worst case, the
         * whole heap as it was when marking began (what is allocated since
         * is black and never scanned: Go's heapScan, fixed at the start),
         * extrapolating the goal along the same slope, at most to the hard
         * goal. */
        uint64_t worst = triggered > expected ? triggered : expected;
        double ext = (double)triggered + (double)(goal > triggered ? goal - triggered : 0) /
                                             (double)expected * (double)worst;
        goal = ext > (double)hard_goal ? hard_goal : (uint64_t)ext;
        expected = worst;
    }
    /* Already past even that: 10% more runway and no further, as Go's
     * maxOvershoot. The limit is fixed, so the closer the heap gets to it,
     * the more each byte costs (the runway is floored at 1 MiB, where one
     * assist's bound takes over); a limit that moved with the heap (10%
     * above it) charged the same price at any size and let a mark that fell
     * behind carry the heap on without bound. */
    if (live >= goal) {
        goal += goal / 10;
        if (expected < triggered) expected = triggered;
    }
    if (goal < live || goal - live < PACER_ASSIST_MIN_RUNWAY) goal = live + PACER_ASSIST_MIN_RUNWAY;
    uint64_t remaining = expected > done ? expected - done : 0;
    if (remaining < ((uint64_t)64 << 10)) remaining = (uint64_t)64 << 10;
    return (double)remaining / (double)(goal - live);
}
