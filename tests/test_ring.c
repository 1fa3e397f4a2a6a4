/*
 * test_ring.c: the PCM ring, single-threaded edge cases and a two-thread
 * stress test.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include <sluice/error.h>
#include <sluice/ring.h>
#include "ring_priv.h"
#include "suites.h"

/* Fills `frames` frames with the values start, start+1, ... */
static void ramp(float *buf, size_t frames, unsigned ch, float start)
{
    for (size_t i = 0; i < frames * ch; i++)
        buf[i] = start + (float)i;
}

static int is_ramp(const float *buf, size_t frames, unsigned ch, float start)
{
    for (size_t i = 0; i < frames * ch; i++)
        if (buf[i] != start + (float)i)
            return 0;
    return 1;
}

static void test_create_rejects_bad_arguments(void)
{
    sl_ring *ring = (sl_ring *)1;

    CU_ASSERT_EQUAL(sl_ring_create(NULL, 2, 16), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_ring_create(&ring, 0, 16), SL_EINVAL);
    CU_ASSERT_PTR_NULL(ring);
    CU_ASSERT_EQUAL(sl_ring_create(&ring, 2, 0), SL_EINVAL);
    CU_ASSERT_EQUAL(sl_ring_create(&ring, SL_RING_MAX_CHANNELS + 1, 16),
                    SL_EINVAL);
    CU_ASSERT_EQUAL(sl_ring_create(&ring, 1, SL_RING_MAX_FRAMES + 1),
                    SL_EINVAL);
    sl_ring_destroy(NULL);
}

static void test_capacity_rounds_up_to_power_of_two(void)
{
    static const size_t asked[] = {1, 2, 3, 5, 64, 100, 1023, 1024, 1025};
    static const size_t got[] = {1, 2, 4, 8, 64, 128, 1024, 1024, 2048};

    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        sl_ring *ring;
        CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 3, asked[i]), SL_OK);
        CU_ASSERT_EQUAL(sl_ring_capacity(ring), got[i]);
        CU_ASSERT_EQUAL(sl_ring_channels(ring), 3);
        CU_ASSERT_EQUAL(sl_ring_writable(ring), got[i]);
        CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
        sl_ring_destroy(ring);
    }
}

static void test_empty_ring_reads_nothing(void)
{
    sl_ring *ring;
    float buf[32] = {0};
    sl_ring_region reg[2];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 2, 8), SL_OK);
    CU_ASSERT_EQUAL(sl_ring_read(ring, buf, 8), 0);
    CU_ASSERT_EQUAL(sl_ring_read_regions(ring, 8, reg), 0);
    CU_ASSERT_EQUAL(reg[0].frames + reg[1].frames, 0);
    sl_ring_release(ring, 5); /* clamped to nothing */
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 8);
    sl_ring_destroy(ring);
}

static void test_full_ring_accepts_nothing_more(void)
{
    sl_ring *ring;
    float in[2 * 12], out[2 * 12];
    sl_ring_region reg[2];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 2, 8), SL_OK);
    ramp(in, 12, 2, 1.0f);
    /* A partial write: only capacity frames fit. */
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 12), 8);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 8);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 0);
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 1), 0);
    CU_ASSERT_EQUAL(sl_ring_write_regions(ring, 4, reg), 0);
    sl_ring_commit(ring, 3); /* clamped: the ring is full */
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 8);
    /* Partial read, then the rest. */
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 3), 3);
    CU_ASSERT(is_ramp(out, 3, 2, 1.0f));
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 12), 5);
    CU_ASSERT(is_ramp(out, 5, 2, 7.0f));
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
    sl_ring_destroy(ring);
}

static void test_zero_length_calls(void)
{
    sl_ring *ring;
    sl_ring_region reg[2];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 1, 4), SL_OK);
    CU_ASSERT_EQUAL(sl_ring_write(ring, NULL, 0), 0);
    CU_ASSERT_EQUAL(sl_ring_read(ring, NULL, 0), 0);
    CU_ASSERT_EQUAL(sl_ring_write_regions(ring, 0, reg), 0);
    CU_ASSERT_EQUAL(reg[0].frames, 0);
    CU_ASSERT_EQUAL(reg[1].frames, 0);
    sl_ring_commit(ring, 0);
    CU_ASSERT_EQUAL(sl_ring_read_regions(ring, 0, reg), 0);
    sl_ring_release(ring, 0);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
    sl_ring_destroy(ring);
}

/* Writes and reads across the end of the buffer, through both APIs, and
 * checks the two regions split where the buffer wraps. */
static void check_wrap_from(size_t start)
{
    sl_ring *ring;
    float in[2 * 16], out[2 * 16];
    sl_ring_region reg[2];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 2, 16), SL_OK);
    sl__ring_reset_at(ring, start);
    ramp(in, 16, 2, 100.0f);
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 12), 12);
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 12), 12);
    CU_ASSERT(is_ramp(out, 12, 2, 100.0f));

    /* 12 frames from offset (start + 12) % 16 must wrap. */
    size_t off = (start + 12) & 15;
    CU_ASSERT_EQUAL(sl_ring_write_regions(ring, 12, reg), 12);
    CU_ASSERT_EQUAL(reg[0].frames, 16 - off < 12 ? 16 - off : 12);
    CU_ASSERT_EQUAL(reg[0].frames + reg[1].frames, 12);
    ramp(reg[0].data, reg[0].frames, 2, 0.0f);
    if (reg[1].frames)
        ramp(reg[1].data, reg[1].frames, 2, (float)(reg[0].frames * 2));
    sl_ring_commit(ring, 12);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 12);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 4);

    CU_ASSERT_EQUAL(sl_ring_read_regions(ring, 16, reg), 12);
    CU_ASSERT(is_ramp(reg[0].data, reg[0].frames, 2, 0.0f));
    if (reg[1].frames)
        CU_ASSERT(is_ramp(reg[1].data, reg[1].frames, 2,
                          (float)(reg[0].frames * 2)));
    sl_ring_release(ring, 5);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 7);
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 16), 7);
    CU_ASSERT(is_ramp(out, 7, 2, 10.0f));
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 16);

    /* Fill completely across the wrap, then drain. */
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 16), 16);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 16);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 0);
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 16), 16);
    CU_ASSERT(is_ramp(out, 16, 2, 100.0f));
    sl_ring_destroy(ring);
}

static void test_wrap_around_the_buffer(void)
{
    check_wrap_from(0);
    check_wrap_from(7);
}

static void test_indices_across_their_integer_wrap(void)
{
    /* The free-running indices overflow size_t in the middle of these. */
    for (size_t back = 1; back <= 20; back++)
        check_wrap_from(SIZE_MAX - back + 1);
}

static void test_reset_empties(void)
{
    sl_ring *ring;
    float in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];

    CU_ASSERT_EQUAL_FATAL(sl_ring_create(&ring, 1, 8), SL_OK);
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 5), 5);
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 2), 2);
    sl_ring_reset(ring);
    CU_ASSERT_EQUAL(sl_ring_readable(ring), 0);
    CU_ASSERT_EQUAL(sl_ring_writable(ring), 8);
    CU_ASSERT_EQUAL(sl_ring_write(ring, in, 8), 8);
    CU_ASSERT_EQUAL(sl_ring_read(ring, out, 8), 8);
    CU_ASSERT_EQUAL(memcmp(in, out, sizeof in), 0);
    sl_ring_destroy(ring);
}

/* ---- two-thread stress ------------------------------------------------- */

#define STRESS_SAMPLES 50000000ull /* at least 50 million samples */
#define STRESS_CHANNELS 2u
#define STRESS_CAPACITY 1024u
#define STRESS_MAX_CHUNK 1500u /* larger than the ring, to get partial moves */

typedef struct stress {
    sl_ring *ring;
    uint64_t frames; /* to move */
    uint64_t received;
    uint64_t bad_at; /* first sample index that was wrong, or UINT64_MAX */
    uint64_t zero_moves;
} stress;

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Samples carry their sequence number as a bit pattern, so every one of
 * 2^32 values is distinct and exact (the ring copies bits, not values). */
static float seq_sample(uint32_t n)
{
    float f;
    memcpy(&f, &n, sizeof f);
    return f;
}

static uint32_t sample_seq(float f)
{
    uint32_t n;
    memcpy(&n, &f, sizeof n);
    return n;
}

static void *stress_producer(void *arg)
{
    stress *st = arg;
    static float chunk[STRESS_MAX_CHUNK * STRESS_CHANNELS];
    uint32_t rng = 0x9e3779b9u, seq = 0;
    uint64_t sent = 0;

    while (sent < st->frames) {
        size_t want = 1 + xorshift(&rng) % STRESS_MAX_CHUNK;
        if (want > st->frames - sent)
            want = (size_t)(st->frames - sent);
        size_t moved;
        if (xorshift(&rng) & 1) {
            for (size_t i = 0; i < want * STRESS_CHANNELS; i++)
                chunk[i] = seq_sample(seq + (uint32_t)i);
            moved = sl_ring_write(st->ring, chunk, want);
        } else {
            sl_ring_region reg[2];
            moved = sl_ring_write_regions(st->ring, want, reg);
            uint32_t s = seq;
            for (int r = 0; r < 2; r++)
                for (size_t i = 0; i < reg[r].frames * STRESS_CHANNELS; i++)
                    reg[r].data[i] = seq_sample(s++);
            sl_ring_commit(st->ring, moved);
        }
        seq += (uint32_t)(moved * STRESS_CHANNELS);
        sent += moved;
        if (moved == 0)
            sched_yield();
    }
    return NULL;
}

static int check_run(stress *st, const float *data, size_t samples,
                     uint32_t *seq)
{
    for (size_t i = 0; i < samples; i++, (*seq)++) {
        if (sample_seq(data[i]) != *seq) {
            st->bad_at = st->received * STRESS_CHANNELS + i;
            return 0;
        }
    }
    return 1;
}

static void *stress_consumer(void *arg)
{
    stress *st = arg;
    static float chunk[STRESS_MAX_CHUNK * STRESS_CHANNELS];
    uint32_t rng = 0x2545f491u, seq = 0;

    while (st->received < st->frames && st->bad_at == UINT64_MAX) {
        size_t want = 1 + xorshift(&rng) % STRESS_MAX_CHUNK;
        size_t moved;
        int ok = 1;
        if (xorshift(&rng) & 1) {
            moved = sl_ring_read(st->ring, chunk, want);
            ok = check_run(st, chunk, moved * STRESS_CHANNELS, &seq);
        } else {
            sl_ring_region reg[2];
            moved = sl_ring_read_regions(st->ring, want, reg);
            for (int r = 0; r < 2 && ok; r++)
                ok = check_run(st, reg[r].data,
                               reg[r].frames * STRESS_CHANNELS, &seq);
            sl_ring_release(st->ring, moved);
        }
        if (!ok)
            break;
        st->received += moved;
        if (moved == 0) {
            st->zero_moves++;
            sched_yield();
        }
    }
    return NULL;
}

static void run_stress(size_t start_index)
{
    stress st = {.frames = STRESS_SAMPLES / STRESS_CHANNELS,
                 .bad_at = UINT64_MAX};
    pthread_t prod, cons;

    CU_ASSERT_EQUAL_FATAL(
        sl_ring_create(&st.ring, STRESS_CHANNELS, STRESS_CAPACITY), SL_OK);
    sl__ring_reset_at(st.ring, start_index);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&cons, NULL, stress_consumer, &st), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&prod, NULL, stress_producer, &st), 0);
    pthread_join(cons, NULL);
    if (st.bad_at != UINT64_MAX) {
        /* The consumer stopped early; unblock the producer by draining. */
        float sink[STRESS_MAX_CHUNK * STRESS_CHANNELS];
        while (pthread_tryjoin_np(prod, NULL) != 0)
            sl_ring_read(st.ring, sink, STRESS_MAX_CHUNK);
    } else {
        pthread_join(prod, NULL);
    }
    CU_ASSERT_EQUAL(st.bad_at, UINT64_MAX);
    CU_ASSERT_EQUAL(st.received, st.frames);
    CU_ASSERT_EQUAL(sl_ring_readable(st.ring), 0);
    sl_ring_destroy(st.ring);
}

static void test_two_thread_stress(void)
{
    run_stress(0);
}

static void test_two_thread_stress_across_index_wrap(void)
{
    /* The indices overflow about 1/8 of the way through. */
    run_stress(SIZE_MAX - (size_t)(STRESS_SAMPLES / STRESS_CHANNELS / 8));
}

static CU_TestInfo tests[] = {
    {"create rejects bad arguments", test_create_rejects_bad_arguments},
    {"capacity rounds up to a power of two",
     test_capacity_rounds_up_to_power_of_two},
    {"empty ring reads nothing", test_empty_ring_reads_nothing},
    {"full ring accepts nothing more", test_full_ring_accepts_nothing_more},
    {"zero-length calls", test_zero_length_calls},
    {"wrap around the buffer", test_wrap_around_the_buffer},
    {"indices across their integer wrap",
     test_indices_across_their_integer_wrap},
    {"reset empties", test_reset_empties},
    {"two-thread stress, 50M samples, both APIs", test_two_thread_stress},
    {"two-thread stress across the index wrap",
     test_two_thread_stress_across_index_wrap},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_ring = {
    .info = {.pName = "ring", .pTests = tests},
};
