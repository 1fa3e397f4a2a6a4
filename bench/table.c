/*
 * table.c: prints the bench table and takes medians. See table.h.
 * Main thread only.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "table.h"

static struct {
    unsigned rows, met, missed, failed;
} tally;

#define ROW_FMT "%-44s %10s %-9s %10s  %-20s %8s  %-9s %s\n"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bench_median(double *v, size_t n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_quantile(const double *sorted, size_t n, double q)
{
    size_t i = (size_t)ceil(q * (double)n);
    return sorted[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

unsigned bench_runs(const bench_opts *opts, unsigned full)
{
    unsigned r = opts->runs ? opts->runs : opts->smoke ? 1 : full;
    return r > BENCH_MAX_RUNS ? BENCH_MAX_RUNS : r;
}

/* Four significant digits or so, never wider than 10 characters. */
static void fmt_num(char *buf, size_t len, double v)
{
    double a = fabs(v);

    if (!isfinite(v))
        snprintf(buf, len, "%s", isnan(v) ? "nan" : "inf");
    else if (a >= 1e9 || (a > 0 && a < 1e-3))
        snprintf(buf, len, "%.3e", v);
    else if (a >= 1000)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, len, "%.1f", v);
    else if (a >= 10)
        snprintf(buf, len, "%.2f", v);
    else
        snprintf(buf, len, "%.3f", v);
}

static double ratio_of(const bench_row *row, double figure, double baseline)
{
    return row->ratio == BENCH_SPEED ? baseline / figure : figure / baseline;
}

/* Writes the target's text; returns whether it is met (true without one). */
static bool judge(const bench_row *row, double figure, double ratio,
                  char *text, size_t len)
{
    char num[24];
    const bench_target *t = &row->target;

    fmt_num(num, sizeof num, t->value);
    switch (t->goal) {
    case BENCH_FIGURE_BELOW:
        snprintf(text, len, "< %s", num);
        return figure < t->value;
    case BENCH_RATIO_AT_LEAST:
        snprintf(text, len, ">= %sx", num);
        return ratio >= t->value;
    case BENCH_RATIO_AT_MOST:
        snprintf(text, len, "<= %sx", num);
        return ratio <= t->value;
    case BENCH_NO_TARGET:
    default:
        snprintf(text, len, "-");
        return true;
    }
}

void bench_begin(const bench_opts *opts)
{
    double load[1] = {-1.0};
    time_t now = time(NULL);
    char when[32];

    if (getloadavg(load, 1) != 1)
        load[0] = -1.0;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    printf("sluice bench (%s mode), %s: %ld cores online, load average %.2f "
           "at start\n",
           opts->smoke ? "smoke" : "full", when, sysconf(_SC_NPROCESSORS_ONLN),
           load[0]);
    printf("Each row: the median of its runs, figure and baseline measured "
           "back to back;\nratio = figure / baseline, or baseline / figure "
           "for rows in s (speed); see bench/README.md.\n\n");
    printf(ROW_FMT, "row", "figure", "unit", "baseline", "baseline is",
           "ratio", "target", "status");
}

void bench_report(const bench_row *row, double figure, double baseline)
{
    char f[24], b[24], r[24], t[32];
    double ratio = ratio_of(row, figure, baseline);
    bool has_target = row->target.goal != BENCH_NO_TARGET;
    bool met = judge(row, figure, ratio, t, sizeof t);

    fmt_num(f, sizeof f, figure);
    fmt_num(b, sizeof b, baseline);
    fmt_num(r, sizeof r, ratio);
    strcat(r, "x");
    tally.rows++;
    if (has_target && met)
        tally.met++;
    else if (has_target)
        tally.missed++;
    printf(ROW_FMT, row->name, f, row->unit, b, row->baseline, r, t,
           !has_target ? "-" : met ? "met" : "MISSED");
    fflush(stdout);
}

void bench_fail(const char *name, const char *why)
{
    tally.rows++;
    tally.failed++;
    printf("%-44s FAILED: %s\n", name, why);
    fflush(stdout);
}

int bench_measure(const bench_row *row, unsigned runs, bench_run_fn run,
                  void *ctx)
{
    double fig[BENCH_MAX_RUNS], base[BENCH_MAX_RUNS];
    char why[256];

    if (runs == 0)
        runs = 1;
    if (runs > BENCH_MAX_RUNS)
        runs = BENCH_MAX_RUNS;
    for (unsigned i = 0; i < runs; i++) {
        bench_pair p;
        why[0] = '\0';
        if (run(ctx, &p, why, sizeof why) != 0) {
            bench_fail(row->name, why[0] ? why : "the run failed");
            return -1;
        }
        fig[i] = p.figure;
        base[i] = p.baseline;
    }
    bench_report(row, bench_median(fig, runs), bench_median(base, runs));
    return 0;
}

int bench_summary(void)
{
    printf("\n%u rows: %u targets met, %u MISSED, %u without a target, "
           "%u FAILED\n",
           tally.rows, tally.met, tally.missed,
           tally.rows - tally.met - tally.missed - tally.failed, tally.failed);
    return tally.failed ? 1 : 0;
}
