/*
 * tap.h
 *	  A minimal Test Anything Protocol producer for the C unit tests.
 *
 * Each unit test is one binary built from one test_*.c file, so this header
 * is the whole library and its counters are file-static.  It writes to stdout:
 *
 *	1..N						the plan: from tap_plan(), or from tap_done()
 *								when no plan was given
 *	ok K - name					a passing assertion
 *	not ok K - name				a failing one
 *	ok K - name # SKIP why		a skipped one; harnesses count it apart from
 *								passes, so skip only what cannot run here
 *	# text						a diagnostic (one line each)
 *
 * Names must not contain '#'.  Every line is flushed, so the output survives
 * a crash or a sanitizer abort.  main() ends with "return tap_done();", which
 * is non-zero when an assertion failed or the count differs from the plan.
 */
#ifndef LANCEDB_TEST_TAP_H
#define LANCEDB_TEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#define TAP_PRINTF(fmt_arg) __attribute__((format(printf, fmt_arg, fmt_arg + 1)))

static int	tap_planned = -1;	/* -1 until a plan is printed */
static int	tap_count;
static int	tap_failed;
static int	tap_skipped;

static inline void
tap_plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

/* Prints the rest of a line after its prefix */
static inline void
tap_vline(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static inline TAP_PRINTF(1) void
tap_diag(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	tap_vline("# ", fmt, ap);
	va_end(ap);
}

/* Records one assertion named by fmt; returns cond so callers can add diag */
static inline TAP_PRINTF(2) bool
tap_ok(bool cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	tap_vline("", fmt, ap);
	va_end(ap);
	return cond;
}

/* Records one assertion that cannot run here, with the reason */
static inline TAP_PRINTF(2) void
tap_skip(const char *why, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	tap_skipped++;
	printf("ok %d - ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", why);
	fflush(stdout);
}

/* Prints the summary (and the plan, if none was given); the exit status */
static inline int
tap_done(void)
{
	if (tap_planned < 0)
		tap_plan(tap_count);
	else if (tap_count != tap_planned)
		tap_diag("planned %d tests but ran %d", tap_planned, tap_count);
	tap_diag("%d tests: %d passed, %d failed, %d skipped", tap_count,
			 tap_count - tap_failed - tap_skipped, tap_failed, tap_skipped);
	return (tap_failed > 0 || tap_count != tap_planned) ? 1 : 0;
}

#endif							/* LANCEDB_TEST_TAP_H */
