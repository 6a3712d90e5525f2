/*
 * error.c
 *	  LanceError: the optional, NULL-safe error message every library call
 *	  fills on failure (see lance.h, "Conventions").
 *
 * The message is formatted into the caller's fixed buffer, so reporting an
 * error never allocates and can never fail itself.
 */
#include "lance/lance_internal.h"

#include <stdarg.h>
#include <stdio.h>

int
LanceErrorSetV(LanceError *error, int code, const char *fmt, va_list ap)
{
	if (error != NULL)
		vsnprintf(error->message, sizeof(error->message), fmt, ap);
	return code;
}

int
LanceErrorSet(LanceError *error, int code, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	code = LanceErrorSetV(error, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *
LanceErrorMessage(const LanceError *error)
{
	return error == NULL ? "" : error->message;
}
