/*
 * queue_gapless.c: a gapless album, rendered to one file. Opens every
 * input as a track, queues each after the one before (crossfading when
 * asked), plays the first and renders the lot into OUT as fast as the
 * CPU allows; the format comes from OUT's extension. The same queue
 * played on a device (sl_engine_start() instead of sl_engine_render())
 * gives the same samples.
 *
 *   queue_gapless [-x CROSSFADE_MS] OUT IN...
 *
 * Build against an installed sluice:
 *   cc queue_gapless.c $(pkg-config --cflags --libs sluice) -o queue_gapless
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

static int progress(uint64_t frames, int64_t total, void *user)
{
    (void)user;
    if (total > 0)
        fprintf(stderr, "\r%3d%%", (int)(frames * 100 / (uint64_t)total));
    return 0; /* nonzero would cancel, leaving no file */
}

int main(int argc, char **argv)
{
    sl_engine_config cfg;
    sl_render_options opt;
    sl_engine *engine;
    sl_track_id prev = 0, first = 0, id;
    double xfade = 0.0;
    char why[256];
    int arg = 1, err;

    if (argc > 2 && strcmp(argv[1], "-x") == 0) {
        xfade = atof(argv[2]);
        arg = 3;
    }
    if (argc - arg < 2) {
        fprintf(stderr, "usage: queue_gapless [-x CROSSFADE_MS] OUT IN...\n");
        return 1;
    }
    sl_engine_config_default(&cfg);
    cfg.output = SL_OUTPUT_NONE; /* render only */
    cfg.rate = 48000;
    if (sl_engine_create(&engine, &cfg, why, sizeof why) != SL_OK) {
        fprintf(stderr, "queue_gapless: %s\n", why);
        return 1;
    }
    for (int i = arg + 1; i < argc; i++) {
        if (sl_track_open_file(engine, argv[i], &id, why, sizeof why) != SL_OK) {
            fprintf(stderr, "queue_gapless: %s (skipped)\n", why);
            continue;
        }
        if (prev != 0)
            sl_track_queue(engine, prev, id, xfade);
        else
            first = id;
        prev = id;
    }
    if (first == 0) {
        sl_engine_destroy(engine);
        return 2;
    }
    sl_track_play(engine, first);
    sl_render_options_default(&opt);
    opt.progress = progress;
    err = sl_engine_render(engine, argv[arg], &opt, why, sizeof why);
    fprintf(stderr, "\n");
    if (err != SL_OK)
        fprintf(stderr, "queue_gapless: %s\n", why);
    sl_engine_destroy(engine);
    return err == SL_OK ? 0 : 1;
}
