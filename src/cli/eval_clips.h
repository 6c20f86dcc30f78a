/* emotrace eval --clips: the analyze pipeline judged on a folder of videos. */
#ifndef EMOTRACE_EVAL_CLIPS_H
#define EMOTRACE_EVAL_CLIPS_H

#include "emotrace/analyzer.h"

typedef struct {
    const char *dir;
    const char *cnn_path;  /* found already */
    const char *lstm_path; /* NULL: the shipped emotion-lstm */
    int no_temporal, tta, json;
    et_face_detector_options detector;
    double box_scale, offset_y;
    double label_margin, label_dwell; /* as analyze --label-margin, --label-dwell */
    double lookahead;                 /* as analyze --lookahead */
    int rule_given;
} eval_clips_options;

/* Returns the exit status (0, or 1 when a clip or a model failed). */
int eval_clips(const eval_clips_options *o);

#endif
