/*
 * custom_source.c: feeding the engine from your own code. A source is a
 * vtable of read, seek, length and format functions (sluice/source.h);
 * here it synthesizes a 3-second A major arpeggio at 22050 Hz, mono,
 * which the engine converts to its 48 kHz stereo and renders into OUT.
 *
 *   custom_source OUT
 *
 * Build against an installed sluice:
 *   cc custom_source.c $(pkg-config --cflags --libs sluice) -lm -o custom_source
 */
#include <math.h>
#include <stdio.h>

#include <sluice/sluice.h>

#define RATE 22050
#define LENGTH (3 * RATE)

typedef struct arpeggio {
    int64_t pos;
} arpeggio;

/* Runs on a sluice worker thread, never on the device callback; it may
 * take its time (a network read), which silences only its own track. */
static ptrdiff_t arp_read(void *user, float *out, size_t frames)
{
    static const double notes[] = {440.0, 554.37, 659.26, 880.0};
    arpeggio *a = user;
    size_t n = 0;

    for (; n < frames && a->pos < LENGTH; n++, a->pos++) {
        double t = (double)a->pos / RATE, beat = fmod(t, 0.25);
        double f = notes[(int)(t / 0.25) % 4];
        out[n] = (float)(0.3 * exp(-6.0 * beat) * sin(2 * M_PI * f * t));
    }
    return (ptrdiff_t)n;
}

static int arp_seek(void *user, int64_t frame)
{
    ((arpeggio *)user)->pos = frame;
    return SL_OK;
}

static int64_t arp_length(void *user)
{
    (void)user;
    return LENGTH;
}

static int arp_format(void *user, sl_source_format *fmt)
{
    (void)user;
    fmt->rate = RATE;
    fmt->channels = 1;
    return SL_OK;
}

static const sl_source_vtable arp_vtable = {
    .read = arp_read,
    .seek = arp_seek,
    .length = arp_length,
    .format = arp_format,
};

int main(int argc, char **argv)
{
    sl_engine_config cfg;
    sl_engine *engine;
    sl_track_id track;
    arpeggio arp = {0};
    char why[256];
    int err;

    if (argc != 2) {
        fprintf(stderr, "usage: custom_source OUT\n");
        return 1;
    }
    sl_engine_config_default(&cfg);
    cfg.output = SL_OUTPUT_NONE;
    cfg.rate = 48000;
    if (sl_engine_create(&engine, &cfg, why, sizeof why) != SL_OK ||
        sl_track_open_source(engine, &arp_vtable, &arp, &track, why,
                             sizeof why) != SL_OK) {
        fprintf(stderr, "custom_source: %s\n", why);
        sl_engine_destroy(engine);
        return 1;
    }
    sl_track_set_gain_db(engine, track, -3.0);
    sl_track_play(engine, track);
    err = sl_engine_render(engine, argv[1], NULL, why, sizeof why);
    if (err != SL_OK)
        fprintf(stderr, "custom_source: %s\n", why);
    else
        printf("rendered 3 s of arpeggio into %s\n", argv[1]);
    sl_engine_destroy(engine);
    return err == SL_OK ? 0 : 1;
}
