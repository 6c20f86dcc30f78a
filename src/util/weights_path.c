#include "emotrace/weights_path.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emotrace/error.h"

int et_weights_dirs(char dirs[][1024], int max)
{
    int n = 0;
    const char *env = getenv("EMOTRACE_WEIGHTS");
    if (env && *env && n < max)
        snprintf(dirs[n++], 1024, "%s", env);
    char exe[1024];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (n < max)
                snprintf(dirs[n++], 1024, "%s/weights", exe);
            /* build/<mode>/emotrace sits two levels below the source tree. */
            if (n < max)
                snprintf(dirs[n++], 1024, "%s/../../weights", exe);
            if (n < max)
                snprintf(dirs[n++], 1024, "%s/../share/emotrace", exe);
        }
    }
    if (n < max)
        snprintf(dirs[n++], 1024, "%s", ET_DATADIR);
    return n;
}

int et_weights_find(const char *name, char *path, size_t path_size)
{
    char dirs[8][1024];
    int n = et_weights_dirs(dirs, 8);
    char tried[2048] = "";
    for (int i = 0; i < n; i++) {
        snprintf(path, path_size, "%s/%s", dirs[i], name);
        if (access(path, R_OK) == 0) {
            char resolved[PATH_MAX];
            if (realpath(path, resolved))
                snprintf(path, path_size, "%s", resolved);
            return ET_OK;
        }
        size_t used = strlen(tried);
        if (snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", dirs[i]) < 0)
            break;
    }
    return et_error_set(ET_ERR_IO, "%s: weights file not found (looked in %s; set EMOTRACE_WEIGHTS)", name, tried);
}
