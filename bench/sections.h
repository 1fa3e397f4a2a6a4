/*
 * sections.h: the parts of the bench table, one source file each, run in
 * this order by bench/main.c. Each prints its rows through table.h; what
 * it cannot measure (or set up) it prints as FAILED with bench_fail(),
 * which makes the program exit 1. Main thread; the sections start and
 * join their own threads.
 */
#ifndef SLUICE_BENCH_SECTIONS_H
#define SLUICE_BENCH_SECTIONS_H

#include "table.h"

/* The six-effect chain of the effects rows (and of the render rows that
 * run a chain), in sluice's chain text form. */
#define BENCH_CHAIN_6                                                          \
    "highpass 40; equalizer 3000 1 3; compress -18 3; echo 120 0.3 0.3; "      \
    "reverb 0.6; limit -1"

void bench_ring_rows(const bench_opts *opts);    /* bench_ring.c */
void bench_pool_rows(const bench_opts *opts);    /* bench_pool.c */
void bench_sched_rows(const bench_opts *opts);   /* bench_sched.c */
void bench_effects_rows(const bench_opts *opts); /* bench_effects.c */
void bench_render_rows(const bench_opts *opts);  /* bench_render.c */

#endif /* SLUICE_BENCH_SECTIONS_H */
