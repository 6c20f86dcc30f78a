/* Annotated video: an analyzer observer (et_analyzer_options.on_frame)
 * that re-encodes the analysed input with each face's box, track number,
 * top emotion and a bar of its seven probabilities, frame by frame at the
 * input's timestamps. Set on_frame_skipped too, so that frames --fps skips
 * are kept (they show the boxes of the last analysed frame).
 *
 *   et_annotator *a;
 *   et_annotator_open(&a, "out.mp4");
 *   options.on_frame = et_annotator_on_frame; options.on_frame_ctx = a;
 *   options.on_frame_skipped = 1;
 *   et_analyze_media(&options, ...);
 *   rc = et_annotator_finish(a);
 *   et_annotator_close(a);
 */
#ifndef EMOTRACE_ANNOTATE_H
#define EMOTRACE_ANNOTATE_H

#include "emotrace/analyzer.h"

typedef struct et_annotator et_annotator;

/* The file is created at the first frame (its size and frame rate come
 * from the media). One annotator takes one media item: frames of a second
 * item are refused with ET_ERR_USAGE. */
int et_annotator_open(et_annotator **out, const char *path);
int et_annotator_on_frame(const et_frame_result *r, void *ctx);
/* Completes the file. Without any frame it is an error (nothing to write). */
int et_annotator_finish(et_annotator *a);
/* The encoder used ("libx264", "mpeg4"), or "" before the first frame. */
const char *et_annotator_codec(const et_annotator *a);
/* Closes and frees a (NULL is fine); a file begun but not finished is removed. */
void et_annotator_close(et_annotator *a);

/* Draws the annotation of the count observations onto frame (what
 * et_annotator_on_frame does to each frame). */
void et_annotate_frame(et_frame *frame, const et_observation *obs, int count);

#endif
