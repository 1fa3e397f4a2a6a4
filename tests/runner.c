/*
 * runner.c: the single CUnit test runner.
 *
 *   sluice-tests              every suite that needs no audio server
 *   sluice-tests --jack       the suites that run against a private JACK
 *                             server; exit 77 (skipped) where jackd is not
 *                             installed
 *   sluice-tests SUITE...     the named suites only
 *   sluice-tests --list       the suite names
 *
 * Exit status: 0 all passed, 1 a test or suite set-up failed, 77 skipped.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "suites.h"

static const sl_test_suite *const all_suites[] = {
    &sl_suite_error,
    &sl_suite_fault,
    &sl_suite_ring,
    &sl_suite_jack,
    &sl_suite_portaudio,
    &sl_suite_pool,
    &sl_suite_effects,
    &sl_suite_chain,
    &sl_suite_scheduler,
    &sl_suite_source,
    &sl_suite_file_sink,
    &sl_suite_events,
    &sl_suite_null_sink,
    &sl_suite_sink,
    &sl_suite_engine,
    &sl_suite_latency,
    &sl_suite_rtsan,
    &sl_suite_engine_jack,
    /* Last: it poisons copies of PortAudio on purpose (src/pa_lib.h). */
    &sl_suite_sink_loss,
};
#define N_SUITES (sizeof all_suites / sizeof all_suites[0])

static const sl_test_suite *find_suite(const char *name)
{
    for (size_t i = 0; i < N_SUITES; i++)
        if (strcmp(all_suites[i]->info.pName, name) == 0)
            return all_suites[i];
    return NULL;
}

/* True when a jackd binary can be found, from $JACKD or on $PATH. */
static int jackd_installed(void)
{
    const char *jackd = getenv("JACKD");
    if (jackd != NULL && *jackd != '\0')
        return access(jackd, X_OK) == 0;
    return system("command -v jackd >/dev/null 2>&1") == 0;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: sluice-tests [--list | --jack | SUITE...]\n");
}

int main(int argc, char **argv)
{
    CU_SuiteInfo chosen[N_SUITES + 1];
    size_t n = 0;
    int jack = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t s = 0; s < N_SUITES; s++)
                printf("%s%s\n", all_suites[s]->info.pName,
                       all_suites[s]->needs_jack ? " (jack)" : "");
            return 0;
        } else if (strcmp(argv[i], "--jack") == 0) {
            jack = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 1;
        } else {
            const sl_test_suite *s = find_suite(argv[i]);
            if (s == NULL) {
                fprintf(stderr, "sluice-tests: no suite named '%s'\n", argv[i]);
                return 1;
            }
            if (s->needs_jack)
                jack = 1;
            chosen[n++] = s->info;
        }
    }
    if (n == 0)
        for (size_t s = 0; s < N_SUITES; s++)
            if (all_suites[s]->needs_jack == (jack != 0))
                chosen[n++] = all_suites[s]->info;
    chosen[n] = (CU_SuiteInfo)CU_SUITE_INFO_NULL;

    if (jack && !jackd_installed()) {
        printf("SKIP: jackd is not installed; the JACK suites did not run\n");
        return 77;
    }
    if (n == 0) {
        printf("sluice-tests: no suite selected\n");
        return 1;
    }

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (CU_register_suites(chosen) != CUE_SUCCESS) {
        fprintf(stderr, "sluice-tests: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int failed = CU_get_number_of_failures() != 0 ||
                 CU_get_number_of_suites_failed() != 0 ||
                 CU_get_number_of_tests_failed() != 0;
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
