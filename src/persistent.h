/*
 * persistent.h — the persistent allocator: small, aligned, zeroed blocks that
 * are never freed, for runtime metadata that lives as long as the process.
 */
#ifndef TC_PERSISTENT_H
#define TC_PERSISTENT_H

#include "runtime.h"

#define PERSISTENT_CHUNK_SIZE ((size_t)256 << 10) /* carved into small blocks */
#define PERSISTENT_MAX_BLOCK  ((size_t)64 << 10)  /* this and above: straight to sys */

/* See tc_persistent_alloc. NULL with errno ENOMEM when the OS refuses. */
void *persistent_alloc(size_t size, size_t align, tc_sysstat *stat);

/* Whether p lies inside a persistent chunk (a debugging aid: O(chunks)).
 * Blocks that bypassed the chunks (>= 64 KiB) are not found. */
bool persistent_contains(const void *p);

#endif
