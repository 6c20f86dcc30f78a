/* Analysis of one media item: decode -> detect -> track -> align -> CNN ->
 * temporal model -> store, with the time spent in each stage. */
#ifndef EMOTRACE_ANALYZER_H
#define EMOTRACE_ANALYZER_H

#include "emotrace/emotion_classifier.h"
#include "emotrace/face_align.h"
#include "emotrace/face_detector.h"
#include "emotrace/live_reader.h"
#include "emotrace/lookahead.h"
#include "emotrace/media_input.h"
#include "emotrace/persons.h"
#include "emotrace/store.h"
#include "emotrace/temporal.h"

typedef struct {
    double t, duration; /* seconds; duration 0 if unknown */
    long frames_analyzed;
    double elapsed;     /* seconds since the item started */
} et_progress;

/* Everything known about one analysed frame, for observers (annotated video,
 * change events, crop extraction): the decoded frame, and per face its
 * observation and the aligned crop the classifier saw (count crops of
 * crop_size x crop_size gray bytes, in observation order). A frame that
 * --fps skipped (see on_frame_skipped) has analyzed 0 and count 0. */
typedef struct {
    const et_frame *frame;
    const et_observation *observations;
    const uint8_t *crops;
    int count, crop_size;
    int analyzed;
    const et_media_info *media; /* the item: path, fps, duration, size */
} et_frame_result;

/* The default label rule (et_label_update; README and weights/README.md
 * give the measurement). */
#define ET_LABEL_MARGIN 0.15f
#define ET_LABEL_DWELL 0.5

typedef struct {
    et_face_detector *detector;
    et_emotion_classifier *classifier;
    et_temporal *temporal;     /* NULL: the CNN's probabilities as they are */
    et_face_align_options align;
    double max_fps;            /* analyse at most this many frames per second; 0: all */
    double start, end;         /* time range in seconds; end 0: to the end */
    double max_gap;            /* seconds a track survives without a detection */
    double image_fps;          /* frame rate of image sequences */
    /* A track's reported emotion changes when another one leads it by
     * label_margin probability, or has led it for label_dwell seconds
     * (et_label_update); margin 0: the argmax. */
    float label_margin;
    double label_dwell;
    /* Recorded media, when temporal is set: seconds of look-ahead each side
     * (lookahead.h), which replaces the temporal model; 0: the temporal
     * model, as always for streams. Default ET_LOOKAHEAD_WINDOW. With the
     * look-ahead, on_frame sees each frame a window later (with its pixels
     * only when on_frame_skipped asks for every frame). */
    double lookahead;
    int stills;                /* images are independent: no temporal model */
    int decoder_threads;
    /* Frames analysed together (one detector and one CNN pass): 0 for the
     * default (16); 1 for the lowest latency (live sources). */
    int batch_frames;
    /* Videos: the face detector runs at most every detect_every frames
     * while the faces stay steady, the frames between interpolated
     * (face_cadence.h); 0 for the default (ET_DETECT_EVERY), 1 for every
     * frame. Stills, photos and image sequences: every frame. */
    int detect_every;
    void (*progress)(const et_progress *p, void *ctx);
    void *progress_ctx;
    volatile int *stop;        /* set (e.g. by a signal) to abandon the item */
    /* Called after every analysed frame, faces or not; a non-ET_OK return
     * fails the item with the error the observer set. */
    int (*on_frame)(const et_frame_result *r, void *ctx);
    void *on_frame_ctx;
    /* Also call on_frame for the frames in the time range that --fps skips
     * (an annotated video keeps every frame). */
    int on_frame_skipped;
    /* Demuxer and "key=value" options for avformat_open_input (videos and
     * streams), such as "v4l2" and {"video_size=640x480", NULL}; NULL: none. */
    const char *input_format;
    const char *const *input_options;
    /* Streams (ET_MEDIA_STREAM): which frames analysis skips when it falls
     * behind; the store commits every ET_LIVE_COMMIT_SECONDS; and finish,
     * when set (a first SIGINT), ends the stream as if it had ended, with
     * everything so far stored as a finished item. */
    et_live_policy live_policy;
    volatile int *finish;
    /* Persons (persons.h): embedder NULL leaves them unlinked (person 0).
     * Tracks link within each file, or across files through the run's
     * shared gallery persons_across; store_embeddings passes each track's
     * descriptor to the sink. */
    et_face_embedder *embedder;
    et_person_gallery *persons_across;
    float person_threshold;
    int store_embeddings;
} et_analyzer_options;

#define ET_LIVE_COMMIT_SECONDS 0.5

typedef struct {
    double decode, detect, align, cnn, temporal, store; /* seconds per stage */
    double persons;      /* seconds cutting chips, embedding and linking */
    long frames_decoded, frames_analyzed, observations, tracks;
    long frames_dropped; /* streams: decoded frames skipped because analysis was behind */
    long frames_detected, frames_interpolated; /* frames the face detector ran on, and not */
} et_analyzer_stats;

/* Zeroes o and sets the defaults: standard alignment, tracks surviving 1 s
 * gaps, image sequences at 1 frame per second, every frame analysed. */
void et_analyzer_defaults(et_analyzer_options *o);

/* Analyses item and writes it to sink as one unit (a stream: in intervals).
 * info holds path, size and mtime; the rest is filled in. On failure the
 * sink records the item as failed (nothing partial is kept) and the error
 * names the file. sink may be NULL when an observer (on_frame) takes the
 * results. */
int et_analyze_media(const et_analyzer_options *o, const et_media_item *item, et_media_info *info, et_sink *sink,
                     et_analyzer_stats *stats);

#endif
