/*
 * chain_in_code.c: building an effect chain in code and running it.
 *
 * Builds "highpass, equalizer, compressor" with the chain API, appends a
 * reverb and a limiter from the text form, runs one second of a generated stereo
 * tone through it in device-sized blocks (as an audio callback would),
 * changes parameters and bypass between blocks (as a control thread
 * would), and prints the input and output levels.
 *
 * Build against an installed sluice:
 *   cc chain_in_code.c $(pkg-config --cflags --libs sluice) -lm -o chain_in_code
 */
#include <math.h>
#include <stdio.h>

#include <sluice/sluice.h>

#define RATE 48000
#define CHANNELS 2
#define BLOCK 256

static int check(int err, const char *what)
{
    if (err != SL_OK)
        fprintf(stderr, "chain_in_code: %s: %s\n", what, sl_strerror(err));
    return err;
}

/* Builds the chain; returns SL_OK or the first error. */
static int build(sl_chain *chain, unsigned *eq, unsigned *limiter)
{
    char msg[160];
    unsigned id;
    int err;

    if (check(sl_chain_add(chain, "highpass", &id), "add highpass") ||
        check(sl_chain_set_param(chain, id, "freq", 40.0f), "highpass freq") ||
        check(sl_chain_add(chain, "equalizer", eq), "add equalizer") ||
        check(sl_chain_set_param(chain, *eq, "freq", 3000.0f), "eq freq") ||
        check(sl_chain_set_param(chain, *eq, "gain", 4.0f), "eq gain") ||
        check(sl_chain_add(chain, "compress", &id), "add compress") ||
        check(sl_chain_set_param(chain, id, "threshold", -18.0f), "threshold"))
        return SL_EINVAL;
    /* The text form: name, then arguments in order (see docs/EFFECTS.md). */
    err = sl_chain_parse(chain, "reverb 0.6 0.4 0.2; limit -1", msg, sizeof msg);
    if (err != SL_OK) {
        fprintf(stderr, "chain_in_code: %s\n", msg);
        return err;
    }
    return check(sl_chain_id_at(chain, sl_chain_length(chain) - 1, limiter),
                 "find the limiter");
}

int main(void)
{
    sl_chain_config cfg;
    sl_chain *chain;
    unsigned eq, limiter;
    float buf[BLOCK * CHANNELS];
    double in_peak = 0.0, out_peak = 0.0, late_peak = 0.0, phase = 0.0;

    sl_chain_config_default(&cfg);
    cfg.channels = CHANNELS;
    cfg.sample_rate = RATE;
    if (check(sl_chain_create(&chain, &cfg), "create") != SL_OK)
        return 1;
    if (build(chain, &eq, &limiter) != SL_OK) {
        sl_chain_destroy(chain);
        return 1;
    }
    for (int b = 0; b < RATE / BLOCK; b++) {
        for (int i = 0; i < BLOCK; i++, phase += 440.0 / RATE) {
            float x = (float)(1.5 * sin(2.0 * M_PI * phase)); /* too hot */
            buf[i * CHANNELS] = buf[i * CHANNELS + 1] = x;
            in_peak = fmax(in_peak, fabs(x));
        }
        if (b == 60) /* half way: a control-side change, ramped */
            sl_chain_set_param(chain, eq, "gain", -4.0f);
        if (b == 120)
            sl_chain_set_bypass(chain, eq, 1);
        if (b == 150) /* ramps down to the new ceiling */
            sl_chain_set_param(chain, limiter, "ceiling", -3.0f);
        sl_chain_process(chain, buf, BLOCK);
        for (int i = 0; i < BLOCK * CHANNELS; i++) {
            out_peak = fmax(out_peak, fabs(buf[i]));
            if (b >= 160) /* once the new ceiling has been reached */
                late_peak = fmax(late_peak, fabs(buf[i]));
        }
    }
    printf("%zu effects; 1 s of 440 Hz: input peak %.2f dBFS; output peak "
           "%.2f dBFS (ceiling -1), %.2f dBFS at the end (ceiling -3)\n",
           sl_chain_length(chain), 20.0 * log10(in_peak),
           20.0 * log10(out_peak), 20.0 * log10(late_peak));
    sl_chain_collect(chain);
    sl_chain_destroy(chain);
    return out_peak <= pow(10.0, -1.0 / 20.0) &&
                   late_peak <= pow(10.0, -3.0 / 20.0)
               ? 0
               : 1;
}
