/*
 * markroot.h — root jobs (markroot.c).
 */
#ifndef TC_MARKROOT_H
#define TC_MARKROOT_H

#include "gcwork.h"
#include "runtime.h"

struct tc_root;

/* Tables of jobs. The stop-time ones (world stopped) hold roots_lock until
 * markroot_done. */
void markroot_prepare_stw(bool with_barriered); /* stacks, plain roots (and barriered) */
void markroot_prepare_all(void);                /* everything: for gccheckmark */
void markroot_prepare_rescan(void);             /* stacks of signal-stopped threads */
void markroot_prepare_concurrent(void);         /* barriered roots, world running */
void markroot_done(void);
/* An empty table (a mark round with no root jobs). */
void markroot_clear(void);

/* Claim the next job and run it; false when every job is claimed. */
bool markroot_claim_and_run(gcwork *w);
/* Make every job claimable again (the checkmark pass re-runs them). */
void markroot_rewind(void);
/* Whether unclaimed jobs remain. */
bool markroot_remaining(void);

/* Bytes of registered roots and thread stacks in the last stop-time table. */
uint64_t markroot_bytes(void);

/* Shade everything root r points to (tc_root_unregister during marking). */
void markroot_shade_root(const struct tc_root *r, gcwork *w);

#endif
