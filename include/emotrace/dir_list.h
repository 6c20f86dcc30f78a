/* Listing the files of a directory (such as a folder of frames) in natural
 * order, so that "img2.png" comes before "img10.png". */
#ifndef EMOTRACE_DIR_LIST_H
#define EMOTRACE_DIR_LIST_H

#include <stddef.h>

enum {
    ET_DIR_RECURSIVE = 1, /* descend into subdirectories (not through symlinks) */
    ET_DIR_HIDDEN = 2     /* include names starting with '.' */
};

typedef struct {
    char **paths;  /* "dir/name" (or "dir/sub/name"), in natural order */
    size_t count;
} et_file_list;

/* Lists the regular files (symlinks to them included) under dir; flags is a
 * mix of ET_DIR_*. An unreadable directory is an error naming it. On success
 * the caller frees list with et_file_list_free. */
int et_dir_list(const char *dir, int flags, et_file_list *list);
void et_file_list_free(et_file_list *list);

/* strcmp-like order in which runs of digits compare by numeric value
 * ("a2" < "a10"); everything else compares byte-wise. Equal values with
 * different leading zeros ("a01", "a1") fall back to byte order, so the
 * order is total. */
int et_natural_compare(const char *a, const char *b);

#endif
