/*
 * table.h: the one table `make bench` prints, and the measuring helpers
 * every bench section shares.
 *
 * A row is a figure, the baseline it is compared with (measured in the
 * same run, back to back, so both see the same machine and load), their
 * ratio, a target where issue 9 sets one, and whether the target is met.
 * Rows print as soon as they are measured; bench_summary() closes the
 * table with the count of met, MISSED and failed rows.
 *
 * Everything here runs on the bench's main thread.
 */
#ifndef SLUICE_BENCH_TABLE_H
#define SLUICE_BENCH_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the command line asked for. */
typedef struct bench_opts {
    bool smoke;            /* tiny inputs, one run a row: CI's smoke test */
    unsigned runs;         /* runs per row (median); 0: each row's default */
    const char *cache_dir; /* where generated inputs are kept */
    const char *only;      /* comma-separated section names, or NULL */
} bench_opts;

/* Which way a row's ratio is taken. */
typedef enum bench_ratio {
    BENCH_COST = 0, /* figure / baseline: the figure costs that many baselines
                       (or, for rates, reaches that share of the baseline) */
    BENCH_SPEED = 1 /* baseline / figure: that many times faster than the
                       baseline (the figure and baseline are times) */
} bench_ratio;

/* What a row must reach. */
typedef enum bench_goal {
    BENCH_NO_TARGET = 0,   /* issue 9 sets none: printed as "-" */
    BENCH_FIGURE_BELOW,    /* figure < value */
    BENCH_RATIO_AT_LEAST,  /* ratio >= value */
    BENCH_RATIO_AT_MOST    /* ratio <= value */
} bench_goal;

typedef struct bench_target {
    bench_goal goal;
    double value;
} bench_target;

/* How a row is labelled. The strings must outlive the call that prints
 * the row. */
typedef struct bench_row {
    const char *name;     /* what is measured, up to 44 characters */
    const char *unit;     /* the unit of the figure and the baseline */
    const char *baseline; /* what the baseline is, up to 20 characters */
    bench_ratio ratio;
    bench_target target;
} bench_row;

/* One run of a row: the figure and its baseline. */
typedef struct bench_pair {
    double figure, baseline;
} bench_pair;

/* Measures one run of a row into *out. Returns 0, or -1 after writing a
 * one-line reason into why (why_len bytes). */
typedef int (*bench_run_fn)(void *ctx, bench_pair *out, char *why,
                            size_t why_len);

/* The most runs a row is the median of. */
#define BENCH_MAX_RUNS 31

/* Prints the table's heading: the mode, the machine and its load. */
void bench_begin(const bench_opts *opts);

/* Runs `run` `runs` times (capped at BENCH_MAX_RUNS), takes the median of
 * the figures and, separately, of the baselines, and prints the row. A
 * failing run prints the row as FAILED with its reason and stops the row.
 * Returns 0, or -1 when the row failed. */
int bench_measure(const bench_row *row, unsigned runs, bench_run_fn run,
                  void *ctx);

/* Prints a row whose figure and baseline the caller computed (latency
 * percentiles, or a figure derived from another row). */
void bench_report(const bench_row *row, double figure, double baseline);

/* Prints a row that could not be measured: its name, FAILED and why. The
 * program's exit status becomes 1. */
void bench_fail(const char *name, const char *why);

/* Closes the table with one line counting met, MISSED and failed rows.
 * Returns the exit status: 1 when a row failed (a missed target is a
 * result, not a failure), else 0. */
int bench_summary(void);

/* The runs for a row: the --runs option if given, 1 in smoke mode,
 * otherwise `full`. */
unsigned bench_runs(const bench_opts *opts, unsigned full);

/* Median of n values; sorts v. n must be at least 1. */
double bench_median(double *v, size_t n);

/* The value at fraction q (0..1) of n sorted values (nearest rank). */
double bench_quantile(const double *sorted, size_t n, double q);

/* Sorts n doubles ascending. */
void bench_sort(double *v, size_t n);

/* Monotonic wall clock, in seconds. */
double bench_now(void);

/* A deterministic pseudo-random generator (xorshift32); state never 0. */
static inline uint32_t bench_rand(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif /* SLUICE_BENCH_TABLE_H */
