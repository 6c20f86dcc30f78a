/* What analyze is asked to read: command-line paths (files, directories,
 * "-" for a list of paths on standard input) expanded into media items: a
 * video, a single image, a directory's images forming one sequence, or a
 * live source (URL, device, pipe) handed to libavformat as it is. */
#ifndef EMOTRACE_MEDIA_INPUT_H
#define EMOTRACE_MEDIA_INPUT_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    ET_MEDIA_VIDEO,
    ET_MEDIA_IMAGE,
    ET_MEDIA_IMAGE_SEQUENCE,
    ET_MEDIA_STREAM /* live: a URL, a device, a pipe; no size, no end, never stat'ed */
} et_media_kind;

typedef struct {
    et_media_kind kind;
    char *path;     /* the file, or the directory of a sequence */
    char **images;  /* a sequence's images in natural order */
    size_t image_count;
    char *error;    /* why the path could not be listed, or NULL */
} et_media_item;

typedef struct {
    et_media_item *items;
    size_t count, capacity;
} et_media_list;

typedef struct {
    int recursive; /* descend into subdirectories (each directory's images: one sequence) */
    int stills;    /* every image is its own item (no sequence across images) */
    /* A name that is not an existing path is a stream, for demuxers that
     * take other names (an input format such as lavfi or x11grab). */
    int names_are_streams;
    /* Called for each skipped file (not an image or a known video type). */
    void (*warn)(const char *message, void *ctx);
    void *warn_ctx;
} et_media_input_options;

/* Adds the items for one argument (a file or a directory; a URL other than
 * file: or a device, FIFO or socket is added as a stream). A path that
 * cannot be read is an error naming it; the list keeps what was added. */
int et_media_list_add_path(et_media_list *list, const char *path, const et_media_input_options *o);
/* Adds the items for every path listed in f, one per line ("-" argument). */
int et_media_list_add_stream(et_media_list *list, FILE *f, const et_media_input_options *o);
/* Adds url as a live stream without looking at it ("-": standard input as
 * a media stream; with an input format, any name the demuxer takes). */
int et_media_list_add_live(et_media_list *list, const char *url);
/* 1 if path names a URL with a scheme other than file: ("udp://...",
 * "rtsp://...", "pipe:0"). */
int et_is_url(const char *path);
/* Adds an item that could not be expanded, so that it is reported as failed
 * in its turn (with the current et_error_message() as the reason) rather
 * than dropped. */
int et_media_list_add_unreadable(et_media_list *list, const char *path);
/* Keeps only share k (1..n) of n: the items whose path hashes to it. The
 * share of an item depends only on its path as given, so it is the same
 * whatever the order or the machine. */
void et_media_list_shard(et_media_list *list, int k, int n);
void et_media_list_free(et_media_list *list);

/* 1 for names with a usual video file extension (mp4, mkv, mov, ...; gif,
 * for animated ones: a still GIF is an image by its content). */
int et_is_video_name(const char *path);

#endif
