/*
 * reader.c: source -> channel map -> libsamplerate -> engine frames.
 *
 * The channel map runs before the resampler, so a 5.1 file is resampled as
 * two channels, not six. Samples travel in blocks of SL__READER_BLOCK
 * source frames through buffers allocated at create; read() only moves
 * data between them.
 *
 * Threads: create and destroy on a control thread; read and seek on the
 * worker that owns the reader (see reader.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <samplerate.h>

#include <sluice/error.h>
#include "reader.h"

/* -3 dB, the BS.775 fold-down gain of centre and surround channels. */
#define G3 0.70710678f

/* Above this many source frames per grid step a seek lands on the nearest
 * source frame instead of on the grid (see sl__reader_seek()). */
#define MAX_GRID_STEP 8192

/* Source frames resampled and dropped before a seek target so that the
 * converter's filter is full again (in output-rate terms; scaled up when
 * downsampling, where the filter is longer in source frames). */
#define SEEK_PRIME 256

enum map_kind { MAP_COPY, MAP_MONO_UP, MAP_MATRIX };

struct sl__reader {
    sl__source *src;
    unsigned in_rate, in_ch, out_rate, out_ch;
    double ratio;            /* out_rate / in_rate */
    SRC_STATE *rs;           /* NULL when the rates are equal */
    float *raw;              /* BLOCK x in_ch: straight from the source */
    float *mapped;           /* BLOCK x out_ch: mapped, before resampling */
    float *scratch;          /* BLOCK x out_ch: frames a seek drops */
    size_t mapped_off, mapped_avail;
    bool src_end;            /* the source returned 0 */
    bool rs_done;            /* the resampler has been flushed */
    int pending;             /* an error to return on the next read */
    int64_t in_length, out_length, position;
    int64_t grid_in, grid_out; /* smallest whole step of both rates */
    enum map_kind map;
    float matrix[SL_MAX_CHANNELS][SL_MAX_CHANNELS]; /* [out][in] */
    char why[SL__WHY_LEN];
};

static void say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
    if (why == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- map */

/* Gains of each input channel into (left, right) for the WAVE layouts of
 * 2..8 channels; NULL for counts without one. Row n-2 is n channels. */
static const float stereo_layouts[7][8][2] = {
    /* 2: L R */
    {{1, 0}, {0, 1}},
    /* 3: L R C */
    {{1, 0}, {0, 1}, {G3, G3}},
    /* 4: quad, L R Ls Rs */
    {{1, 0}, {0, 1}, {G3, 0}, {0, G3}},
    /* 5: 5.0, L R C Ls Rs */
    {{1, 0}, {0, 1}, {G3, G3}, {G3, 0}, {0, G3}},
    /* 6: 5.1, L R C LFE Ls Rs */
    {{1, 0}, {0, 1}, {G3, G3}, {0, 0}, {G3, 0}, {0, G3}},
    /* 7: 6.1, L R C LFE Cs Ls Rs; Cs split into both surrounds, then
     * folded: 0.7071 x 0.7071 = 0.5 */
    {{1, 0}, {0, 1}, {G3, G3}, {0, 0}, {0.5f, 0.5f}, {G3, 0}, {0, G3}},
    /* 8: 7.1, L R C LFE Lb Rb Ls Rs */
    {{1, 0}, {0, 1}, {G3, G3}, {0, 0}, {G3, 0}, {0, G3}, {G3, 0}, {0, G3}},
};

/* Fills r->matrix for in_ch > 1 channels into out_ch != in_ch. */
static void build_matrix(sl__reader *r)
{
    unsigned in = r->in_ch, out = r->out_ch;
    bool layout = in >= 2 && in <= 8;

    memset(r->matrix, 0, sizeof r->matrix);
    if (out <= 2 && layout) {
        const float (*g)[2] = stereo_layouts[in - 2];
        for (unsigned i = 0; i < in; i++)
            for (unsigned o = 0; o < 2; o++)
                r->matrix[o][i] = g[i][o];
        if (out == 1)
            for (unsigned i = 0; i < in; i++)
                r->matrix[0][i] = 0.5f * (g[i][0] + g[i][1]);
    } else if (in < out) {
        for (unsigned i = 0; i < in; i++)
            r->matrix[i][i] = 1.0f;
    } else {
        /* No standard layout: output o averages inputs o, o+out, ... */
        for (unsigned o = 0; o < out; o++) {
            unsigned n = (in - o + out - 1) / out;
            for (unsigned i = o; i < in; i += out)
                r->matrix[o][i] = 1.0f / (float)n;
        }
    }
}

/* Replaces NaN and +-Inf with 0. Can't fail. */
static void scrub(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            x[i] = 0.0f;
}

/* Maps `frames` frames from raw (in_ch) to dst (out_ch). */
static void map_channels(const sl__reader *r, const float *src, float *dst,
                         size_t frames)
{
    unsigned in = r->in_ch, out = r->out_ch;

    if (r->map == MAP_COPY) {
        memcpy(dst, src, frames * in * sizeof *src);
    } else if (r->map == MAP_MONO_UP) {
        for (size_t f = 0; f < frames; f++)
            for (unsigned o = 0; o < out; o++)
                dst[f * out + o] = src[f];
    } else {
        for (size_t f = 0; f < frames; f++) {
            const float *x = src + f * in;
            for (unsigned o = 0; o < out; o++) {
                float acc = 0.0f;
                for (unsigned i = 0; i < in; i++)
                    if (r->matrix[o][i] != 0.0f)
                        acc += r->matrix[o][i] * x[i];
                dst[f * out + o] = acc;
            }
        }
    }
}

/* --------------------------------------------------------------- read */

/* Hands back the frames read so far and keeps `err` for the next call, or
 * returns `err` at once when nothing was read. */
static ptrdiff_t fail_after(sl__reader *r, size_t done, int err)
{
    if (done == 0)
        return err;
    r->pending = err;
    return (ptrdiff_t)done;
}

/* Reads up to n <= SL__READER_BLOCK source frames, scrubbed and mapped to
 * the output channels, into dst. Returns the count, 0 at the end, or a
 * negative SL_E* code with the reason in r->why. */
static ptrdiff_t pull(sl__reader *r, float *dst, size_t n)
{
    float *raw = r->map == MAP_COPY ? dst : r->raw;
    ptrdiff_t got = sl__source_read(r->src, raw, n);

    if (got < 0) {
        say(r->why, sizeof r->why, "%s", sl__source_why(r->src));
        return got;
    }
    scrub(raw, (size_t)got * r->in_ch);
    if (r->map != MAP_COPY)
        map_channels(r, raw, dst, (size_t)got);
    return got;
}

/* Equal rates: source frames go straight out. */
static ptrdiff_t read_direct(sl__reader *r, float *out, size_t frames)
{
    size_t done = 0;

    while (done < frames) {
        size_t n = frames - done;
        if (n > SL__READER_BLOCK)
            n = SL__READER_BLOCK;
        ptrdiff_t got = pull(r, out + done * r->out_ch, n);
        if (got < 0)
            return fail_after(r, done, (int)got);
        if (got == 0)
            break;
        done += (size_t)got;
    }
    return (ptrdiff_t)done;
}

/* Different rates: mapped blocks through libsamplerate, flushed at the
 * end of the source. */
static ptrdiff_t read_resampled(sl__reader *r, float *out, size_t frames)
{
    size_t done = 0;

    while (done < frames && !r->rs_done) {
        if (r->mapped_avail == 0 && !r->src_end) {
            ptrdiff_t got = pull(r, r->mapped, SL__READER_BLOCK);
            if (got < 0)
                return fail_after(r, done, (int)got);
            r->mapped_off = 0;
            r->mapped_avail = (size_t)got;
            r->src_end = got == 0;
        }
        SRC_DATA d = {
            .data_in = r->mapped + r->mapped_off * r->out_ch,
            .input_frames = (long)r->mapped_avail,
            .data_out = out + done * r->out_ch,
            .output_frames = (long)(frames - done),
            .end_of_input = r->src_end,
            .src_ratio = r->ratio,
        };
        int e = src_process(r->rs, &d);
        if (e != 0) {
            say(r->why, sizeof r->why, "resampler failed: %s",
                src_strerror(e));
            return fail_after(r, done, SL_EIO);
        }
        r->mapped_off += (size_t)d.input_frames_used;
        r->mapped_avail -= (size_t)d.input_frames_used;
        done += (size_t)d.output_frames_gen;
        if (d.input_frames_used == 0 && d.output_frames_gen == 0) {
            if (r->src_end) {
                r->rs_done = true; /* flushed */
            } else {
                say(r->why, sizeof r->why, "resampler made no progress");
                return fail_after(r, done, SL_EIO);
            }
        }
    }
    return (ptrdiff_t)done;
}

ptrdiff_t sl__reader_read(sl__reader *r, float *out, size_t frames)
{
    if (r->pending != 0) {
        int err = r->pending;
        r->pending = 0;
        return err;
    }
    r->why[0] = '\0';
    if (r->out_length >= 0 && (int64_t)frames > r->out_length - r->position)
        frames = (size_t)(r->out_length - r->position);
    ptrdiff_t n = r->rs != NULL ? read_resampled(r, out, frames)
                                : read_direct(r, out, frames);
    if (n > 0)
        r->position += n;
    return n;
}

/* --------------------------------------------------------------- seek */

/* Where to put the source so that output frame `frame` comes out of the
 * resampler as it would in an unbroken read: on the grid where source
 * and output frames fall at the same instant (multiples of grid_in source
 * frames), SEEK_PRIME output frames or more early so the filter is full.
 * Rates with a coarse grid (44100 -> 48001) land on the nearest source
 * frame at or before the target instead, less than one source frame off. */
static void plan_seek(const sl__reader *r, int64_t frame, int64_t *start_in,
                      int64_t *start_out)
{
    int64_t t_in = frame * (int64_t)r->in_rate / (int64_t)r->out_rate;

    if (r->grid_in > MAX_GRID_STEP) {
        *start_in = t_in;
        *start_out = frame;
        return;
    }
    int64_t prime = SEEK_PRIME;
    if (r->in_rate > r->out_rate)
        prime = (SEEK_PRIME * (int64_t)r->in_rate + r->out_rate - 1) /
                r->out_rate;
    int64_t k = t_in > prime ? (t_in - prime) / r->grid_in : 0;
    *start_in = k * r->grid_in;
    *start_out = k * r->grid_out;
}

/* Resamples and drops n output frames into `scratch`. */
static int drop(sl__reader *r, int64_t n, float *scratch)
{
    while (n > 0) {
        size_t want = n > SL__READER_BLOCK ? SL__READER_BLOCK : (size_t)n;
        ptrdiff_t got = read_resampled(r, scratch, want);
        if (got < 0)
            return (int)got;
        if (r->pending != 0) {
            int err = r->pending;
            r->pending = 0;
            return err;
        }
        if (got == 0)
            return SL_OK; /* the source ended early: read() says so */
        n -= got;
    }
    return SL_OK;
}

int sl__reader_seek(sl__reader *r, int64_t frame)
{
    int64_t start_in = frame, start_out = frame;

    r->why[0] = '\0';
    if (frame < 0)
        return SL_EINVAL;
    if (r->out_length >= 0 && frame > r->out_length) {
        say(r->why, sizeof r->why, "frame %lld is past the end (%lld)",
            (long long)frame, (long long)r->out_length);
        return SL_ERANGE;
    }
    if (r->rs != NULL)
        plan_seek(r, frame, &start_in, &start_out);
    int err = sl__source_seek(r->src, start_in);
    if (err < 0) {
        say(r->why, sizeof r->why, "%s", sl__source_why(r->src));
        return err;
    }
    r->pending = 0;
    r->mapped_avail = 0;
    r->src_end = false;
    r->rs_done = false;
    r->position = start_out;
    if (r->rs == NULL)
        return SL_OK;
    src_reset(r->rs);
    err = drop(r, frame - start_out, r->scratch);
    r->position = frame;
    return err;
}

/* ------------------------------------------------------------- create */

static int converter(sl_resample_quality q)
{
    switch (q) {
    case SL_RESAMPLE_BEST: return SRC_SINC_BEST_QUALITY;
    case SL_RESAMPLE_MEDIUM: return SRC_SINC_MEDIUM_QUALITY;
    case SL_RESAMPLE_FAST: return SRC_SINC_FASTEST;
    case SL_RESAMPLE_LINEAR: return SRC_LINEAR;
    }
    return -1;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Checks the output settings and the ratio against the source's rate. */
static int check_conversion(const sl__reader *r, sl_resample_quality q,
                            char *why, size_t why_len)
{
    if (r->out_ch == 0 || r->out_ch > SL_MAX_CHANNELS) {
        say(why, why_len, "output channel count %u is outside 1..%d",
            r->out_ch, SL_MAX_CHANNELS);
        return SL_EINVAL;
    }
    if (r->out_rate < SL_MIN_RATE || r->out_rate > SL_MAX_RATE) {
        say(why, why_len, "output rate %u Hz is outside %d..%d Hz",
            r->out_rate, SL_MIN_RATE, SL_MAX_RATE);
        return SL_EINVAL;
    }
    if (converter(q) < 0) {
        say(why, why_len, "unknown resampler quality %d", (int)q);
        return SL_EINVAL;
    }
    if (r->in_rate != r->out_rate && !src_is_valid_ratio(r->ratio)) {
        say(why, why_len,
            "cannot resample %u Hz to %u Hz: the ratio is beyond "
            "libsamplerate's limit of 256 either way",
            r->in_rate, r->out_rate);
        return SL_EUNSUPPORTED;
    }
    return SL_OK;
}

/* Output length for a source of in_len frames: the nearest whole frame. */
static int64_t out_length(const sl__reader *r, int64_t in_len)
{
    if (in_len < 0)
        return -1;
    return (in_len * r->out_rate + r->in_rate / 2) / r->in_rate;
}

/* Allocates the block buffers and, for different rates, the resampler. */
static int allocate(sl__reader *r, sl_resample_quality q, char *why,
                    size_t why_len)
{
    r->raw = malloc(sizeof(float) * SL__READER_BLOCK * r->in_ch);
    r->mapped = malloc(sizeof(float) * SL__READER_BLOCK * r->out_ch);
    r->scratch = malloc(sizeof(float) * SL__READER_BLOCK * r->out_ch);
    if (r->raw == NULL || r->mapped == NULL || r->scratch == NULL) {
        say(why, why_len, "out of memory");
        return SL_ENOMEM;
    }
    if (r->out_rate != r->in_rate) {
        int e = 0;
        r->rs = src_new(converter(q), (int)r->out_ch, &e);
        if (r->rs == NULL) {
            say(why, why_len, "resampler: %s", src_strerror(e));
            return SL_ENOMEM; /* channels and converter were checked */
        }
    }
    return SL_OK;
}

int sl__reader_create(sl__reader **out, sl__source *src, unsigned out_rate,
                      unsigned out_channels, sl_resample_quality quality,
                      char *why, size_t why_len)
{
    int err = SL_EINVAL;
    sl__reader *r = NULL;

    say(why, why_len, "%s", "");
    if (out != NULL)
        *out = NULL;
    if (out == NULL || src == NULL)
        goto fail;
    err = SL_ENOMEM;
    if ((r = calloc(1, sizeof *r)) == NULL)
        goto fail_say;
    sl_source_format fmt = sl__source_format(src);
    r->src = src;
    r->in_rate = fmt.rate;
    r->in_ch = fmt.channels;
    r->out_rate = out_rate;
    r->out_ch = out_channels;
    r->ratio = (double)out_rate / (double)fmt.rate;
    if ((err = check_conversion(r, quality, why, why_len)) < 0)
        goto fail;
    r->map = r->in_ch == r->out_ch ? MAP_COPY
             : r->in_ch == 1       ? MAP_MONO_UP
                                   : MAP_MATRIX;
    if (r->map == MAP_MATRIX)
        build_matrix(r);
    if ((err = allocate(r, quality, why, why_len)) < 0)
        goto fail;
    int64_t g = gcd64(r->in_rate, r->out_rate);
    r->grid_in = r->in_rate / g;
    r->grid_out = r->out_rate / g;
    r->in_length = sl__source_length(src);
    r->out_length = r->rs != NULL ? out_length(r, r->in_length)
                                  : r->in_length;
    *out = r;
    return SL_OK;
fail_say:
    say(why, why_len, "out of memory");
fail:
    if (r != NULL)
        r->src = NULL;
    sl__reader_destroy(r);
    sl__source_close(src);
    return err;
}

int64_t sl__reader_position(const sl__reader *r)
{
    return r->position;
}

int64_t sl__reader_length(const sl__reader *r)
{
    return r->out_length;
}

const char *sl__reader_why(const sl__reader *r)
{
    return r->why;
}

void sl__reader_destroy(sl__reader *r)
{
    if (r == NULL)
        return;
    if (r->rs != NULL)
        src_delete(r->rs);
    sl__source_close(r->src);
    free(r->raw);
    free(r->mapped);
    free(r->scratch);
    free(r);
}
