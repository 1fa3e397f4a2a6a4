/*
 * file_sink.c: the offline render's output file, written all or nothing.
 *
 * libsndfile writes through virtual I/O callbacks on our own descriptor,
 * so every write error of every codec, including the ones an encoder hits
 * while flushing inside sf_close(), is seen here with its errno instead of
 * being lost inside the library. The temporary file and the rename are
 * relative to a descriptor on the target's directory, so the directory
 * that is synced is the one the file was renamed in.
 *
 * Thread: whichever single thread drives the sink (a render thread or a
 * control thread); never the device callback.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include <sluice/error.h>
#include "clock.h"
#include "file_sink.h"
#include "why.h"

#define WHY_MAX 512

struct sl__file_sink {
    SNDFILE *sf;
    int fd;        /* the temporary file; -1 once closed */
    int dirfd;     /* the target's directory */
    char *path;    /* the target as given, for messages */
    char *base;    /* the target's name inside dirfd */
    char *tmpname; /* the temporary file's name; NULL once gone */
    unsigned channels;
    uint64_t frames;
    int io_errno;  /* first errno of a failed write callback */
    int err;       /* first error; then every call fails with it */
    char why[WHY_MAX];
};

/* ------------------------------------------------------------ formats */

typedef struct format_desc {
    const char *ext;
    int major;              /* SF_FORMAT_* container */
    int codec;              /* lossy codec subtype; 0: lossless */
    bool has_float;         /* the container holds float32 */
    const unsigned *rates;  /* the only rates allowed; NULL: any */
    unsigned max_rate;      /* 0: no limit beyond libsndfile's */
    unsigned max_channels;  /* 0: no limit beyond libsndfile's */
} format_desc;

/* sf_format_check() accepts these rates and channel counts, but sf_open()
 * then refuses them after creating the file, so they are checked first. */
static const unsigned opus_rates[] = {8000, 12000, 16000, 24000, 48000, 0};
static const unsigned mpeg_rates[] = {8000,  11025, 12000, 16000, 22050,
                                      24000, 32000, 44100, 48000, 0};

static const format_desc formats[] = {
    {"wav", SF_FORMAT_WAV, 0, true, NULL, 0, 0},
    {"aiff", SF_FORMAT_AIFF, 0, true, NULL, 0, 0},
    {"aif", SF_FORMAT_AIFF, 0, true, NULL, 0, 0},
    {"flac", SF_FORMAT_FLAC, 0, false, NULL, 655350, 8},
    {"ogg", SF_FORMAT_OGG, SF_FORMAT_VORBIS, false, NULL, 0, 255},
    {"oga", SF_FORMAT_OGG, SF_FORMAT_VORBIS, false, NULL, 0, 255},
    {"opus", SF_FORMAT_OGG, SF_FORMAT_OPUS, false, opus_rates, 0, 255},
    /* Only where libsndfile was built with LAME: sf_format_check() says. */
    {"mp3", SF_FORMAT_MPEG, SF_FORMAT_MPEG_LAYER_III, false, mpeg_rates, 0,
     2},
    {"caf", SF_FORMAT_CAF, 0, true, NULL, 0, 0},
    {"w64", SF_FORMAT_W64, 0, true, NULL, 0, 0},
    {"rf64", SF_FORMAT_RF64, 0, true, NULL, 0, 0},
    {"au", SF_FORMAT_AU, 0, true, NULL, 0, 0},
};
#define N_FORMATS (sizeof formats / sizeof formats[0])

const char *sl__file_sink_extensions(void)
{
    return "wav, aiff, aif, flac, ogg, oga, opus, mp3, caf, w64, rf64, au";
}

void sl__file_sink_options_default(sl__file_sink_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->sample = SL__SAMPLE_DEFAULT;
}

/* "path: file too large": strerror's text with a lower-case first letter,
 * to read as the second half of a sentence. */
static void say_errno(char *why, size_t len, const char *path, int e)
{
    char text[128];

    snprintf(text, sizeof text, "%s", strerror(e));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char)(text[0] - 'A' + 'a');
    sl__say(why, len, "%s: %s", path, text);
}

static const format_desc *find_format(const char *base)
{
    const char *dot = strrchr(base, '.');

    if (dot == NULL || dot == base)
        return NULL;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (strcasecmp(dot + 1, formats[i].ext) == 0)
            return &formats[i];
    return NULL;
}

/* The SF_FORMAT_* subtype for `sample`, or 0 when the format cannot hold
 * it. */
static int subtype_for(const format_desc *f, sl__sample_format sample)
{
    if (f->codec != 0)
        return sample == SL__SAMPLE_DEFAULT ? f->codec : 0;
    switch (sample) {
    case SL__SAMPLE_DEFAULT:
        return f->has_float ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_24;
    case SL__SAMPLE_PCM16:
        return SF_FORMAT_PCM_16;
    case SL__SAMPLE_PCM24:
        return SF_FORMAT_PCM_24;
    case SL__SAMPLE_FLOAT:
        return f->has_float ? SF_FORMAT_FLOAT : 0;
    }
    return 0;
}

static bool rate_allowed(const format_desc *f, unsigned rate)
{
    if (f->max_rate != 0 && rate > f->max_rate)
        return false;
    if (f->rates == NULL)
        return true;
    for (const unsigned *r = f->rates; *r != 0; r++)
        if (*r == rate)
            return true;
    return false;
}

/* Fills `info` for the target `path` whose name is `base`, or explains
 * why the format cannot be written. */
static int choose_format(SF_INFO *info, const char *path, const char *base,
                         unsigned rate, unsigned channels,
                         sl__sample_format sample, char *why, size_t len)
{
    const format_desc *f = find_format(base);
    int sub;

    if (f == NULL) {
        sl__say(why, len, "%s: unknown file extension; known: %s", path,
            sl__file_sink_extensions());
        return SL_EFORMAT;
    }
    sub = subtype_for(f, sample);
    if (sub == 0) {
        sl__say(why, len, "%s: %s cannot hold that sample format%s", path,
            f->ext, f->codec ? " (it is lossy)" : " (it has no float)");
        return SL_EFORMAT;
    }
    memset(info, 0, sizeof *info);
    info->samplerate = (int)rate;
    info->channels = (int)channels;
    info->format = f->major | sub;
    if (rate > INT32_MAX || channels > INT32_MAX || !rate_allowed(f, rate)) {
        sl__say(why, len, "%s: %s cannot be written at %u Hz", path, f->ext, rate);
        return SL_EFORMAT;
    }
    if ((f->max_channels != 0 && channels > f->max_channels) ||
        !sf_format_check(info)) {
        sl__say(why, len, "%s: this libsndfile cannot write %s with %u channels "
            "at %u Hz", path, f->ext, channels, rate);
        return SL_EFORMAT;
    }
    return SL_OK;
}

/* ------------------------------------------------------- virtual I/O */

static sf_count_t vio_get_filelen(void *user)
{
    struct stat st;
    sl__file_sink *s = user;

    return fstat(s->fd, &st) == 0 ? (sf_count_t)st.st_size : -1;
}

static sf_count_t vio_seek(sf_count_t offset, int whence, void *user)
{
    sl__file_sink *s = user;

    return (sf_count_t)lseek(s->fd, (off_t)offset, whence);
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *user)
{
    sl__file_sink *s = user;
    ssize_t n;

    do
        n = read(s->fd, ptr, (size_t)count);
    while (n < 0 && errno == EINTR);
    return n < 0 ? 0 : (sf_count_t)n;
}

/* Writes everything or records the first errno (EFBIG, ENOSPC, ...). */
static sf_count_t vio_write(const void *ptr, sf_count_t count, void *user)
{
    sl__file_sink *s = user;
    const char *p = ptr;
    sf_count_t done = 0;

    while (done < count) {
        ssize_t n = write(s->fd, p + done, (size_t)(count - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (s->io_errno == 0)
                s->io_errno = n < 0 ? errno : EIO;
            break;
        }
        done += n;
    }
    return done;
}

static sf_count_t vio_tell(void *user)
{
    sl__file_sink *s = user;

    return (sf_count_t)lseek(s->fd, 0, SEEK_CUR);
}

static SF_VIRTUAL_IO vio = {
    .get_filelen = vio_get_filelen,
    .seek = vio_seek,
    .read = vio_read,
    .write = vio_write,
    .tell = vio_tell,
};

/* ------------------------------------------------------------ files */

static void remove_temp(sl__file_sink *s)
{
    if (s->tmpname != NULL) {
        unlinkat(s->dirfd, s->tmpname, 0);
        free(s->tmpname);
        s->tmpname = NULL;
    }
}

/* Records the sink's first error and removes the temporary file. */
static void fail_io(sl__file_sink *s, int e, const char *fallback)
{
    if (s->err != 0)
        return;
    s->err = SL_EIO;
    if (e != 0)
        say_errno(s->why, sizeof s->why, s->path, e);
    else
        sl__say(s->why, sizeof s->why, "%s: %s", s->path, fallback);
    remove_temp(s);
}

/* Six characters from a process-wide counter, the pid and the clock,
 * mixed (splitmix64). Uniqueness does not rest on them: O_EXCL does. */
static void unique_suffix(char out[7])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static atomic_uint_fast64_t counter;
    uint64_t x = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);

    x = x * 0x9e3779b97f4a7c15u ^ sl__now_ns() ^ ((uint64_t)getpid() << 32);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    for (int i = 0; i < 6; i++, x /= 62)
        out[i] = digits[x % 62];
    out[6] = '\0';
}

/* Creates ".BASE.XXXXXX.part" beside the target with O_EXCL. */
static int create_temp(sl__file_sink *s, char *why, size_t len)
{
    size_t n = strlen(s->base) + sizeof ".." ".XXXXXX.part";
    char suffix[7];

    s->tmpname = malloc(n);
    if (s->tmpname == NULL)
        return SL_ENOMEM;
    for (int tries = 0; tries < 100; tries++) {
        unique_suffix(suffix);
        snprintf(s->tmpname, n, ".%s.%s.part", s->base, suffix);
        s->fd = openat(s->dirfd, s->tmpname,
                       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (s->fd >= 0)
            return SL_OK;
        if (errno != EEXIST)
            break;
    }
    say_errno(why, len, s->path, errno);
    free(s->tmpname);
    s->tmpname = NULL;
    return SL_EIO;
}

/* Splits the target into its directory (opened) and its name, and makes
 * sure the name is not a directory. */
static int open_dir(sl__file_sink *s, char *why, size_t len)
{
    char *slash = strrchr(s->path, '/');
    struct stat st;
    char *dir;

    s->base = strdup(slash ? slash + 1 : s->path);
    if (slash == NULL)
        dir = strdup(".");
    else
        dir = strndup(s->path, slash == s->path ? 1 : (size_t)(slash - s->path));
    if (s->base == NULL || dir == NULL) {
        free(dir);
        return SL_ENOMEM;
    }
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (s->dirfd < 0) {
        say_errno(why, len, s->path, errno);
        return SL_EIO;
    }
    if (fstatat(s->dirfd, s->base, &st, 0) == 0 && S_ISDIR(st.st_mode)) {
        say_errno(why, len, s->path, EISDIR);
        return SL_EIO;
    }
    return SL_OK;
}

static void free_sink(sl__file_sink *s)
{
    remove_temp(s);
    if (s->sf != NULL)
        sf_close(s->sf);
    if (s->fd >= 0)
        close(s->fd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->path);
    free(s->base);
    free(s);
}

/* ------------------------------------------------------------ the API */

static int check_args(sl__file_sink **out, const char *path, unsigned rate,
                      unsigned channels, char *why, size_t len)
{
    if (out == NULL || path == NULL || path[0] == '\0' || rate == 0 ||
        channels == 0) {
        sl__say(why, len, "%s: needs a file name, a rate and a channel count",
            path != NULL ? path : "(null)");
        return SL_EINVAL;
    }
    if (path[strlen(path) - 1] == '/') {
        sl__say(why, len, "%s: names a directory, not a file", path);
        return SL_EINVAL;
    }
    return SL_OK;
}

/* Allocates the sink, then creates its temporary file and the encoder. */
static int create_sink(sl__file_sink **out, const char *path,
                       unsigned channels, SF_INFO *info, char *why,
                       size_t len)
{
    sl__file_sink *s = calloc(1, sizeof *s);
    int err = SL_ENOMEM;

    if (s == NULL)
        goto fail;
    s->fd = s->dirfd = -1;
    s->channels = channels;
    s->path = strdup(path);
    if (s->path == NULL)
        goto fail;
    err = open_dir(s, why, len);
    if (err != SL_OK)
        goto fail;
    err = create_temp(s, why, len);
    if (err != SL_OK)
        goto fail;
    s->sf = sf_open_virtual(&vio, SFM_WRITE, info, s);
    if (s->sf == NULL) {
        err = SL_EFORMAT;
        sl__say(why, len, "%s: %s", path, sf_strerror(NULL));
        goto fail;
    }
    /* PCM encodings clip out-of-range samples instead of wrapping them. */
    sf_command(s->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    *out = s;
    return SL_OK;

fail:
    if (err == SL_ENOMEM)
        sl__say(why, len, "%s: out of memory", path);
    if (s != NULL)
        free_sink(s);
    return err;
}

int sl__file_sink_open(sl__file_sink **out, const char *path, unsigned rate,
                       unsigned channels, const sl__file_sink_options *opt,
                       char *why, size_t why_len)
{
    sl__file_sink_options defaults;
    const char *slash;
    SF_INFO info;
    int err;

    if (out != NULL)
        *out = NULL;
    sl__say(why, why_len, "%s", "");
    err = check_args(out, path, rate, channels, why, why_len);
    if (err != SL_OK)
        return err;
    if (opt == NULL) {
        sl__file_sink_options_default(&defaults);
        opt = &defaults;
    }
    slash = strrchr(path, '/');
    err = choose_format(&info, path, slash ? slash + 1 : path, rate, channels,
                        opt->sample, why, why_len);
    if (err != SL_OK)
        return err;
    return create_sink(out, path, channels, &info, why, why_len);
}

int sl__file_sink_write(sl__file_sink *sink, const float *interleaved,
                        size_t frames)
{
    if (sink == NULL)
        return SL_EINVAL;
    if (sink->err != SL_OK)
        return sink->err;
    if (frames == 0)
        return SL_OK;
    if (interleaved == NULL)
        return SL_EINVAL;
    sf_count_t n = sf_writef_float(sink->sf, interleaved, (sf_count_t)frames);
    if (sink->io_errno != 0 || n != (sf_count_t)frames) {
        fail_io(sink, sink->io_errno, sf_strerror(sink->sf));
        return sink->err;
    }
    sink->frames += frames;
    return SL_OK;
}

const char *sl__file_sink_error(const sl__file_sink *sink)
{
    return sink->why;
}

uint64_t sl__file_sink_frames(const sl__file_sink *sink)
{
    return sink->frames;
}

/* Closes the encoder and the file, making sure every byte reached the
 * disk. */
static void finish_file(sl__file_sink *s)
{
    int sferr = sf_error(s->sf);
    int r = sf_close(s->sf);

    s->sf = NULL;
    if (s->io_errno != 0 || sferr != SF_ERR_NO_ERROR || r != 0) {
        fail_io(s, s->io_errno,
                sf_error_number(sferr != SF_ERR_NO_ERROR ? sferr : r));
        return;
    }
    if (fsync(s->fd) != 0)
        fail_io(s, errno, "");
    /* close() can report a delayed write error too (NFS). */
    if (close(s->fd) != 0 && s->err == SL_OK)
        fail_io(s, errno, "");
    s->fd = -1;
}

int sl__file_sink_commit(sl__file_sink *sink, char *why, size_t why_len)
{
    int err;

    sl__say(why, why_len, "%s", "");
    if (sink == NULL)
        return SL_EINVAL;
    if (sink->err == SL_OK)
        finish_file(sink);
    if (sink->err == SL_OK) {
        if (renameat(sink->dirfd, sink->tmpname, sink->dirfd, sink->base) != 0)
            fail_io(sink, errno, "");
    }
    if (sink->err == SL_OK) {
        /* Renamed: the temporary name is gone, the target is the file. */
        free(sink->tmpname);
        sink->tmpname = NULL;
        /* The rename is durable once the directory is synced. A failure
         * here is reported, but the new file stays: a rename cannot be
         * taken back. */
        if (fsync(sink->dirfd) != 0)
            fail_io(sink, errno, "");
    }
    err = sink->err;
    if (err != SL_OK)
        sl__say(why, why_len, "%s", sink->why);
    free_sink(sink);
    return err;
}

void sl__file_sink_abort(sl__file_sink *sink)
{
    if (sink != NULL)
        free_sink(sink);
}
