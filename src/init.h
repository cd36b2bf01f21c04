/*
 * init.h — start-up state shared with the subsystems that tc_init starts.
 */
#ifndef TC_INIT_H
#define TC_INIT_H

#include "runtime.h"

/* The configuration tc_init was given, after environment and defaults.
 * Written once by tc_init before it starts any thread; read-only after. */
extern tc_config init_config;

/* Whether tc_init has run (acquire-load it before trusting init_config). */
bool init_done(void);

/* Parse a byte count with an optional B/KiB/MiB/GiB/TiB (or K/M/G/T) suffix.
 * Returns false when s is not one. */
bool init_parse_bytes(const char *s, int64_t *out);

#endif
