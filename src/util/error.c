#include "emotrace/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char error_buffer[1024];

int et_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_buffer, sizeof error_buffer, fmt, ap);
    va_end(ap);
    return code;
}

int et_error_wrap(int code, const char *fmt, ...)
{
    char old[sizeof error_buffer];
    char prefix[512];
    va_list ap;
    memcpy(old, error_buffer, sizeof old);
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    snprintf(error_buffer, sizeof error_buffer, "%s%s", prefix, old);
    return code;
}

const char *et_error_message(void)
{
    return error_buffer[0] ? error_buffer : "unknown error";
}

void et_error_clear(void)
{
    error_buffer[0] = '\0';
}
