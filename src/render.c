/*
 * render.c: offline render (sl_engine_render()). The calling thread
 * becomes the master thread: it runs the very master code the scheduler
 * runs in playback, block after block, but before each block it waits,
 * helping, for the read-ahead the block needs (sl__master_feed()), so a
 * render never underruns and its samples equal those of an undisturbed
 * playback. The blocks go to the file sink, which writes a temporary file
 * beside the target and renames it only on success.
 *
 * Thread: the control thread that calls sl_engine_render().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>
#include "engine_priv.h"
#include "file_sink.h"
#include "why.h"

void sl_render_options_default(sl_render_options *opt)
{
    if (opt == NULL)
        return;
    *opt = (sl_render_options){.bits = 0, .progress_every = 48000};
}

static int sample_format(int bits, sl__sample_format *out)
{
    switch (bits) {
    case 0: *out = SL__SAMPLE_DEFAULT; return SL_OK;
    case 16: *out = SL__SAMPLE_PCM16; return SL_OK;
    case 24: *out = SL__SAMPLE_PCM24; return SL_OK;
    case 32: *out = SL__SAMPLE_FLOAT; return SL_OK;
    default: return SL_EINVAL;
    }
}

/* Becomes the master thread, or says why not. */
static int begin(sl_engine *e, char *why, size_t len)
{
    int err = SL_OK;

    pthread_mutex_lock(&e->lock);
    sl__engine_sweep(e);
    if (e->cfg.output != SL_OUTPUT_NONE) {
        sl__say(why, len, "this engine plays to an output; render needs one "
                      "created with SL_OUTPUT_NONE");
        err = SL_ESTATE;
    } else if (e->rendering) {
        sl__say(why, len, "a render is already running on this engine");
        err = SL_EBUSY;
    } else {
        e->rendering = true;
    }
    pthread_mutex_unlock(&e->lock);
    return err;
}

static void end(sl_engine *e)
{
    sl__master_quiesce(e);
    pthread_mutex_lock(&e->lock);
    e->rendering = false;
    sl__engine_sweep(e);
    pthread_mutex_unlock(&e->lock);
}

/* Writes blocks until no track plays. */
static int run(sl_engine *e, sl__file_sink *fs, const sl_render_options *o,
               int64_t total, char *why, size_t len)
{
    size_t block = e->cfg.block_frames;
    float *buf = calloc(block * e->cfg.channels, sizeof *buf);
    uint64_t done = 0, next_report = o->progress_every;
    int err = SL_OK;

    if (buf == NULL) {
        sl__say(why, len, "out of memory");
        return SL_ENOMEM;
    }
    for (;;) {
        sl__master_service(e, true);
        sl__master_feed(e);
        if (!sl__master_busy(e))
            break;
        size_t n = sl__master_mix(e, buf);
        if (n > 0 && (err = sl__file_sink_write(fs, buf, n)) != SL_OK) {
            sl__say(why, len, "%s", sl__file_sink_error(fs));
            break;
        }
        done += n;
        if (o->progress != NULL && done >= next_report) {
            next_report = done + o->progress_every;
            if (o->progress(done, total, o->progress_user) != 0) {
                sl__say(why, len, "the render was cancelled");
                err = SL_ECANCELED;
                break;
            }
        }
    }
    if (err == SL_OK && o->progress != NULL)
        o->progress(done, total, o->progress_user);
    free(buf);
    return err;
}

int sl_engine_render(sl_engine *e, const char *path,
                     const sl_render_options *opt, char *why, size_t why_len)
{
    sl_render_options o;
    sl__file_sink_options fo;
    sl__file_sink *fs = NULL;
    int err;

    sl__say(why, why_len, "%s", "");
    if (opt != NULL)
        o = *opt;
    else
        sl_render_options_default(&o);
    sl__file_sink_options_default(&fo);
    if (e == NULL || path == NULL || sample_format(o.bits, &fo.sample) != SL_OK ||
        (o.progress != NULL && o.progress_every == 0)) {
        sl__say(why, why_len, "invalid arguments");
        return SL_EINVAL;
    }
    if ((err = begin(e, why, why_len)) != SL_OK)
        return err;
    sl__master_service(e, true);
    if (!sl__master_busy(e)) {
        sl__say(why, why_len, "%s: nothing is playing", path);
        end(e);
        return SL_ESTATE;
    }
    err = sl__file_sink_open(&fs, path, e->cfg.rate, e->cfg.channels, &fo,
                             why, why_len);
    if (err == SL_OK) {
        err = run(e, fs, &o, sl__master_expected(e), why, why_len);
        if (err == SL_OK)
            err = sl__file_sink_commit(fs, why, why_len);
        else
            sl__file_sink_abort(fs);
    }
    end(e);
    return err;
}
