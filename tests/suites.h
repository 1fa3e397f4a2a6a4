/*
 * suites.h: the test suites the runner knows. Each tests/test_*.c defines
 * one sl_test_suite; runner.c lists them.
 */
#ifndef SLUICE_TESTS_SUITES_H
#define SLUICE_TESTS_SUITES_H

#include <stdbool.h>
#include <CUnit/CUnit.h>

typedef struct sl_test_suite {
    CU_SuiteInfo info;
    /* Needs a JACK server (started by the suite through jack_fixture.h);
     * such suites run with --jack and are skipped where jackd is missing. */
    bool needs_jack;
} sl_test_suite;

extern const sl_test_suite sl_suite_error;
extern const sl_test_suite sl_suite_fault;
extern const sl_test_suite sl_suite_ring;
extern const sl_test_suite sl_suite_jack;
extern const sl_test_suite sl_suite_portaudio;
extern const sl_test_suite sl_suite_pool;
extern const sl_test_suite sl_suite_effects;
extern const sl_test_suite sl_suite_chain;
extern const sl_test_suite sl_suite_scheduler;
extern const sl_test_suite sl_suite_source;
extern const sl_test_suite sl_suite_file_sink;
extern const sl_test_suite sl_suite_events;
extern const sl_test_suite sl_suite_null_sink;
extern const sl_test_suite sl_suite_sink;
extern const sl_test_suite sl_suite_engine;
extern const sl_test_suite sl_suite_latency;
extern const sl_test_suite sl_suite_rtsan;
extern const sl_test_suite sl_suite_engine_jack;
/* Loses JACK servers on purpose: registered last. */
extern const sl_test_suite sl_suite_sink_loss;

#endif /* SLUICE_TESTS_SUITES_H */
