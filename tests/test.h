/* Minimal test harness: TEST(name) registers a test at load time; CHECK*
 * record a failure (file:line and message) and let the test go on; SKIP
 * ends a test that cannot run here, counted as skipped, never as passed. */
#ifndef EMOTRACE_TEST_H
#define EMOTRACE_TEST_H

#include <math.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Marks the running test skipped (printed with the reason and counted
 * apart; a failure recorded as well still fails it). */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Directory for scratch files of the running test (created, emptied on success). */
const char *test_tmpdir(void);

#define TEST(name)                                                        \
    static void name(void);                                               \
    __attribute__((constructor)) static void register_##name(void)        \
    {                                                                     \
        test_register(#name, name);                                       \
    }                                                                     \
    static void name(void)

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond))                                                      \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);            \
    } while (0)

#define CHECK_MSG(cond, ...)                                              \
    do {                                                                  \
        if (!(cond))                                                      \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                   \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                \
    do {                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);              \
        if (a_ != b_)                                                     \
            test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
                      #a, a_, #b, b_);                                    \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                             \
    do {                                                                  \
        double a_ = (double)(a), b_ = (double)(b);                        \
        if (!(fabs(a_ - b_) <= (tol)))                                    \
            test_fail(__FILE__, __LINE__, "%s = %.9g, expected %.9g (tol %g)", \
                      #a, a_, b_, (double)(tol));                         \
    } while (0)

/* Returns from the test when cond is false (for preconditions). */
#define REQUIRE(cond)                                                     \
    do {                                                                  \
        if (!(cond)) {                                                    \
            test_fail(__FILE__, __LINE__, "REQUIRE(%s)", #cond);          \
            return;                                                       \
        }                                                                 \
    } while (0)

/* Skips the rest of the test, saying why (a check that cannot run here). */
#define SKIP(...)                                                         \
    do {                                                                  \
        test_skip(__VA_ARGS__);                                           \
        return;                                                           \
    } while (0)

#endif
