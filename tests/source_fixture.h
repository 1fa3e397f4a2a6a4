/*
 * source_fixture.h: what the source suite's tests share (see
 * source_fixture.c). Test thread only.
 */
#ifndef SLUICE_TESTS_SOURCE_FIXTURE_H
#define SLUICE_TESTS_SOURCE_FIXTURE_H

#include <stddef.h>
#include <sluice/source.h>
#include "reader.h"
#include "source_priv.h"

/* The suite's private directory and the reason buffer tests pass on. */
extern char st_dir[64];
extern char st_why[SL__WHY_LEN];

/* CUnit suite set-up and tear-down: make and remove st_dir. */
int st_suite_init(void);
int st_suite_cleanup(void);

/* The path of `name` inside st_dir (one of two rotating static buffers). */
const char *st_path(const char *name);

/* A deterministic signal of two sines and a little noise, every sample a
 * multiple of 1/32768 so each lossless format stores it exactly. */
float *make_signal(size_t frames, unsigned ch, unsigned rate);

/* Writes `x` to `path` with libsndfile in `format`. 0 or -1. */
int write_file(const char *path, int format, unsigned rate, unsigned ch,
               const float *x, size_t frames);

/* libsndfile's own float decode of a whole file (NULL if it fails). */
float *read_with_sndfile(const char *path, size_t *frames, unsigned *ch);

/* A reader of `path` at `rate` Hz and `ch` channels (NULL, reason on
 * stderr, if it fails). */
sl__reader *open_reader(const char *path, unsigned rate, unsigned ch,
                        sl_resample_quality q);

/* Reads to the end in uneven chunks; *err gets the error that ended it
 * (SL_OK at the end). Returns the frames read before that. */
float *read_all(sl__reader *r, unsigned ch, size_t *frames, int *err);

/* The bytes of a file (NULL if unreadable). */
unsigned char *slurp(const char *path, size_t *size);

/* Writes `n` bytes to `path`. */
void write_bytes(const char *path, const void *b, size_t n);

/* Serves frames from an array; fails with `fail_err` at `fail_at`. */
struct array_src {
    const float *x;
    size_t frames, pos, fail_at;
    unsigned ch, rate;
    int fail_err;
    int closed;
};

/* Serves a struct array_src (read, seek, length, format, close). */
extern const sl_source_vtable array_vtable;

/* A reader over an array source (fail_at 0 means never fail). */
sl__reader *array_reader(struct array_src *a, unsigned rate, unsigned ch,
                         sl_resample_quality q);

#endif /* SLUICE_TESTS_SOURCE_FIXTURE_H */
