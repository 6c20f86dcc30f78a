/* Error reporting: library functions return ET_OK (0) or a negative code and
 * leave a message (naming the file and what is wrong) in a per-thread buffer.
 * Only main() decides whether to exit. */
#ifndef EMOTRACE_ERROR_H
#define EMOTRACE_ERROR_H

enum {
    ET_OK = 0,
    ET_ERR = -1,          /* generic failure, see et_error_message() */
    ET_ERR_IO = -2,       /* reading or writing a file failed */
    ET_ERR_FORMAT = -3,   /* input is malformed or of the wrong kind */
    ET_ERR_NOMEM = -4,    /* allocation failed */
    ET_ERR_USAGE = -5,    /* bad argument or option */
    ET_ERR_INTERRUPTED = -6
};

/* Formats a message into this thread's buffer and returns code. */
int et_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the current message with more context ("file.mp4: " + old). */
int et_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *et_error_message(void);
void et_error_clear(void);

#endif
