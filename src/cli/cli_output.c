/* Writing a finished text (SVG, HTML) to a file or standard output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_write_text(const char *command, const char *path, const char *text, size_t length)
{
    int to_stdout = !strcmp(path, "-");
    FILE *f = to_stdout ? stdout : fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "emotrace: %s: %s: %s\n", command, path, strerror(errno));
        return EXIT_SOME_FAILED;
    }
    int ok = fwrite(text, 1, length, f) == length;
    ok = (to_stdout ? fflush(f) : fclose(f)) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "emotrace: %s: %s: write error\n", command, to_stdout ? "standard output" : path);
        return EXIT_SOME_FAILED;
    }
    return EXIT_OK;
}
