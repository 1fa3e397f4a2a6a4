/*
 * test_error.c: the error table, sl_strerror() and sl_error_name().
 */
#include "config.h"

#include <string.h>

#include <sluice/error.h>
#include "suites.h"

static void test_values_are_frozen(void)
{
    CU_ASSERT_EQUAL(SL_OK, 0);
    CU_ASSERT_EQUAL(SL_EINVAL, -1);
    CU_ASSERT_EQUAL(SL_ENOMEM, -2);
    CU_ASSERT_EQUAL(SL_EFULL, -3);
    CU_ASSERT_EQUAL(SL_ETIMEDOUT, -5);
    CU_ASSERT_EQUAL(SL_EBUSY, -17);
}

static void test_every_code_has_a_distinct_name_and_message(void)
{
    static const int codes[] = {
#define CODE(name, value, msg) SL_##name,
        SL_ERROR_TABLE(CODE)
#undef CODE
    };
    size_t n = sizeof codes / sizeof codes[0];

    for (size_t i = 0; i < n; i++) {
        const char *name = sl_error_name(codes[i]);
        const char *msg = sl_strerror(codes[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
        CU_ASSERT_NSTRING_EQUAL(name, "SL_", 3);
        CU_ASSERT_STRING_NOT_EQUAL(name, "SL_UNKNOWN");
        CU_ASSERT_STRING_NOT_EQUAL(msg, "unknown error");
        CU_ASSERT(codes[i] <= 0);
        for (size_t j = 0; j < i; j++) {
            CU_ASSERT_NOT_EQUAL(codes[i], codes[j]);
            CU_ASSERT_STRING_NOT_EQUAL(name, sl_error_name(codes[j]));
        }
    }
}

static void test_names_match_the_enum(void)
{
    CU_ASSERT_STRING_EQUAL(sl_error_name(SL_OK), "SL_OK");
    CU_ASSERT_STRING_EQUAL(sl_error_name(SL_EINVAL), "SL_EINVAL");
    CU_ASSERT_STRING_EQUAL(sl_error_name(SL_EFULL), "SL_EFULL");
    CU_ASSERT_STRING_EQUAL(sl_strerror(SL_ENOMEM), "out of memory");
    CU_ASSERT_STRING_EQUAL(sl_strerror(SL_OK), "success");
}

static void test_unknown_codes(void)
{
    CU_ASSERT_STRING_EQUAL(sl_strerror(-9999), "unknown error");
    CU_ASSERT_STRING_EQUAL(sl_strerror(42), "unknown error");
    CU_ASSERT_STRING_EQUAL(sl_error_name(-9999), "SL_UNKNOWN");
}

static CU_TestInfo tests[] = {
    {"values are frozen", test_values_are_frozen},
    {"every code has a distinct name and message",
     test_every_code_has_a_distinct_name_and_message},
    {"names match the enum", test_names_match_the_enum},
    {"unknown codes", test_unknown_codes},
    CU_TEST_INFO_NULL,
};

const sl_test_suite sl_suite_error = {
    .info = {.pName = "error", .pTests = tests},
};
