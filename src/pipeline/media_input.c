#include "emotrace/media_input.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "emotrace/dir_list.h"
#include "emotrace/error.h"
#include "emotrace/image.h"

int et_is_video_name(const char *path)
{
    static const char *const extensions[] = {"mp4", "m4v", "mkv", "webm", "mov", "avi", "wmv", "flv", "mpg",
                                             "mpeg", "ts", "mts", "m2ts", "3gp", "ogv", "vob", "mxf", "y4m", "nut",
                                             "gif"};
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return 0;
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (!strcasecmp(dot + 1, extensions[i]))
            return 1;
    return 0;
}

int et_is_url(const char *path)
{
    /* scheme ":" as RFC 3986 spells it, at least two letters so that a DOS
     * drive letter or "a:b" file names stay files; "file:" is a file. */
    size_t n = 0;
    while ((path[n] >= 'a' && path[n] <= 'z') || (path[n] >= 'A' && path[n] <= 'Z') ||
           (n > 0 && ((path[n] >= '0' && path[n] <= '9') || path[n] == '+' || path[n] == '-' || path[n] == '.')))
        n++;
    if (n < 2 || path[n] != ':' || (n == 4 && !strncasecmp(path, "file", 4)))
        return 0;
    return !strncmp(path + n, "://", 3) || (n == 4 && !strncasecmp(path, "pipe", 4));
}

static et_media_item *push(et_media_list *list, et_media_kind kind, const char *path)
{
    if (list->count == list->capacity) {
        size_t cap = list->capacity ? list->capacity * 2 : 16;
        et_media_item *grown = realloc(list->items, cap * sizeof *grown);
        if (!grown)
            return NULL;
        list->items = grown;
        list->capacity = cap;
    }
    et_media_item *item = &list->items[list->count];
    memset(item, 0, sizeof *item);
    item->kind = kind;
    item->path = strdup(path);
    if (!item->path)
        return NULL;
    list->count++;
    return item;
}

int et_media_list_add_live(et_media_list *list, const char *url)
{
    return push(list, ET_MEDIA_STREAM, url) ? ET_OK : et_error_set(ET_ERR_NOMEM, "%s: out of memory", url);
}

int et_media_list_add_unreadable(et_media_list *list, const char *path)
{
    char *why = strdup(et_error_message());
    et_media_item *item = why ? push(list, ET_MEDIA_VIDEO, path) : NULL;
    if (!item) {
        free(why);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    item->error = why;
    return ET_OK;
}

static void warn(const et_media_input_options *o, const char *fmt, const char *path)
{
    if (!o->warn)
        return;
    char message[4200];
    snprintf(message, sizeof message, fmt, path);
    o->warn(message, o->warn_ctx);
}

static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, slash ? path : ".", n);
        dir[n] = '\0';
    }
    return dir;
}

/* A directory: videos are items of their own; images form one sequence per
 * directory (in natural order), or one item each with stills. */
static int add_directory(et_media_list *list, const char *dir, const et_media_input_options *o)
{
    et_file_list files;
    int rc = et_dir_list(dir, o->recursive ? ET_DIR_RECURSIVE : 0, &files);
    if (rc != ET_OK)
        return rc;
    et_media_item *sequence = NULL;
    char *sequence_dir = NULL;
    for (size_t i = 0; i < files.count && rc == ET_OK; i++) {
        const char *path = files.paths[i];
        int image = et_image_probe(path);
        if (image < 0) {
            warn(o, "%s: skipped: cannot be read", path);
            continue;
        }
        if (!image) {
            if (et_is_video_name(path)) {
                if (!push(list, ET_MEDIA_VIDEO, path))
                    rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            } else {
                warn(o, "%s: skipped: not an image or a video file", path);
            }
            continue;
        }
        if (o->stills) {
            if (!push(list, ET_MEDIA_IMAGE, path))
                rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            continue;
        }
        char *parent = parent_dir(path);
        if (!parent) {
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        /* Natural order lists a directory's files together only if they sort
         * together; a sequence continues while the parent stays the same. */
        if (!sequence || strcmp(parent, sequence_dir) != 0) {
            free(sequence_dir);
            sequence_dir = parent;
            sequence = push(list, ET_MEDIA_IMAGE_SEQUENCE, parent);
            if (!sequence) {
                rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
        } else {
            free(parent);
        }
        char **grown = realloc(sequence->images, (sequence->image_count + 1) * sizeof *grown);
        char *copy = strdup(path);
        if (!grown || !copy) {
            free(copy);
            if (grown)
                sequence->images = grown;
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        sequence->images = grown;
        sequence->images[sequence->image_count++] = copy;
    }
    free(sequence_dir);
    et_file_list_free(&files);
    return rc;
}

int et_media_list_add_path(et_media_list *list, const char *path, const et_media_input_options *o)
{
    struct stat st;
    if (et_is_url(path))
        return et_media_list_add_live(list, path);
    if (stat(path, &st) != 0) {
        if (o->names_are_streams)
            return et_media_list_add_live(list, path);
        return et_error_set(ET_ERR_IO, "%s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return add_directory(list, path, o);
    /* A camera (/dev/video0), FIFO or socket: reading it to probe would
     * take frames from it. */
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        return et_media_list_add_live(list, path);
    int image = et_image_probe(path);
    if (image < 0)
        return image;
    if (!push(list, image ? ET_MEDIA_IMAGE : ET_MEDIA_VIDEO, path))
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    return ET_OK;
}

int et_media_list_add_stream(et_media_list *list, FILE *f, const et_media_input_options *o)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t n;
    int rc = ET_OK;
    while ((n = getline(&line, &size, f)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (et_media_list_add_path(list, line, o) != ET_OK) {
            /* Reported when its turn comes, like any failed input. */
            if ((rc = et_media_list_add_unreadable(list, line)) != ET_OK)
                break;
        }
    }
    free(line);
    return rc;
}

static void item_free(et_media_item *item)
{
    for (size_t k = 0; k < item->image_count; k++)
        free(item->images[k]);
    free(item->images);
    free(item->path);
    free(item->error);
}

/* FNV-1a, 64 bits: fixed here, since shards written on different machines
 * must agree. */
static uint64_t path_hash(const char *path)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

void et_media_list_shard(et_media_list *list, int k, int n)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        if (path_hash(list->items[i].path) % (uint64_t)n == (uint64_t)(k - 1))
            list->items[kept++] = list->items[i];
        else
            item_free(&list->items[i]);
    }
    list->count = kept;
}

void et_media_list_free(et_media_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        item_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}
