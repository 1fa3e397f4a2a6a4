/*
 * custom_node.c: writing your own node and running it on a scheduler.
 *
 * The node synthesizes a stereo tone into a PCM ring, one block per tick:
 * PROGRESS when it wrote a block, BACKPRESSURED when the ring had no room,
 * DONE after a quarter of a second of audio. The main thread plays the
 * device: it drains the ring in device-sized blocks at the device's pace
 * and, like a real callback, wakes the scheduler with the RT-safe wake
 * whenever the ring falls below its low watermark.
 *
 * Threads: the node's callbacks run on the scheduler thread; main() is the
 * control thread and the pretend device.
 *
 * Build against an installed sluice:
 *   cc custom_node.c $(pkg-config --cflags --libs sluice) -lm -o custom_node
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep() under -std=c11 */

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sluice/sluice.h>

#define RATE 48000
#define CHANNELS 2
#define BLOCK 256
#define TOTAL_FRAMES (RATE / 4)
#define TWO_PI 6.28318530717958647692

/* The node: sl_node first, then its own state. */
typedef struct tone_node {
    sl_node base;
    sl_ring *ring;      /* not owned: the application's */
    double phase, step; /* radians */
    size_t written;     /* frames */
    atomic_bool *finished;
} tone_node;

static int tone_tick(sl_node *node)
{
    tone_node *t = (tone_node *)node;
    sl_ring_region reg[2];
    size_t want = TOTAL_FRAMES - t->written;

    if (want == 0)
        return SL_NODE_DONE;
    if (want > BLOCK)
        want = BLOCK;
    if (sl_ring_write_regions(t->ring, want, reg) < want)
        return SL_NODE_BACKPRESSURED; /* the device has not caught up */
    for (int r = 0; r < 2; r++) {
        for (size_t i = 0; i < reg[r].frames; i++) {
            float s = 0.25f * (float)sin(t->phase);
            reg[r].data[i * CHANNELS] = s;
            reg[r].data[i * CHANNELS + 1] = s;
            t->phase = fmod(t->phase + t->step, TWO_PI);
        }
    }
    sl_ring_commit(t->ring, want);
    t->written += want;
    return SL_NODE_PROGRESS;
}

/* The scheduler is done with the node, whatever the reason. */
static void tone_on_cancel(sl_node *node)
{
    tone_node *t = (tone_node *)node;
    atomic_store(t->finished, true);
}

/* The last call: the scheduler owns the node until here. */
static void tone_destroy(sl_node *node)
{
    free(node);
}

static const sl_node_vtable tone_vtable = {
    .name = "tone",
    .tick = tone_tick,
    .on_cancel = tone_on_cancel,
    .destroy = tone_destroy,
};

static void on_event(const sl_scheduler_event *ev, void *user)
{
    (void)user;
    if (ev->type == SL_SCHED_NODE_FAILED || ev->type == SL_SCHED_NODE_FAULTED)
        fprintf(stderr, "node %llu (%s): %s, %s\n",
                (unsigned long long)ev->node, ev->node_name,
                sl_scheduler_event_name(ev->type), sl_strerror(ev->error));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void)
{
    sl_scheduler_config cfg;
    sl_scheduler *sched = NULL;
    sl_ring *ring = NULL;
    tone_node *tone;
    atomic_bool finished = false;
    float block[BLOCK * CHANNELS];
    size_t played = 0;
    double energy = 0.0;
    int err;

    if ((err = sl_ring_create(&ring, CHANNELS, 4 * BLOCK)) != SL_OK)
        goto fail;
    sl_scheduler_config_default(&cfg);
    cfg.observer = on_event;
    if ((err = sl_scheduler_create(&sched, &cfg)) != SL_OK)
        goto fail;

    err = SL_ENOMEM;
    if ((tone = calloc(1, sizeof *tone)) == NULL)
        goto fail;
    sl_node_init(&tone->base, &tone_vtable, SL_CLASS_AUDIBLE);
    tone->ring = ring;
    tone->step = TWO_PI * 440.0 / RATE;
    tone->finished = &finished;
    if ((err = sl_scheduler_register(sched, &tone->base, NULL)) != SL_OK) {
        free(tone); /* not registered: still ours */
        goto fail;
    }

    /* The pretend device: one block every ~2 ms (faster than real time). */
    while (played < TOTAL_FRAMES) {
        size_t n = sl_ring_read(ring, block, BLOCK);
        for (size_t i = 0; i < n * CHANNELS; i++)
            energy += (double)block[i] * block[i];
        played += n;
        if (sl_ring_readable(ring) < 2 * BLOCK)
            sl_scheduler_wake_rt(sched); /* below the low watermark */
        if (n == 0 && atomic_load(&finished))
            break;
        sleep_ms(2);
    }
    sl_scheduler_destroy(sched); /* joins; the node is already gone */
    sl_ring_destroy(ring);

    double rms = sqrt(energy / (double)(played * CHANNELS));
    printf("played %zu frames, RMS %.4f (expected %.4f)\n", played, rms,
           0.25 / sqrt(2.0));
    return played == TOTAL_FRAMES && fabs(rms - 0.25 / sqrt(2.0)) < 1e-3 ? 0
                                                                         : 1;

fail:
    fprintf(stderr, "custom_node: %s\n", sl_strerror(err));
    sl_scheduler_destroy(sched);
    sl_ring_destroy(ring);
    return 1;
}
