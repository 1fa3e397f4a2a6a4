/*
 * test_latency.c: the latency controller (src/latency.c): how the target
 * is resolved from the config, growth on underruns, the hold after a
 * growth, shrinking after quiet stretches, exact boundaries, counter
 * resets, and invariants over long random sequences of inputs. No clock:
 * every time is an input.
 *
 * Thread: the CUnit (main) thread.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include <sluice/error.h>
#include "latency.h"
#include "suites.h"

#define S 1000000000ull /* one second in ns */
#define MS 1000000ull

static sl__latency_config config(bool adaptive)
{
    sl__latency_config cfg;

    sl__latency_config_default(&cfg);
    cfg.adaptive = adaptive;
    return cfg;
}

static sl__latency make(const sl__latency_config *cfg)
{
    sl__latency l;

    CU_ASSERT_EQUAL_FATAL(sl__latency_init(&l, cfg, 0), SL_OK);
    return l;
}

static void test_resolve(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);

    CU_ASSERT_EQUAL(sl__latency_target(&l), 1024); /* 4 periods of 256 */
    CU_ASSERT_EQUAL(sl__latency_floor(&l), 1024);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), 8192); /* 8 times */
    CU_ASSERT(fabs(sl__latency_ms(&l, 1024) - 21.3333333) < 1e-6);
    cfg.adaptive = false;
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), 1024);

    /* ms round up to whole periods, at least one. */
    cfg = config(true);
    cfg.target_ms = 20.0; /* 960 frames */
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1024);
    cfg.target_ms = 16.0; /* 768 frames, exactly 3 periods */
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_target(&l), 768);
    cfg.target_ms = 16.01; /* 768.48: a fourth period */
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1024);
    cfg.target_ms = 0.001;
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_target(&l), 256);
    cfg.max_ms = 100.0; /* 4800 frames: 19 periods = 4864 */
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), 4864);
    cfg.target_ms = 200.0; /* a ceiling below the target is the target */
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), sl__latency_floor(&l));

    /* The hard limit caps both, exactly. */
    cfg = config(true);
    cfg.limit_frames = 3000;
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_floor(&l), 1024);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), 3000);
    cfg.limit_frames = 500;
    l = make(&cfg);
    CU_ASSERT_EQUAL(sl__latency_target(&l), 500);
    CU_ASSERT_EQUAL(sl__latency_ceiling(&l), 500);

    CU_ASSERT(fabs(sl__latency_output_s(4800, 48000, 0.005) - 0.105) < 1e-12);
    CU_ASSERT(fabs(sl__latency_output_s(0, 48000, 0.0)) < 1e-12);
}

static void test_rejects(void)
{
    sl__latency l;
    sl__latency_config cfg = config(true);

    cfg.rate = 0;
    CU_ASSERT_EQUAL(sl__latency_init(&l, &cfg, 0), SL_EINVAL);
    cfg = config(true);
    cfg.period = 0;
    CU_ASSERT_EQUAL(sl__latency_init(&l, &cfg, 0), SL_EINVAL);
    cfg = config(true);
    cfg.target_ms = -1.0;
    CU_ASSERT_EQUAL(sl__latency_init(&l, &cfg, 0), SL_EINVAL);
    cfg = config(true);
    cfg.max_ms = NAN;
    CU_ASSERT_EQUAL(sl__latency_init(&l, &cfg, 0), SL_EINVAL);
    cfg = config(true);
    cfg.grow_factor = INFINITY;
    CU_ASSERT_EQUAL(sl__latency_init(&l, &cfg, 0), SL_EINVAL);
}

static void test_fixed_never_changes(void)
{
    sl__latency_config cfg = config(false);
    sl__latency l = make(&cfg);
    sl__latency_change c;

    for (uint64_t i = 1; i <= 100; i++)
        CU_ASSERT_FALSE(sl__latency_update(&l, i * 3 * S, i, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, 1000 * S, 100, &c));
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1024);
}

/* Grows by 1.5, rounded up to whole periods, one hold apart, to the
 * ceiling and no further. */
static void test_grow_to_ceiling(void)
{
    static const size_t steps[] = {1536, 2304, 3584, 5376, 8192};
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;
    uint64_t t = 0, u = 0;

    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t before = sl__latency_target(&l);
        t += cfg.hold_ns;
        CU_ASSERT_TRUE(sl__latency_update(&l, t, ++u, &c));
        CU_ASSERT_EQUAL(c.reason, SL__LATENCY_GROW);
        CU_ASSERT_EQUAL(c.from_frames, before);
        CU_ASSERT_EQUAL(c.to_frames, steps[i]);
        CU_ASSERT_EQUAL(c.underruns, u);
        CU_ASSERT_EQUAL(sl__latency_target(&l), steps[i]);
    }
    t += cfg.hold_ns;
    CU_ASSERT_FALSE(sl__latency_update(&l, t, ++u, &c)); /* at the ceiling */
    CU_ASSERT_EQUAL(sl__latency_target(&l), 8192);
}

/* At least one period per growth, whatever the factor. */
static void test_grow_at_least_a_period(void)
{
    sl__latency_config cfg = config(true);
    sl__latency_change c;

    cfg.target_ms = 1.0; /* one period */
    sl__latency l = make(&cfg);
    CU_ASSERT_TRUE(sl__latency_update(&l, S, 1, &c));
    CU_ASSERT_EQUAL(c.to_frames, 512); /* 384 rounded up */
    cfg.grow_factor = 1.0;
    l = make(&cfg);
    CU_ASSERT_TRUE(sl__latency_update(&l, S, 1, &c));
    CU_ASSERT_EQUAL(c.to_frames, 512);
    cfg.grow_factor = 0.5; /* below 1: still one period */
    l = make(&cfg);
    CU_ASSERT_TRUE(sl__latency_update(&l, S, 1, &c));
    CU_ASSERT_EQUAL(c.to_frames, 512);
    cfg.grow_factor = 4.0;
    l = make(&cfg);
    CU_ASSERT_TRUE(sl__latency_update(&l, S, 7, &c)); /* 7 at once: once */
    CU_ASSERT_EQUAL(c.to_frames, 1024);
}

/* Underruns within the hold after a growth do not grow again; one at
 * exactly the hold does. */
static void test_hold(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;
    uint64_t t0 = 5 * S;

    CU_ASSERT_TRUE(sl__latency_update(&l, t0, 1, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, t0 + 1, 2, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, t0 + cfg.hold_ns - 1, 3, &c));
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1536);
    CU_ASSERT_TRUE(sl__latency_update(&l, t0 + cfg.hold_ns, 4, &c));
    CU_ASSERT_EQUAL(c.to_frames, 2304);
    CU_ASSERT_EQUAL(c.underruns, 4);
    /* No new underrun: nothing, however often it is asked. */
    for (int i = 0; i < 10; i++)
        CU_ASSERT_FALSE(
            sl__latency_update(&l, t0 + cfg.hold_ns + (uint64_t)i * MS, 4, &c));
}

/* One period per quiet stretch, counted from the later of the last
 * underrun and the last change, down to the floor. */
static void test_shrink(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;
    uint64_t q = cfg.quiet_ns;

    CU_ASSERT_TRUE(sl__latency_update(&l, 0, 1, &c)); /* 1536 */
    CU_ASSERT_FALSE(sl__latency_update(&l, q - 1, 1, &c));
    CU_ASSERT_TRUE(sl__latency_update(&l, q, 1, &c));
    CU_ASSERT_EQUAL(c.reason, SL__LATENCY_SHRINK);
    CU_ASSERT_EQUAL(c.from_frames, 1536);
    CU_ASSERT_EQUAL(c.to_frames, 1280);
    CU_ASSERT_FALSE(sl__latency_update(&l, q + 1, 1, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, 2 * q - 1, 1, &c));
    CU_ASSERT_TRUE(sl__latency_update(&l, 2 * q, 1, &c));
    CU_ASSERT_EQUAL(c.to_frames, 1024);
    CU_ASSERT_FALSE(sl__latency_update(&l, 3 * q, 1, &c)); /* the floor */
    CU_ASSERT_FALSE(sl__latency_update(&l, 100 * q, 1, &c));
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1024);

    /* An underrun the hold absorbs still restarts the quiet stretch. */
    l = make(&cfg);
    CU_ASSERT_TRUE(sl__latency_update(&l, 0, 1, &c));           /* 1536 */
    CU_ASSERT_FALSE(sl__latency_update(&l, q / 20, 2, &c));     /* held */
    CU_ASSERT_FALSE(sl__latency_update(&l, q, 2, &c));
    CU_ASSERT_TRUE(sl__latency_update(&l, q + q / 20, 2, &c)); /* 1280 */

    /* From a ceiling the limit cut, shrinking returns to whole periods. */
    cfg.limit_frames = 1100;
    cfg.target_ms = 1.0;
    l = make(&cfg);
    for (uint64_t i = 1; i <= 3; i++) /* 512, 768, then 1100 */
        CU_ASSERT_TRUE(sl__latency_update(&l, i * cfg.hold_ns, i, &c));
    CU_ASSERT_EQUAL(sl__latency_target(&l), 1100); /* capped */
    uint64_t t = 3 * cfg.hold_ns;
    size_t seen[8], n = 0;
    while (n < 8 && sl__latency_update(&l, t += q, 3, &c))
        seen[n++] = c.to_frames;
    CU_ASSERT_EQUAL(n, 4); /* back to whole periods first */
    CU_ASSERT_EQUAL(seen[0], 1024);
    CU_ASSERT_EQUAL(seen[1], 768);
    CU_ASSERT_EQUAL(seen[3], 256);
}

/* The hysteresis in numbers: one underrun at the floor costs two quiet
 * stretches (20 s) before the target is back. */
static void test_hysteresis_timeline(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;
    uint64_t back = 0;

    CU_ASSERT_TRUE(sl__latency_update(&l, S, 1, &c));
    for (uint64_t t = S; t <= 60 * S && back == 0; t += 100 * MS)
        if (sl__latency_update(&l, t, 1, &c) && c.to_frames == 1024)
            back = t;
    printf("\n    one underrun at 21.3 ms: 32.0 ms, back after %.1f s ",
           (double)(back - S) / 1e9);
    CU_ASSERT_EQUAL(back, 21 * S);
}

/* A lower count is a new sink: a new baseline, not an underrun. */
static void test_counter_reset(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;

    CU_ASSERT_TRUE(sl__latency_update(&l, S, 5, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, 3 * S, 0, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, 4 * S, 0, &c));
    CU_ASSERT_TRUE(sl__latency_update(&l, 5 * S, 1, &c));
    CU_ASSERT_EQUAL(c.underruns, 1);
}

/* A time before the last one counts as the last one. */
static void test_time_backwards(void)
{
    sl__latency_config cfg = config(true);
    sl__latency l = make(&cfg);
    sl__latency_change c;

    CU_ASSERT_TRUE(sl__latency_update(&l, 10 * S, 1, &c));
    CU_ASSERT_FALSE(sl__latency_update(&l, 0, 2, &c)); /* within the hold */
    CU_ASSERT_FALSE(sl__latency_update(&l, 19 * S, 2, &c));
    CU_ASSERT_TRUE(sl__latency_update(&l, 20 * S, 2, &c)); /* shrink */
    CU_ASSERT_EQUAL(c.reason, SL__LATENCY_SHRINK);
}

/* ------------------------------------------------------------ invariants */

static uint64_t lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state >> 33;
}

typedef struct model {
    uint64_t now, last_underrun, last_change, last_grow;
    bool grown;
    uint64_t seen;
} model;

/* Runs `steps` random updates and checks every step against the rules
 * of latency.h; returns the number of rule violations. */
static unsigned run_random(const sl__latency_config *cfg, uint64_t seed,
                           unsigned steps, unsigned *grows, unsigned *shrinks)
{
    sl__latency l;
    model m = {0};
    uint64_t rnd = seed, u = 0;
    unsigned bad = 0;

    if (sl__latency_init(&l, cfg, 0) != SL_OK)
        return 1;
    size_t floor = sl__latency_floor(&l), ceiling = sl__latency_ceiling(&l);
    for (unsigned i = 0; i < steps; i++) {
        uint64_t r = lcg(&rnd);
        uint64_t dt = r % 8 == 0 ? lcg(&rnd) % (12 * S) : lcg(&rnd) % (300 * MS);
        uint64_t t = r % 97 == 0 && m.now > dt ? m.now - dt : m.now + dt;
        if (r % 1009 == 0)
            u = lcg(&rnd) % 3; /* a new sink */
        else if (r % 13 == 0)
            u += 1 + lcg(&rnd) % 3;
        size_t before = sl__latency_target(&l);
        sl__latency_change c = {0};
        bool changed = sl__latency_update(&l, t, u, &c);
        size_t after = sl__latency_target(&l);

        if (t > m.now)
            m.now = t;
        bool underrun = u > m.seen;
        if (u != m.seen)
            m.seen = u;
        bad += changed != (after != before);
        bad += after < floor || after > ceiling;
        bad += !cfg->adaptive && changed;
        if (changed) {
            bad += c.from_frames != before || c.to_frames != after;
            if (c.reason == SL__LATENCY_GROW) {
                (*grows)++;
                bad += !underrun || after <= before;
                bad += after != ceiling &&
                       (after % cfg->period != 0 || after < before + cfg->period);
                bad += m.grown && m.now - m.last_grow < l.hold_ns;
                m.grown = true;
                m.last_grow = m.now;
            } else {
                (*shrinks)++;
                bad += underrun || c.reason != SL__LATENCY_SHRINK;
                bad += before - after > cfg->period ||
                       (after % cfg->period != 0 && after != floor);
                bad += m.now - m.last_underrun < l.quiet_ns ||
                       m.now - m.last_change < l.quiet_ns;
            }
            m.last_change = m.now;
        } else if (cfg->adaptive) {
            /* Nothing happened though a rule says it should have. */
            bool could_grow = underrun && before < ceiling &&
                              (!m.grown || m.now - m.last_grow >= l.hold_ns);
            bool could_shrink = !underrun && before > floor &&
                                m.now - m.last_underrun >= l.quiet_ns &&
                                m.now - m.last_change >= l.quiet_ns;
            bad += could_grow || could_shrink;
        }
        if (underrun)
            m.last_underrun = m.now;
    }
    return bad;
}

static void test_random_invariants(void)
{
    static const struct {
        unsigned period;
        double factor, target_ms, max_ms;
        size_t limit;
        bool adaptive;
    } cases[] = {
        {256, 1.5, 0, 0, 0, true},      {64, 2.0, 5, 300, 0, true},
        {1000, 1.0, 0, 0, 0, true},     {256, 1.5, 30, 60, 2500, true},
        {128, 3.0, 0, 0, 100000, true}, {256, 1.5, 0, 0, 0, false},
    };
    unsigned total_bad = 0, grows = 0, shrinks = 0;

    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        sl__latency_config cfg = config(cases[k].adaptive);
        cfg.period = cases[k].period;
        cfg.grow_factor = cases[k].factor;
        cfg.target_ms = cases[k].target_ms;
        cfg.max_ms = cases[k].max_ms;
        cfg.limit_frames = cases[k].limit;
        for (uint64_t seed = 1; seed <= 20; seed++)
            total_bad += run_random(&cfg, seed * 7919 + k, 20000, &grows,
                                    &shrinks);
    }
    printf("\n    2.4 M random updates: %u grows, %u shrinks, %u rule "
           "violations ",
           grows, shrinks, total_bad);
    CU_ASSERT_EQUAL(total_bad, 0);
    CU_ASSERT(grows > 1000);
    CU_ASSERT(shrinks > 1000);
}

static CU_TestInfo tests[] = {
    {"target from config: periods, ms, ceiling, limit", test_resolve},
    {"bad configs are refused", test_rejects},
    {"fixed mode never changes", test_fixed_never_changes},
    {"underruns grow the target by 1.5 to the ceiling", test_grow_to_ceiling},
    {"a growth adds at least one period", test_grow_at_least_a_period},
    {"underruns within the hold grow once", test_hold},
    {"quiet stretches shrink one period each, to the floor", test_shrink},
    {"one underrun takes two quiet stretches to undo",
     test_hysteresis_timeline},
    {"a lower underrun count is a new baseline", test_counter_reset},
    {"time going backwards is the last time", test_time_backwards},
    {"rules hold over 2.4 M random updates", test_random_invariants},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_latency = {
    .info = {.pName = "latency", .pTests = tests},
};
