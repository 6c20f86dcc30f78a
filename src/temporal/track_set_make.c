/* Making a track set from a recipe, through a cache file: rendering and
 * classifying tens of thousands of frames is the slow part of training the
 * temporal model, and the same tracks serve many training runs. */
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "emotrace/error.h"
#include "emotrace/track_set.h"

/* The generator's seed for a row set: the same --seed must not give
 * training and validation tracks the same timing, gaps and label sequence
 * (only the faces would differ, and the timing could be memorised). */
static uint64_t stream_seed(uint64_t seed, const char *usage)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (const char *c = usage; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
    return seed ^ h;
}

int et_track_set_make(et_track_set *set, const et_track_set_recipe *r, et_emotion_classifier *cnn,
                      const char *cnn_sha256)
{
    char generator[512], seed[32], tracks[32];
    et_track_synth_describe(&r->synth, generator, sizeof generator);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    snprintf(tracks, sizeof tracks, "%d", r->tracks);
    const char *meta[] = {"cnn_sha256", cnn_sha256, "usage", r->usage, "generator", generator,
                          "seed", seed, "tracks", tracks, NULL};
    struct stat st;
    if (r->cache && stat(r->cache, &st) == 0) {
        if (et_track_set_load(set, r->cache, meta) == ET_OK) {
            if (r->progress)
                fprintf(stderr, "%s: %d tracks, %d frames (cached)\n", r->cache, set->tracks, set->frames);
            return ET_OK;
        }
        if (r->progress)
            fprintf(stderr, "%s: rebuilding: %s\n", r->cache, et_error_message());
    }
    et_face_dataset ds;
    int rc = et_fer2013_load(&ds, r->data, r->usage, 0);
    if (rc != ET_OK)
        return rc;
    et_track_synth synth;
    if ((rc = et_track_synth_init(&synth, &ds, &r->synth, stream_seed(r->seed, r->usage))) != ET_OK) {
        et_face_dataset_free(&ds);
        return et_error_wrap(rc, "%s (%s rows): ", r->data, r->usage);
    }
    if (r->progress)
        fprintf(stderr, "rendering %d tracks from %d %s faces and running the CNN on every frame\n", r->tracks,
                ds.count, r->usage);
    rc = et_track_set_build(set, &synth, 0, r->tracks, cnn, r->progress);
    et_track_synth_free(&synth);
    et_face_dataset_free(&ds);
    if (rc == ET_OK && r->cache && (rc = et_track_set_save(set, r->cache, meta)) != ET_OK)
        et_track_set_free(set);
    return rc;
}
