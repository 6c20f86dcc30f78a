/* The analyzer judged on whole clips: what it reported along each clip's
 * main track (the track with the most observations), against the clip's
 * emotion when its file name carries one (<anything>_<emotion>.<ext>).
 * Only the analyzer's own output is used: the reported label is the
 * observation's emotion, whatever rule the analyzer chose it by. */
#ifndef EMOTRACE_CLIP_EVAL_H
#define EMOTRACE_CLIP_EVAL_H

#include "emotrace/analyzer.h"

/* The emotion named by the last '_'-separated word of the file name before
 * its extension ("W009_angry.mp4": angry), or -1 when that word is not an
 * emotion or the name has no '_'. */
int et_clip_label_from_name(const char *path);

typedef struct {
    int track, emotion;
    double t;
    float prob[ET_EMOTIONS];
} et_clip_observation;

/* Every observation of one analysed clip, in frame order. */
typedef struct {
    et_clip_observation *items;
    int count, capacity;
} et_clip_record;

/* An et_analyzer_options.on_frame observer (ctx: the et_clip_record). */
int et_clip_record_on_frame(const et_frame_result *r, void *ctx);
void et_clip_record_free(et_clip_record *r);

typedef struct {
    int label;                  /* from the file name, or -1 */
    int main_track;             /* -1: no face in the clip */
    long frames;                /* observations of the main track */
    long frames_right;          /* of them reported as label */
    long per_emotion[ET_EMOTIONS]; /* of them reported as each emotion */
    int changes;                /* reported-label changes along the main track */
    double seconds;             /* main track: last minus first observation time */
    double mean_prob[ET_EMOTIONS];
    int mean_label;             /* argmax of mean_prob, -1 without a face */
} et_clip_summary;

int et_clip_summarize(const et_clip_record *r, int label, et_clip_summary *s);

#endif
