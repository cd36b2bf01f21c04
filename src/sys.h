/*
 * sys.h — the OS memory layer: Go's address-space state machine.
 *
 *   None --reserve--> Reserved --map--> Prepared --used--> Ready
 *   Ready --unused--> Prepared        Ready --fault--> Reserved (debug)
 *   any --free--> None
 *
 * Reserved: address space only (PROT_NONE), touching it faults, not counted.
 * Prepared: mapped read-write but not meant to be backed; contents undefined
 *           (after sys_unused the kernel hands back zero pages on Linux).
 * Ready:    backed and safe to use.
 *
 * Every byte in Prepared or Ready is charged to a tc_sysstat. Bytes in Ready
 * are also counted in sys_mapped_ready(): the figure a memory limit compares
 * against. The functions take no lock and never allocate.
 */
#ifndef TC_SYS_H
#define TC_SYS_H

#include "runtime.h"

size_t sys_page_size(void);

/* None -> Ready. n is a multiple of the OS page size. Zeroed. NULL on ENOMEM. */
void *sys_alloc(size_t n, tc_sysstat *stat);
/* any -> None. The stat must be the one the bytes were charged to. */
void sys_free(void *v, size_t n, tc_sysstat *stat);
/* None -> Reserved, at the hint if the OS agrees. NULL when refused. */
void *sys_reserve(void *hint, size_t n);
/* None -> Reserved, with the base aligned to align (a power of two). */
void *sys_reserve_aligned(void *hint, size_t n, size_t align);
/* Reserved -> Prepared. Fatal when the OS refuses (out of memory). */
void sys_map(void *v, size_t n, tc_sysstat *stat);
/* Prepared -> Ready; idempotent on Ready. prepared: how many of the n bytes
 * really were Prepared (they move into mapped-ready). */
void sys_used(void *v, size_t n, size_t prepared);
/* Ready -> Prepared: the pages go back to the OS and read as zero after. */
void sys_unused(void *v, size_t n);
/* Ready -> Reserved: any access faults (debugging use-after-free). */
void sys_fault(void *v, size_t n);
/* Hints only: ask for, or against, transparent huge pages. */
void sys_hugepage(void *v, size_t n);
void sys_nohugepage(void *v, size_t n);

/* ---- heap (mheap.c): begin ---- */
/* Reserved -> None: give back address space that was reserved and never
 * mapped (a reservation that landed away from its hint). Not accounted. */
void sys_unreserve(void *v, size_t n);
/* ---- heap (mheap.c): end ---- */

/* Bytes currently in the Ready state. */
uint64_t sys_mapped_ready(void);

#endif
