/*
 * test_events.c: event names, the event queue (order, drops, four
 * producers into one consumer) and the logger (drain thread, order per
 * producer, drop report, prompt shutdown).
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/error.h>
#include <sluice/events.h>
#include "clock.h"
#include "evq.h"
#include "log.h"
#include "suites.h"

/* ------------------------------------------------------------ names */

static void test_event_and_level_names(void)
{
    static const sl_event_type all[] = {
#define SL__T(name, value) SL_EVENT_##name,
        SL_EVENT_TYPE_TABLE(SL__T)
#undef SL__T
    };
    size_t n = sizeof all / sizeof all[0];

    CU_ASSERT_EQUAL(n, 12);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(all[i], (sl_event_type)i); /* values are dense */
        CU_ASSERT_STRING_NOT_EQUAL(sl_event_type_name(all[i]), "UNKNOWN");
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(sl_event_type_name(all[i]),
                                       sl_event_type_name(all[j]));
    }
    CU_ASSERT_STRING_EQUAL(sl_event_type_name(SL_EVENT_TRACK_FAILED),
                           "TRACK_FAILED");
    CU_ASSERT_STRING_EQUAL(sl_event_type_name(SL_EVENT_SCHED_SLOW_TICK),
                           "SCHED_SLOW_TICK");
    CU_ASSERT_STRING_EQUAL(sl_event_type_name((sl_event_type)99), "UNKNOWN");
    CU_ASSERT_STRING_EQUAL(sl_log_level_name(SL_LOG_ERROR), "error");
    CU_ASSERT_STRING_EQUAL(sl_log_level_name(SL_LOG_DEBUG), "debug");
    CU_ASSERT_STRING_EQUAL(sl_log_level_name((sl_log_level)7), "unknown");
}

/* ------------------------------------------------------------ evq */

static void test_evq_fifo_and_fields(void)
{
    char long_reason[300];
    sl__evq *q;
    sl_event ev;

    CU_ASSERT_EQUAL(sl__evq_create(NULL, 8), SL_EINVAL);
    CU_ASSERT_EQUAL(sl__evq_create(&q, 0), SL_EINVAL);
    CU_ASSERT_EQUAL_FATAL(sl__evq_create(&q, 5), SL_OK);
    CU_ASSERT_EQUAL(sl__evq_capacity(q), 8);
    CU_ASSERT_EQUAL(sl__evq_pop(q, &ev), SL_EEMPTY);
    memset(long_reason, 'r', sizeof long_reason - 1);
    long_reason[sizeof long_reason - 1] = '\0';
    uint64_t before = sl__now_ns();
    CU_ASSERT_EQUAL(sl__evq_send(q, SL_EVENT_TRACK_FAILED, 7, SL_EIO, 1234,
                                 long_reason), SL_OK);
    sl_event pos = {.type = SL_EVENT_POSITION, .track = 8, .frame = 99,
                    .time_ns = 5};
    CU_ASSERT_EQUAL(sl__evq_push(q, &pos), SL_OK);
    CU_ASSERT_EQUAL(sl__evq_send(q, SL_EVENT_TRACK_ENDED, 9, 0, 1, NULL),
                    SL_OK);

    CU_ASSERT_EQUAL_FATAL(sl__evq_pop(q, &ev), SL_OK);
    CU_ASSERT_EQUAL(ev.type, SL_EVENT_TRACK_FAILED);
    CU_ASSERT_EQUAL(ev.track, 7);
    CU_ASSERT_EQUAL(ev.error, SL_EIO);
    CU_ASSERT_EQUAL(ev.frame, 1234);
    CU_ASSERT(ev.time_ns >= before);
    CU_ASSERT_EQUAL(strlen(ev.reason), SL_EVENT_REASON_MAX - 1);
    CU_ASSERT_EQUAL_FATAL(sl__evq_pop(q, &ev), SL_OK);
    CU_ASSERT_EQUAL(ev.type, SL_EVENT_POSITION);
    CU_ASSERT_EQUAL(ev.frame, 99);
    CU_ASSERT_EQUAL(ev.time_ns, 5); /* a given time is kept */
    CU_ASSERT_EQUAL_FATAL(sl__evq_pop(q, &ev), SL_OK);
    CU_ASSERT_EQUAL(ev.type, SL_EVENT_TRACK_ENDED);
    CU_ASSERT_STRING_EQUAL(ev.reason, "");
    CU_ASSERT_EQUAL(sl__evq_pop(q, &ev), SL_EEMPTY);
    sl__evq_destroy(q);
}

static void test_evq_full_drops_and_reports(void)
{
    sl__evq *q;
    sl_event ev;

    CU_ASSERT_EQUAL_FATAL(sl__evq_create(&q, 4), SL_OK);
    for (int64_t i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(sl__evq_send(q, SL_EVENT_POSITION, 1, 0, i, NULL),
                        i < 4 ? SL_OK : SL_EFULL);
    CU_ASSERT_EQUAL(sl__evq_dropped(q), 6);
    /* The drop report comes first, once, then the queued events. */
    CU_ASSERT_EQUAL_FATAL(sl__evq_pop(q, &ev), SL_OK);
    CU_ASSERT_EQUAL(ev.type, SL_EVENT_EVENTS_DROPPED);
    CU_ASSERT_EQUAL(ev.value, 6);
    for (int64_t i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL_FATAL(sl__evq_pop(q, &ev), SL_OK);
        CU_ASSERT_EQUAL(ev.type, SL_EVENT_POSITION);
        CU_ASSERT_EQUAL(ev.frame, i);
    }
    CU_ASSERT_EQUAL(sl__evq_pop(q, &ev), SL_EEMPTY);
    /* Room again, across the lap. */
    for (int64_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sl__evq_send(q, SL_EVENT_POSITION, 1, 0, i, NULL),
                        SL_OK);
    CU_ASSERT_EQUAL(sl__evq_dropped(q), 6);
    sl__evq_destroy(q);
}

typedef struct flood_arg {
    sl__evq *q;
    uint64_t pushes;
} flood_arg;

static void *flood(void *p)
{
    flood_arg *a = p;

    for (uint64_t i = 0; i < a->pushes; i++)
        sl__evq_send(a->q, SL_EVENT_POSITION, 1, 0, (int64_t)i, NULL);
    return NULL;
}

static void test_evq_full_never_blocks(void)
{
    flood_arg a = {.pushes = 1000000};
    pthread_t t;
    struct timespec deadline;

    CU_ASSERT_EQUAL_FATAL(sl__evq_create(&a.q, 8), SL_OK);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, flood, &a), 0);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    /* Nobody consumes: a producer that waited for room would never
     * finish. */
    int r = pthread_timedjoin_np(t, NULL, &deadline);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    CU_ASSERT_EQUAL(sl__evq_dropped(a.q), a.pushes - 8);
    sl__evq_destroy(a.q);
}

#define PRODUCERS 4
#define PER_PRODUCER 250000

typedef struct mp_producer {
    sl__evq *q;
    uint64_t id;
    uint64_t full; /* pushes refused */
} mp_producer;

static void *mp_produce(void *p)
{
    mp_producer *pr = p;

    for (int64_t i = 0; i < PER_PRODUCER; i++) {
        while (sl__evq_send(pr->q, SL_EVENT_POSITION, pr->id, 0, i, NULL) !=
               SL_OK) {
            /* Sleep rather than yield: with more threads than cores, a
             * yielding producer would keep taking the consumer's core. */
            struct timespec nap = {0, 20000};
            pr->full++;
            nanosleep(&nap, NULL);
        }
    }
    return NULL;
}

/* Takes one event; checks per-producer order. Returns 1 for a producer's
 * event, 0 for a drop report or nothing, -1 on a bad event. */
static int mp_take(sl__evq *q, int64_t next[PRODUCERS], uint64_t *reported)
{
    sl_event ev;

    if (sl__evq_pop(q, &ev) != SL_OK)
        return 0;
    if (ev.type == SL_EVENT_EVENTS_DROPPED) {
        *reported += (uint64_t)ev.value;
        return 0;
    }
    if (ev.type != SL_EVENT_POSITION || ev.track < 1 ||
        ev.track > PRODUCERS || ev.frame != next[ev.track - 1])
        return -1;
    next[ev.track - 1]++;
    return 1;
}

static void test_evq_four_producers_one_consumer(void)
{
    mp_producer pr[PRODUCERS];
    pthread_t t[PRODUCERS];
    int64_t next[PRODUCERS] = {0};
    uint64_t got = 0, reported = 0, full = 0, bad = 0;
    sl__evq *q;

    CU_ASSERT_EQUAL_FATAL(sl__evq_create(&q, 1024), SL_OK);
    uint64_t t0 = sl__now_ns();
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (mp_producer){.q = q, .id = (uint64_t)i + 1};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, mp_produce, &pr[i]),
                              0);
    }
    while (got < (uint64_t)PRODUCERS * PER_PRODUCER && bad == 0) {
        int r = mp_take(q, next, &reported);
        if (r < 0)
            bad++;
        got += r > 0;
        if (r == 0)
            sched_yield();
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        full += pr[i].full;
    }
    uint64_t t1 = sl__now_ns();
    /* The last drop report, and nothing else, is left. */
    for (int i = 0; i < 4 && mp_take(q, next, &reported) == 0; i++)
        ;
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(got, (uint64_t)PRODUCERS * PER_PRODUCER);
    for (int i = 0; i < PRODUCERS; i++)
        CU_ASSERT_EQUAL(next[i], PER_PRODUCER);
    CU_ASSERT_EQUAL(reported, full);
    CU_ASSERT_EQUAL(sl__evq_dropped(q), full);
    CU_ASSERT_EQUAL(sl__evq_pop(q, &(sl_event){0}), SL_EEMPTY);
    fprintf(stderr, "\n    evq: %d x %d events in %.0f ms (%.1f M/s), "
            "%" PRIu64 " pushes refused ", PRODUCERS, PER_PRODUCER,
            (double)(t1 - t0) / 1e6,
            (double)got * 1e3 / (double)(t1 - t0), full);
    sl__evq_destroy(q);
}

/* ------------------------------------------------------------ logger */

#define LOG_PRODUCERS 2
#define LOG_PER_PRODUCER 20000

typedef struct log_sink {
    pthread_t producers[LOG_PRODUCERS];
    pthread_t main_thread;
    pthread_t drain;
    int calls;
    int off_thread; /* calls on a producer, on main, or on two threads */
    int next[LOG_PRODUCERS];
    int out_of_order;
    uint64_t drop_lines_total; /* the N of "N messages dropped" lines */
    char last[SL_LOG_MESSAGE_MAX];
    sl_log_level last_level;
} log_sink;

static void collect(sl_log_level level, const char *message, void *user)
{
    log_sink *s = user;
    int p, m;
    uint64_t n;

    /* Atomic: one test watches the count while the drain thread runs. */
    if (__atomic_fetch_add(&s->calls, 1, __ATOMIC_RELEASE) == 0)
        s->drain = pthread_self();
    if (!pthread_equal(s->drain, pthread_self()) ||
        pthread_equal(s->main_thread, pthread_self()))
        s->off_thread++;
    for (int i = 0; i < LOG_PRODUCERS; i++)
        if (pthread_equal(s->producers[i], pthread_self()))
            s->off_thread++;
    snprintf(s->last, sizeof s->last, "%s", message);
    s->last_level = level;
    if (sscanf(message, "p%d m%d", &p, &m) == 2 && p >= 0 &&
        p < LOG_PRODUCERS) {
        if (m != s->next[p])
            s->out_of_order++;
        s->next[p] = m + 1;
    } else if (sscanf(message, "%" SCNu64 " message", &n) == 1 &&
               strstr(message, "dropped") != NULL) {
        s->drop_lines_total += n;
    }
}

typedef struct log_producer {
    sl__logger *lg;
    int id;
} log_producer;

static void *log_produce(void *p)
{
    log_producer *pr = p;

    for (int m = 0; m < LOG_PER_PRODUCER; m++)
        while (sl__log(pr->lg, SL_LOG_INFO, "p%d m%d", pr->id, m) != SL_OK) {
            struct timespec nap = {0, 20000};
            nanosleep(&nap, NULL);
        }
    return NULL;
}

static void test_log_two_producers_in_order_on_drain_thread(void)
{
    log_sink s = {.main_thread = pthread_self()};
    log_producer pr[LOG_PRODUCERS];
    sl__logger *lg;

    CU_ASSERT_EQUAL_FATAL(sl__log_create(&lg, 256, SL_LOG_DEBUG, collect, &s),
                          SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl__log_start(lg), SL_OK);
    CU_ASSERT_EQUAL(sl__log_start(lg), SL_ESTATE);
    for (int i = 0; i < LOG_PRODUCERS; i++) {
        pr[i] = (log_producer){.lg = lg, .id = i};
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&s.producers[i], NULL, log_produce, &pr[i]), 0);
    }
    for (int i = 0; i < LOG_PRODUCERS; i++)
        pthread_join(s.producers[i], NULL);
    uint64_t t0 = sl__now_ns();
    sl__log_stop(lg);
    uint64_t stop_ns = sl__now_ns() - t0;
    /* Everything published before the stop was delivered. */
    for (int i = 0; i < LOG_PRODUCERS; i++)
        CU_ASSERT_EQUAL(s.next[i], LOG_PER_PRODUCER);
    CU_ASSERT_EQUAL(s.out_of_order, 0);
    CU_ASSERT_EQUAL(s.off_thread, 0);
    /* Every refused message was counted and reported. */
    CU_ASSERT_EQUAL(s.drop_lines_total, sl__log_dropped(lg));
    CU_ASSERT(stop_ns < 500000000u);
    fprintf(stderr, "\n    log: stop took %.2f ms, %" PRIu64
            " refused and reported ", (double)stop_ns / 1e6,
            sl__log_dropped(lg));
    sl__log_destroy(lg);
}

static void test_log_drop_report_and_restart(void)
{
    log_sink s = {.main_thread = pthread_self()};
    sl__logger *lg;

    CU_ASSERT_EQUAL_FATAL(sl__log_create(&lg, 4, SL_LOG_INFO, collect, &s),
                          SL_OK);
    /* Not started: the ring fills, the rest is dropped and counted. */
    for (int m = 0; m < 10; m++)
        CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_WARN, "p0 m%d", m),
                        m < 4 ? SL_OK : SL_EFULL);
    CU_ASSERT_EQUAL(sl__log_dropped(lg), 6);
    CU_ASSERT_EQUAL_FATAL(sl__log_start(lg), SL_OK);
    sl__log_stop(lg);
    CU_ASSERT_EQUAL(s.calls, 5);
    CU_ASSERT_EQUAL(s.next[0], 4);
    CU_ASSERT_STRING_EQUAL(s.last, "6 messages dropped");
    CU_ASSERT_EQUAL(s.last_level, SL_LOG_WARN);
    /* A second run delivers what is logged while it runs. */
    s.calls = 0;
    CU_ASSERT_EQUAL_FATAL(sl__log_start(lg), SL_OK);
    CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_ERROR, "p0 m4"), SL_OK);
    sl__log_stop(lg);
    CU_ASSERT_EQUAL(s.next[0], 5);
    CU_ASSERT_EQUAL(s.out_of_order, 0);
    sl__log_destroy(lg);
}

static void test_log_levels_and_no_callback(void)
{
    log_sink s = {.main_thread = pthread_self()};
    sl__logger *lg;

    CU_ASSERT_EQUAL_FATAL(sl__log_create(&lg, 4, SL_LOG_WARN, collect, &s),
                          SL_OK);
    CU_ASSERT(sl__log_enabled(lg, SL_LOG_ERROR));
    CU_ASSERT(!sl__log_enabled(lg, SL_LOG_INFO));
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_DEBUG, "noise %d", i), SL_OK);
    CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_ERROR, "p0 m0"), SL_OK);
    CU_ASSERT_EQUAL(sl__log_start(lg), SL_OK);
    sl__log_destroy(lg); /* stops and flushes */
    CU_ASSERT_EQUAL(s.calls, 1);
    CU_ASSERT_STRING_EQUAL(s.last, "p0 m0");

    /* No callback: discarded before formatting, never counted. */
    CU_ASSERT_EQUAL_FATAL(sl__log_create(&lg, 2, SL_LOG_DEBUG, NULL, NULL),
                          SL_OK);
    CU_ASSERT(!sl__log_enabled(lg, SL_LOG_ERROR));
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_ERROR, "x %d", i), SL_OK);
    CU_ASSERT_EQUAL(sl__log_dropped(lg), 0);
    CU_ASSERT_EQUAL(sl__log_start(lg), SL_OK);
    sl__log_destroy(lg);
    CU_ASSERT_EQUAL(sl__log(NULL, SL_LOG_ERROR, "x"), SL_OK);
}

static void test_log_wakes_parked_drain_promptly(void)
{
    log_sink s = {.main_thread = pthread_self()};
    struct timespec nap = {0, 50000000};
    sl__logger *lg;

    CU_ASSERT_EQUAL_FATAL(sl__log_create(&lg, 16, SL_LOG_INFO, collect, &s),
                          SL_OK);
    CU_ASSERT_EQUAL_FATAL(sl__log_start(lg), SL_OK);
    nanosleep(&nap, NULL); /* the drain thread parks (for up to 1 s) */
    uint64_t t0 = sl__now_ns();
    CU_ASSERT_EQUAL(sl__log(lg, SL_LOG_INFO, "p0 m0"), SL_OK);
    while (__atomic_load_n(&s.calls, __ATOMIC_ACQUIRE) == 0 &&
           sl__now_ns() - t0 < 2000000000u)
        sched_yield();
    uint64_t woke_ns = sl__now_ns() - t0;
    nanosleep(&nap, NULL);
    t0 = sl__now_ns();
    sl__log_stop(lg);
    uint64_t stop_ns = sl__now_ns() - t0;
    CU_ASSERT(woke_ns < 200000000u);
    CU_ASSERT(stop_ns < 200000000u);
    CU_ASSERT_EQUAL(s.calls, 1);
    sl__log_destroy(lg);
}

static CU_TestInfo tests[] = {
    {"event and level names", test_event_and_level_names},
    {"evq: FIFO and fields", test_evq_fifo_and_fields},
    {"evq: full queue drops, counts and reports",
     test_evq_full_drops_and_reports},
    {"evq: a full queue never blocks a producer", test_evq_full_never_blocks},
    {"evq: 4 producers x 250000 into one consumer",
     test_evq_four_producers_one_consumer},
    {"log: 2 producers, in order, on the drain thread",
     test_log_two_producers_in_order_on_drain_thread},
    {"log: drop report, restart", test_log_drop_report_and_restart},
    {"log: levels, no callback", test_log_levels_and_no_callback},
    {"log: a message wakes the parked drain promptly",
     test_log_wakes_parked_drain_promptly},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_events = {
    .info = {.pName = "events", .pTests = tests},
};
