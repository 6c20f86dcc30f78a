/* libFuzzer: the FER2013 CSV dataset reader (plain or gzip), every usage. */
#include "emotrace/face_dataset.h"
#include "fuzz_file.h"

FUZZ_ENTRY(fer2013)
{
    const char *path = fuzz_file(data, size);
    if (!path)
        return 0;
    et_face_dataset ds;
    if (et_fer2013_load(&ds, path, NULL, 64) == 0)
        et_face_dataset_free(&ds);
    return 0;
}
