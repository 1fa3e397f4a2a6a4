/*
 * source_fixture.c: what the source suite's tests share: a private
 * temporary directory, a test signal, libsndfile writing and reading,
 * readers over files, and a player's source served from an array.
 * Runs on the test thread only.
 */
#include "config.h"

#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <sndfile.h>

#include <sluice/error.h>
#include "source_fixture.h"

char st_dir[64];
char st_why[SL__WHY_LEN];

int st_suite_init(void)
{
    strcpy(st_dir, "/tmp/sluice-source-XXXXXX");
    return mkdtemp(st_dir) == NULL ? -1 : 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int st_suite_cleanup(void)
{
    return nftw(st_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The path of `name` inside the suite's directory (a static buffer). */
const char *st_path(const char *name)
{
    static char p[2][128];
    static int which;
    which ^= 1;
    snprintf(p[which], sizeof p[which], "%s/%s", st_dir, name);
    return p[which];
}

/* A deterministic test signal: two sines and a little noise, quantised to
 * 16-bit steps (k / 32768) so every lossless format stores it exactly. */
float *make_signal(size_t frames, unsigned ch, unsigned rate)
{
    float *x = malloc(frames * ch * sizeof *x);
    unsigned lcg = 12345;
    for (size_t f = 0; f < frames; f++) {
        for (unsigned c = 0; c < ch; c++) {
            double t = (double)f / rate;
            lcg = lcg * 1103515245u + 12345u;
            double v = 0.4 * sin(2 * M_PI * (440.0 + 110.0 * c) * t) +
                       0.2 * sin(2 * M_PI * 1234.5 * t) +
                       0.01 * ((double)(lcg >> 16) / 32768.0 - 1.0);
            x[f * ch + c] = (float)(lrint(v * 32768.0) / 32768.0);
        }
    }
    return x;
}

/* Writes `x` (values k / 32768) to `path`: through the integer path for
 * integer PCM and lossless codecs (libsndfile scales float to 16-bit by
 * 32767 but back by 32768), as floats for float files and lossy codecs. */
int write_file(const char *path, int format, unsigned rate,
                      unsigned ch, const float *x, size_t frames)
{
    SF_INFO info = {.samplerate = (int)rate, .channels = (int)ch,
                    .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (sf == NULL)
        return -1;
    sf_count_t n;
    int sub = format & SF_FORMAT_SUBMASK;
    if (sub == SF_FORMAT_VORBIS || sub == SF_FORMAT_OPUS ||
        sub == SF_FORMAT_MPEG_LAYER_III || sub == SF_FORMAT_FLOAT ||
        sub == SF_FORMAT_DOUBLE) {
        n = sf_writef_float(sf, x, (sf_count_t)frames);
    } else {
        int *v = malloc(frames * ch * sizeof *v);
        for (size_t i = 0; i < frames * ch; i++)
            v[i] = (int)lrint(x[i] * 32768.0) * 65536;
        n = sf_writef_int(sf, v, (sf_count_t)frames);
        free(v);
    }
    sf_close(sf);
    return n == (sf_count_t)frames ? 0 : -1;
}

/* libsndfile's own float decode of a whole file. */
float *read_with_sndfile(const char *path, size_t *frames, unsigned *ch)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL)
        return NULL;
    float *x = malloc((size_t)(info.frames + 1) * info.channels * sizeof *x);
    *frames = (size_t)sf_readf_float(sf, x, info.frames);
    *ch = (unsigned)info.channels;
    sf_close(sf);
    return x;
}

/* Opens `path` as a reader at `rate` Hz and `ch` channels. */
sl__reader *open_reader(const char *path, unsigned rate, unsigned ch,
                               sl_resample_quality q)
{
    sl__source *s;
    sl__reader *r;
    int err = sl__source_open_file(&s, path, st_why, sizeof st_why);
    if (err != SL_OK) {
        fprintf(stderr, "\n%s: %s (%s)\n", path, sl_error_name(err), st_why);
        return NULL;
    }
    err = sl__reader_create(&r, s, rate, ch, q, st_why, sizeof st_why);
    if (err != SL_OK) {
        fprintf(stderr, "\n%s: %s (%s)\n", path, sl_error_name(err), st_why);
        return NULL;
    }
    return r;
}

/* Reads a reader to its end in uneven chunks. Sets *err to the first
 * error (or SL_OK) and returns the frames read before it. */
float *read_all(sl__reader *r, unsigned ch, size_t *frames, int *err)
{
    size_t cap = 4096, n = 0;
    float *x = malloc(cap * ch * sizeof *x);
    *err = SL_OK;
    for (;;) {
        if (n + 777 > cap) {
            cap *= 2;
            x = realloc(x, cap * ch * sizeof *x);
        }
        ptrdiff_t got = sl__reader_read(r, x + n * ch, 777);
        if (got < 0) {
            *err = (int)got;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *frames = n;
    return x;
}

/* ------------------------------------------------ a player's source */

static ptrdiff_t array_read(void *user, float *out, size_t frames)
{
    struct array_src *a = user;
    if (a->pos >= a->fail_at)
        return a->fail_err;
    size_t n = a->frames - a->pos;
    if (n > frames)
        n = frames;
    if (a->pos + n > a->fail_at)
        n = a->fail_at - a->pos;
    memcpy(out, a->x + a->pos * a->ch, n * a->ch * sizeof *out);
    a->pos += n;
    return (ptrdiff_t)n;
}

static int array_seek(void *user, int64_t frame)
{
    struct array_src *a = user;
    a->pos = (size_t)frame;
    return SL_OK;
}

static int64_t array_length(void *user)
{
    return (int64_t)((struct array_src *)user)->frames;
}

static int array_format(void *user, sl_source_format *fmt)
{
    struct array_src *a = user;
    fmt->rate = a->rate;
    fmt->channels = a->ch;
    return SL_OK;
}

static void array_close(void *user)
{
    ((struct array_src *)user)->closed++;
}

const sl_source_vtable array_vtable = {
    .read = array_read,
    .seek = array_seek,
    .length = array_length,
    .format = array_format,
    .close = array_close,
};

/* A reader over an array source. */
sl__reader *array_reader(struct array_src *a, unsigned rate, unsigned ch,
                         sl_resample_quality q)
{
    sl__source *s;
    sl__reader *r;
    if (a->fail_at == 0)
        a->fail_at = SIZE_MAX;
    if (sl__source_open_vtable(&s, &array_vtable, a, st_why,
                               sizeof st_why) != 0)
        return NULL;
    if (sl__reader_create(&r, s, rate, ch, q, st_why, sizeof st_why) != 0)
        return NULL;
    return r;
}

/* The bytes of a file, for the memory source. */
unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*size);
    if (fread(b, 1, *size, f) != *size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(b, 1, n, f), n);
    fclose(f);
}
