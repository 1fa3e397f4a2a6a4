/*
 * main.c: sluice-bench, the program `make bench` runs. Runs every section
 * of bench/sections.h in order and prints one table (bench/table.h).
 *
 *   bench/sluice-bench [--smoke] [--runs N] [--cache DIR] [--only LIST]
 *
 * --smoke      tiny inputs and one run a row, for CI (well under a minute)
 * --runs N     every row the median of N runs (default: per row, 3 to 5)
 * --cache DIR  where generated inputs are kept (default: bench)
 * --only LIST  run only these sections (comma-separated): ring, pool,
 *              scheduler, effects, render
 *
 * Exits 0 when every row was measured, whether or not it met its target;
 * 1 when a row could not be measured; 2 on a bad command line.
 * Main thread; the sections start their own threads.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sections.h"

typedef struct section {
    const char *name;
    void (*rows)(const bench_opts *opts);
} section;

static const section sections[] = {
    {"ring", bench_ring_rows},
    {"pool", bench_pool_rows},
    {"scheduler", bench_sched_rows},
    {"effects", bench_effects_rows},
    {"render", bench_render_rows},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static int usage(void)
{
    fprintf(stderr, "usage: sluice-bench [--smoke] [--runs N] [--cache DIR] "
                    "[--only SECTION,...]\nsections:");
    for (size_t s = 0; s < N_SECTIONS; s++)
        fprintf(stderr, " %s", sections[s].name);
    fprintf(stderr, "\n");
    return 2;
}

/* True when `name` is one of the comma-separated words of `list`. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

static int parse(int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--smoke") == 0) {
            o->smoke = true;
        } else if (strcmp(a, "--runs") == 0 && val) {
            char *end;
            long r = strtol(val, &end, 10);
            if (*end || r < 1 || r > BENCH_MAX_RUNS)
                return -1;
            o->runs = (unsigned)r;
            i++;
        } else if (strcmp(a, "--cache") == 0 && val) {
            o->cache_dir = val;
            i++;
        } else if (strcmp(a, "--only") == 0 && val) {
            o->only = val;
            i++;
        } else {
            return -1;
        }
    }
    if (o->only) {
        size_t known = 0;
        for (size_t s = 0; s < N_SECTIONS; s++)
            known += (size_t)listed(o->only, sections[s].name);
        if (known == 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {.cache_dir = "bench"};

    if (parse(argc, argv, &o) != 0)
        return usage();
    if (mkdir(o.cache_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "sluice-bench: cannot create %s: %s\n", o.cache_dir,
                strerror(errno));
        return 1;
    }
    bench_begin(&o);
    for (size_t s = 0; s < N_SECTIONS; s++)
        if (o.only == NULL || listed(o.only, sections[s].name))
            sections[s].rows(&o);
    return bench_summary();
}
