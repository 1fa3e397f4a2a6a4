/*
 * play_file.c: the smallest player. Opens one audio file as a track,
 * plays it on the default output device (or on the null device, paced in
 * real time, with --null or when the machine has no device) and waits
 * for it to end, printing what the engine reports.
 *
 *   play_file [--null] FILE
 *
 * Build against an installed sluice:
 *   cc play_file.c $(pkg-config --cflags --libs sluice) -o play_file
 */
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

static sl_engine *open_engine(int null_device)
{
    sl_engine_config cfg;
    sl_engine *engine = NULL;
    char why[256];

    sl_engine_config_default(&cfg);
    cfg.output = null_device ? SL_OUTPUT_NULL : SL_OUTPUT_DEVICE;
    if (sl_engine_create(&engine, &cfg, why, sizeof why) == SL_OK)
        return engine;
    if (null_device)
        return NULL;
    fprintf(stderr, "play_file: %s; playing on the null device\n", why);
    cfg.output = SL_OUTPUT_NULL;
    return sl_engine_create(&engine, &cfg, why, sizeof why) == SL_OK ? engine
                                                                      : NULL;
}

int main(int argc, char **argv)
{
    int null_device = argc > 1 && strcmp(argv[1], "--null") == 0;
    const char *path = argv[1 + null_device];
    sl_engine *engine;
    sl_track_id track;
    sl_event ev;
    char why[256];
    int status = 1;

    if (argc != 2 + null_device) {
        fprintf(stderr, "usage: play_file [--null] FILE\n");
        return 1;
    }
    if ((engine = open_engine(null_device)) == NULL) {
        fprintf(stderr, "play_file: no output\n");
        return 1;
    }
    if (sl_track_open_file(engine, path, &track, why, sizeof why) != SL_OK) {
        fprintf(stderr, "play_file: %s\n", why);
        sl_engine_destroy(engine);
        return 1;
    }
    sl_engine_start(engine);
    sl_track_play(engine, track);
    /* Events arrive from the audio side without ever blocking it. */
    while (sl_engine_wait_event(engine, &ev, -1) == SL_OK) {
        if (ev.type == SL_EVENT_TRACK_STARTED)
            printf("playing %s\n", path);
        if (ev.type == SL_EVENT_TRACK_ENDED) {
            printf("ended after %lld frames\n", (long long)ev.frame);
            status = 0;
            break;
        }
        if (ev.type == SL_EVENT_TRACK_FAILED) {
            fprintf(stderr, "play_file: %s: %s\n", path, ev.reason);
            break;
        }
    }
    sl_engine_destroy(engine); /* fades out, stops, frees */
    return status;
}
