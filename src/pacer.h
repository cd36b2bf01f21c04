/*
 * pacer.h — when to collect: the heap goal (GOGC and the soft memory limit)
 * and the trigger.
 */
#ifndef TC_PACER_H
#define TC_PACER_H

#include "runtime.h"

#define PACER_HEAP_MINIMUM ((uint64_t)4 << 20) /* goal floor at GOGC=100, scaled by GOGC */
#define PACER_GOAL_NONE    UINT64_MAX          /* GOGC off and no memory limit */

/* The figures a goal is computed from. */
typedef struct pacer_inputs {
    uint64_t heap_marked; /* bytes marked live by the last cycle */
    uint64_t root_bytes;  /* scannable root bytes (stacks, registered roots) */
    uint64_t overhead;    /* bytes the library holds from the OS besides heap objects */
} pacer_inputs;

/* Set GOGC and the limit from the configuration; compute the first goal. */
void pacer_init(int gc_percent, int64_t memory_limit);

/* After a mark: remember the inputs and compute the next goal and trigger. */
void pacer_commit(const pacer_inputs *in);

/* Where the trigger sits between the marked heap (0) and the goal (1); the
 * collector sets it after each cycle from pacer_next_trigger (the world
 * stopped, so the fraction stays right when GOGC changes later); 1.0 for
 * the stop-the-world collector. Clamped to [0, 1]. Default 0.875. */
void pacer_set_trigger_fraction(double f);

/* The current heap goal and trigger, in bytes of live heap (heap_live). */
uint64_t pacer_goal(void);
uint64_t pacer_trigger(void);
int pacer_gc_percent(void);
int64_t pacer_memory_limit(void);

/* The goal for given inputs and settings (pure; exposed for tests). */
uint64_t pacer_compute_goal(const pacer_inputs *in, int gc_percent, int64_t memory_limit);

/* Scan work an assist owes per byte allocated during a mark (Go's revise;
 * pure; exposed for tests): the scan work expected of the cycle, the work
 * done so far, heap_live when the cycle began (triggered), the goal and the
 * most it may be extrapolated to (hard_goal), and heap_live now. */
#define PACER_ASSIST_MIN_RUNWAY ((uint64_t)1 << 20)
double pacer_assist_work_per_byte(uint64_t expected, uint64_t done, uint64_t triggered,
                                  uint64_t goal, uint64_t hard_goal, uint64_t live);

/* The concurrent collector's trigger for the next cycle, in bytes (pure;
 * pacer.c says how). marked and goal: the cycle just ended; grown: how much
 * the heap grew while it marked, scaled to what the workers alone would have
 * allowed; idle_marked: idle CPUs did a good part of that mark; resident:
 * heap bytes the process already holds (mheap_resident_bytes). */
uint64_t pacer_next_trigger(uint64_t marked, uint64_t goal, uint64_t grown, bool idle_marked,
                            uint64_t resident);

#endif
