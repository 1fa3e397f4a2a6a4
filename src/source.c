/*
 * source.c: sources from files, from memory and from a player's vtable.
 *
 * Everything is a vtable underneath: files and memory buffers get the
 * libsndfile implementation below (struct sndsrc), a player's source keeps
 * its own. sl__source adds what every source needs on top: the format
 * checked against sluice's limits, the length, and a reason for the last
 * failure.
 *
 * Threads: open and close on a control thread, the rest on the worker that
 * currently owns the source (see source_priv.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include <sluice/error.h>
#include "source_priv.h"
#include "why.h"

struct sl__source {
    const sl_source_vtable *vt;
    void *user;
    sl_source_format fmt;
    int64_t length;
    char why[SL__WHY_LEN];
};

/* A file or memory buffer decoded by libsndfile. */
struct sndsrc {
    SNDFILE *sf;
    SF_INFO info;
    int fd;              /* ours to close; -1 for memory */
    int64_t pos;         /* next frame sf_readf_float() returns */
    bool exact_length;   /* the header's frame count is a promise */
    char *why;           /* the owning sl__source's reason buffer */
    const unsigned char *mem;
    sf_count_t mem_size, mem_off;
};

/* ---------------------------------------------------------- libsndfile */

static ptrdiff_t snd_read(void *user, float *out, size_t frames)
{
    struct sndsrc *s = user;
    sf_count_t n = sf_readf_float(s->sf, out, (sf_count_t)frames);

    if (n > 0) {
        s->pos += n;
        return (ptrdiff_t)n;
    }
    if (sf_error(s->sf) != SF_ERR_NO_ERROR) {
        sl__say(s->why, SL__WHY_LEN, "decoding failed at frame %lld: %s",
            (long long)s->pos, sf_strerror(s->sf));
        return SL_EFORMAT;
    }
    if (frames > 0 && s->exact_length && s->pos < s->info.frames) {
        sl__say(s->why, SL__WHY_LEN,
            "file is truncated: it ends at frame %lld of the %lld its "
            "header promises", (long long)s->pos, (long long)s->info.frames);
        return SL_EFORMAT;
    }
    return 0;
}

static int snd_seek(void *user, int64_t frame)
{
    struct sndsrc *s = user;

    if (sf_seek(s->sf, (sf_count_t)frame, SEEK_SET) < 0) {
        sl__say(s->why, SL__WHY_LEN, "seek to frame %lld failed: %s",
            (long long)frame, sf_strerror(s->sf));
        return SL_EIO;
    }
    s->pos = frame;
    return SL_OK;
}

static int64_t snd_length(void *user)
{
    struct sndsrc *s = user;
    return s->info.frames;
}

static int snd_format(void *user, sl_source_format *fmt)
{
    struct sndsrc *s = user;
    fmt->rate = (unsigned)s->info.samplerate;
    fmt->channels = (unsigned)s->info.channels;
    return SL_OK;
}

static void snd_close(void *user)
{
    struct sndsrc *s = user;
    if (s->sf != NULL)
        sf_close(s->sf);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static const sl_source_vtable snd_vtable = {
    .read = snd_read,
    .seek = snd_seek,
    .length = snd_length,
    .format = snd_format,
    .close = snd_close,
};

/* Unseekable streams (a pipe) get a vtable without seek. */
static const sl_source_vtable snd_vtable_noseek = {
    .read = snd_read,
    .length = snd_length,
    .format = snd_format,
    .close = snd_close,
};

/* libsndfile's virtual I/O over a caller's buffer. */
static sf_count_t mem_len(void *user)
{
    return ((struct sndsrc *)user)->mem_size;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *user)
{
    struct sndsrc *s = user;
    sf_count_t base = whence == SEEK_CUR ? s->mem_off
                      : whence == SEEK_END ? s->mem_size : 0;
    if (base + off < 0 || base + off > s->mem_size)
        return -1;
    s->mem_off = base + off;
    return s->mem_off;
}

static sf_count_t mem_read(void *dst, sf_count_t count, void *user)
{
    struct sndsrc *s = user;
    sf_count_t n = s->mem_size - s->mem_off;
    if (count < n)
        n = count;
    memcpy(dst, s->mem + s->mem_off, (size_t)n);
    s->mem_off += n;
    return n;
}

static sf_count_t mem_write(const void *src, sf_count_t count, void *user)
{
    (void)src, (void)count, (void)user;
    return 0; /* read-only */
}

static sf_count_t mem_tell(void *user)
{
    return ((struct sndsrc *)user)->mem_off;
}

static SF_VIRTUAL_IO mem_io = {
    .get_filelen = mem_len,
    .seek = mem_seek,
    .read = mem_read,
    .write = mem_write,
    .tell = mem_tell,
};

/* Turns libsndfile's open failure into an SL_E* code and a reason.
 * sf_error(NULL) is libsndfile's process-wide last error. */
static int open_failed(char *why, size_t why_len)
{
    int err = sf_error(NULL);

    switch (err) {
    case SF_ERR_UNRECOGNISED_FORMAT:
        sl__say(why, why_len, "not a recognised audio format");
        return SL_EFORMAT;
    case SF_ERR_SYSTEM:
        sl__say(why, why_len, "cannot read the file: %s", sf_strerror(NULL));
        return SL_EIO;
    case SF_ERR_MALFORMED_FILE:
        sl__say(why, why_len, "malformed audio file: %s", sf_strerror(NULL));
        return SL_EFORMAT;
    case SF_ERR_UNSUPPORTED_ENCODING:
        sl__say(why, why_len, "unsupported encoding: %s", sf_strerror(NULL));
        return SL_EFORMAT;
    default:
        /* libsndfile's internal codes: a header it could not make sense
         * of, such as a WAV without a data chunk. */
        sl__say(why, why_len, "malformed audio file: %s", sf_strerror(NULL));
        return SL_EFORMAT;
    }
}

/* ------------------------------------------------------------- sources */

/* Checks a format against sluice's limits. */
static int check_format(const sl_source_format *fmt, char *why,
                        size_t why_len)
{
    if (fmt->channels == 0) {
        sl__say(why, why_len, "the source has no channels");
        return SL_EFORMAT;
    }
    if (fmt->channels > SL_MAX_CHANNELS) {
        sl__say(why, why_len, "too many channels (%u; sluice plays at most %d)",
            fmt->channels, SL_MAX_CHANNELS);
        return SL_EFORMAT;
    }
    if (fmt->rate < SL_MIN_RATE || fmt->rate > SL_MAX_RATE) {
        sl__say(why, why_len,
            "sample rate %u Hz is outside what sluice plays (%d..%d Hz)",
            fmt->rate, SL_MIN_RATE, SL_MAX_RATE);
        return SL_EFORMAT;
    }
    return SL_OK;
}

int sl__source_open_vtable(sl__source **out, const sl_source_vtable *vt,
                           void *user, char *why, size_t why_len)
{
    int err;

    sl__say(why, why_len, "%s", "");
    if (out == NULL)
        return SL_EINVAL;
    *out = NULL;
    if (vt == NULL || vt->read == NULL || vt->format == NULL) {
        sl__say(why, why_len, "a source needs read and format functions");
        return SL_EINVAL;
    }
    sl__source *s = calloc(1, sizeof *s);
    if (s == NULL) {
        sl__say(why, why_len, "out of memory");
        err = SL_ENOMEM;
        goto fail;
    }
    s->vt = vt;
    s->user = user;
    if ((err = vt->format(user, &s->fmt)) < 0) {
        sl__say(why, why_len, "the source could not give its format: %s",
            sl_strerror(err));
        goto fail;
    }
    if ((err = check_format(&s->fmt, why, why_len)) < 0)
        goto fail;
    s->length = vt->length != NULL ? vt->length(user) : -1;
    if (s->length < 0)
        s->length = -1;
    *out = s;
    return SL_OK;
fail:
    free(s);
    if (vt->close != NULL)
        vt->close(user);
    return err;
}

/* Opens libsndfile over `snd` (fd or memory already set up) and wraps it.
 * Takes ownership of `snd` whatever happens. */
static int open_snd(sl__source **out, struct sndsrc *snd, char *why,
                    size_t why_len)
{
    if (snd->fd >= 0)
        snd->sf = sf_open_fd(snd->fd, SFM_READ, &snd->info, 0);
    else
        snd->sf = sf_open_virtual(&mem_io, SFM_READ, &snd->info, snd);
    if (snd->sf == NULL) {
        int err = open_failed(why, why_len);
        snd_close(snd);
        return err;
    }
    /* libmpg123 estimates an MP3's length from its header (or a Xing
     * frame); the stream may legitimately end elsewhere. */
    snd->exact_length =
        (snd->info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG;
    const sl_source_vtable *vt =
        snd->info.seekable ? &snd_vtable : &snd_vtable_noseek;
    int err = sl__source_open_vtable(out, vt, snd, why, why_len);
    if (err == SL_OK)
        snd->why = (*out)->why;
    return err; /* on failure the vtable's close freed snd */
}

int sl__source_open_file(sl__source **out, const char *path, char *why,
                         size_t why_len)
{
    struct stat st;

    sl__say(why, why_len, "%s", "");
    if (out == NULL || path == NULL)
        return SL_EINVAL;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        sl__say(why, why_len, "%s", strerror(e));
        return e == ENOENT || e == ENOTDIR ? SL_ENOTFOUND : SL_EIO;
    }
    if (fstat(fd, &st) != 0) {
        sl__say(why, why_len, "%s", strerror(errno));
        close(fd);
        return SL_EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        sl__say(why, why_len, "is a directory");
        close(fd);
        return SL_EIO;
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0) {
        sl__say(why, why_len, "file is empty");
        close(fd);
        return SL_EFORMAT;
    }
    struct sndsrc *snd = calloc(1, sizeof *snd);
    if (snd == NULL) {
        sl__say(why, why_len, "out of memory");
        close(fd);
        return SL_ENOMEM;
    }
    snd->fd = fd;
    return open_snd(out, snd, why, why_len);
}

int sl__source_open_memory(sl__source **out, const void *data, size_t size,
                           char *why, size_t why_len)
{
    sl__say(why, why_len, "%s", "");
    if (out == NULL || (data == NULL && size > 0))
        return SL_EINVAL;
    *out = NULL;
    if (size == 0) {
        sl__say(why, why_len, "file is empty");
        return SL_EFORMAT;
    }
    struct sndsrc *snd = calloc(1, sizeof *snd);
    if (snd == NULL) {
        sl__say(why, why_len, "out of memory");
        return SL_ENOMEM;
    }
    snd->fd = -1;
    snd->mem = data;
    snd->mem_size = (sf_count_t)size;
    return open_snd(out, snd, why, why_len);
}

ptrdiff_t sl__source_read(sl__source *s, float *out, size_t frames)
{
    s->why[0] = '\0';
    ptrdiff_t n = s->vt->read(s->user, out, frames);

    if (n > (ptrdiff_t)frames) {
        sl__say(s->why, sizeof s->why,
            "the source returned %td frames when asked for %zu", n, frames);
        return SL_EINVAL;
    }
    if (n < 0 && s->why[0] == '\0')
        sl__say(s->why, sizeof s->why, "the source failed: %s", sl_strerror((int)n));
    return n;
}

int sl__source_seek(sl__source *s, int64_t frame)
{
    s->why[0] = '\0';
    if (s->vt->seek == NULL) {
        sl__say(s->why, sizeof s->why, "the source cannot seek");
        return SL_EUNSUPPORTED;
    }
    if (frame < 0)
        return SL_EINVAL;
    if (s->length >= 0 && frame > s->length) {
        sl__say(s->why, sizeof s->why, "frame %lld is past the end (%lld)",
            (long long)frame, (long long)s->length);
        return SL_ERANGE;
    }
    int err = s->vt->seek(s->user, frame);
    if (err < 0 && s->why[0] == '\0')
        sl__say(s->why, sizeof s->why, "the source could not seek: %s",
            sl_strerror(err));
    return err < 0 ? err : SL_OK;
}

int64_t sl__source_length(const sl__source *s)
{
    return s->length;
}

sl_source_format sl__source_format(const sl__source *s)
{
    return s->fmt;
}

bool sl__source_can_seek(const sl__source *s)
{
    return s->vt->seek != NULL;
}

const char *sl__source_why(const sl__source *s)
{
    return s->why;
}

void sl__source_close(sl__source *s)
{
    if (s == NULL)
        return;
    if (s->vt->close != NULL)
        s->vt->close(s->user);
    free(s);
}
