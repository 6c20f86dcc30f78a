/* Directory listing in natural order, for folders of numbered frames. */
#include "emotrace/dir_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emotrace/error.h"

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int et_natural_compare(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (is_digit(*p) && is_digit(*q)) {
            /* Compare the runs as numbers: without leading zeros, the longer
             * run is larger, and equal lengths compare digit by digit. */
            while (*p == '0')
                p++;
            while (*q == '0')
                q++;
            const unsigned char *pe = p, *qe = q;
            while (is_digit(*pe))
                pe++;
            while (is_digit(*qe))
                qe++;
            size_t pl = (size_t)(pe - p), ql = (size_t)(qe - q);
            if (pl != ql)
                return pl < ql ? -1 : 1;
            int c = memcmp(p, q, pl);
            if (c)
                return c < 0 ? -1 : 1;
            p = pe;
            q = qe;
            continue;
        }
        if (*p != *q)
            return *p < *q ? -1 : 1;
        p++;
        q++;
    }
    if (*p || *q)
        return *p ? 1 : -1;
    int c = strcmp(a, b);
    return (c > 0) - (c < 0);
}

static int compare_paths(const void *x, const void *y)
{
    return et_natural_compare(*(char *const *)x, *(char *const *)y);
}

typedef struct {
    char **paths;
    size_t count, capacity;
} path_vec;

static int push(path_vec *v, char *path)
{
    if (v->count == v->capacity) {
        size_t cap = v->capacity ? v->capacity * 2 : 64;
        char **p = realloc(v->paths, cap * sizeof *p);
        if (!p)
            return ET_ERR_NOMEM;
        v->paths = p;
        v->capacity = cap;
    }
    v->paths[v->count++] = path;
    return ET_OK;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] != '/';
    size_t len = n + (size_t)slash + strlen(name) + 1;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s%s%s", dir, slash ? "/" : "", name);
    return s;
}

static int collect(const char *dir, int flags, path_vec *out)
{
    int ret = ET_OK;
    char *path = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return et_error_set(ET_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                ret = et_error_set(ET_ERR_IO, "%s: cannot read directory: %s", dir, strerror(errno));
            break;
        }
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        if (name[0] == '.' && !(flags & ET_DIR_HIDDEN))
            continue;
        if (!(path = join(dir, name))) {
            ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory listing directory", dir);
            break;
        }
        struct stat link, target;
        if (lstat(path, &link) != 0 || stat(path, &target) != 0) {
            /* Vanished meanwhile, or a dangling symlink: not a file to read. */
            free(path);
            path = NULL;
            continue;
        }
        if (S_ISREG(target.st_mode)) {
            if (push(out, path) < 0) {
                ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory listing directory", dir);
                break;
            }
            path = NULL;
        } else if (S_ISDIR(link.st_mode) && (flags & ET_DIR_RECURSIVE)) {
            /* Real directories only: symlinked ones could loop. */
            ret = collect(path, flags, out);
            if (ret < 0)
                break;
        }
        free(path);
        path = NULL;
    }
    free(path);
    closedir(d);
    return ret;
}

int et_dir_list(const char *dir, int flags, et_file_list *list)
{
    path_vec v = {0};
    list->paths = NULL;
    list->count = 0;
    int ret = collect(dir, flags, &v);
    if (ret < 0) {
        et_file_list tmp = {v.paths, v.count};
        et_file_list_free(&tmp);
        return ret;
    }
    qsort(v.paths, v.count, sizeof *v.paths, compare_paths);
    list->paths = v.paths;
    list->count = v.count;
    return ET_OK;
}

void et_file_list_free(et_file_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->paths[i]);
    free(list->paths);
    list->paths = NULL;
    list->count = 0;
}
