/*
 * ring_pipe.c: moving audio between two threads with the PCM ring.
 *
 * A producer thread synthesizes one second of a 440 Hz stereo tone and
 * writes it into the ring in the zero-copy style a decoder would use; the
 * main thread reads it back in device-sized blocks, as an audio callback
 * would, and prints what arrived.
 *
 * Build against an installed sluice:
 *   cc ring_pipe.c $(pkg-config --cflags --libs sluice) -o ring_pipe
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include <sluice/sluice.h>

#define RATE 48000
#define CHANNELS 2
#define BLOCK 256

static void *produce(void *arg)
{
    sl_ring *ring = arg;
    size_t done = 0;

    while (done < RATE) {
        sl_ring_region reg[2];
        size_t n = sl_ring_write_regions(ring, RATE - done, reg);
        size_t t = done;
        for (int r = 0; r < 2; r++) {
            for (size_t i = 0; i < reg[r].frames; i++, t++) {
                float s = 0.5f * (float)sin(2.0 * 3.14159265358979323846 * 440.0 * (double)t / RATE);
                reg[r].data[i * CHANNELS] = s;
                reg[r].data[i * CHANNELS + 1] = s;
            }
        }
        sl_ring_commit(ring, n);
        done += n;
        if (n == 0)
            sched_yield(); /* the reader is behind: let it run */
    }
    return NULL;
}

int main(void)
{
    sl_ring *ring;
    pthread_t producer;
    float block[BLOCK * CHANNELS];
    double energy = 0.0;
    size_t got = 0;
    int err;

    printf("sluice %s ring example\n", sl_version_string());
    err = sl_ring_create(&ring, CHANNELS, 4 * BLOCK);
    if (err != SL_OK) {
        fprintf(stderr, "ring_pipe: %s\n", sl_strerror(err));
        return 1;
    }
    if (pthread_create(&producer, NULL, produce, ring) != 0) {
        fprintf(stderr, "ring_pipe: cannot start the producer thread\n");
        sl_ring_destroy(ring);
        return 1;
    }
    while (got < RATE) {
        size_t n = sl_ring_read(ring, block, BLOCK);
        for (size_t i = 0; i < n * CHANNELS; i++)
            energy += (double)block[i] * block[i];
        got += n;
        if (n == 0)
            sched_yield();
    }
    pthread_join(producer, NULL);
    sl_ring_destroy(ring);

    double rms = sqrt(energy / (double)(got * CHANNELS));
    printf("moved %zu frames through a %d-frame ring, RMS %.4f (expected %.4f)\n",
           got, 4 * BLOCK, rms, 0.5 / sqrt(2.0));
    return fabs(rms - 0.5 / sqrt(2.0)) < 1e-3 ? 0 : 1;
}
