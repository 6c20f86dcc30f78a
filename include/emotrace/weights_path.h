/* Finding shipped weights files without flags. */
#ifndef EMOTRACE_WEIGHTS_PATH_H
#define EMOTRACE_WEIGHTS_PATH_H

#include <stddef.h>

/* Directories searched, in order: $EMOTRACE_WEIGHTS, <dir of executable>/weights,
 * <dir of executable>/../share/emotrace, the install data dir. Returns the
 * number of candidate directories written (at most max). */
int et_weights_dirs(char dirs[][1024], int max);
/* Finds NAME (e.g. "emotion-cnn.safetensors") in those directories.
 * Returns ET_OK and the full path, or an error naming where it looked. */
int et_weights_find(const char *name, char *path, size_t path_size);

#endif
