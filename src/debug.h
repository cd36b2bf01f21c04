/*
 * debug.h — the TC_DEBUG knobs, modelled on GODEBUG.
 *
 * tc_debug is written only by debug_parse, during tc_init (before any other
 * thread of the library exists) or by tests before they start threads; it is
 * read without synchronisation everywhere else.
 */
#ifndef TC_DEBUG_H
#define TC_DEBUG_H

typedef struct tc_debug_knobs {
    int gctrace;        /* 1: one line per GC cycle on stderr */
    int gccheckmark;    /* 1: verify each mark with a stop-the-world re-mark */
    int gcstoptheworld; /* 1: mark with the world stopped; 2: sweep too */
    int clobberfree;    /* 1: fill freed objects with a pattern */
    int invalidptr;     /* 1 (default): a bad pointer in a precise slot is fatal */
    int scavtrace;      /* 1: one line per scavenger cycle */
    int rootcheck;      /* 1: look for heap pointers in unregistered unmanaged memory */
    int fixalloccheck;  /* 1: fixalloc frees are checked (double / foreign free) */
    int gcstress;       /* N > 0: collect every N allocations */
    int gcmarkers;      /* N > 0: number of mark workers; 0 means the CPU count */
    int hugepages;      /* 1 (default): ask for transparent huge pages on the heap */
    int gcidlemark;     /* 1 (default): CPUs no mutator uses mark in full (idle workers) */
} tc_debug_knobs;

extern tc_debug_knobs tc_debug;

/* Apply a comma-separated list of name=value settings. An unknown name or a
 * value that is not an integer gets one warning on stderr and is skipped. */
void debug_parse(const char *settings);

/* Restore every knob to its default (tests use this between cases). */
void debug_reset(void);

#endif
