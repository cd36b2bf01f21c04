/*
 * markroot.h — root jobs (markroot.c).
 */
#ifndef TC_MARKROOT_H
#define TC_MARKROOT_H

#include "gcwork.h"
#include "runtime.h"

/* Build the job table (world stopped). Takes roots_lock until markroot_done. */
void markroot_prepare(void);
void markroot_done(void);

/* Claim the next job and run it; false when every job is claimed. */
bool markroot_claim_and_run(gcwork *w);
/* Make every job claimable again (the checkmark pass re-runs them). */
void markroot_rewind(void);
/* Whether unclaimed jobs remain. */
bool markroot_remaining(void);

/* Bytes of registered roots and thread stacks in this mark, and jobs. */
uint64_t markroot_bytes(void);
size_t markroot_njobs(void);

#endif
