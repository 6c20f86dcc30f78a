/* Merging SQLite result stores, e.g. the shards of one batch (analyze
 * --shard K/N) written on several machines. */
#ifndef EMOTRACE_STORE_MERGE_H
#define EMOTRACE_STORE_MERGE_H

typedef struct {
    int inputs;                    /* databases merged */
    long runs, media, observations; /* rows copied */
    int weights_variants;          /* distinct runs.weights in the output afterwards */
} et_merge_stats;

/* Copies every run, media file, track and observation of the inputs into
 * out (created if missing), with new ids, in one transaction. A media path
 * that out or an earlier input already holds is refused (ET_ERR_USAGE,
 * the message names it) and nothing is merged. */
int et_store_merge(const char *out, const char *const *inputs, int count, et_merge_stats *stats);

#endif
