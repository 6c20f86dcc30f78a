/* The tear-down rule of src/README.md ("Set-up and tear-down"): every free
 * and close accepts NULL, and a freed caller-owned struct is left empty, so
 * that error paths may free whatever they hold without checking first. */
#include <string.h>

#include "emotrace/annotate.h"
#include "emotrace/clip_eval.h"
#include "emotrace/dir_list.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/face_cadence.h"
#include "emotrace/face_dataset.h"
#include "emotrace/face_detector.h"
#include "emotrace/face_embedder.h"
#include "emotrace/frame.h"
#include "emotrace/json.h"
#include "emotrace/live_reader.h"
#include "emotrace/lookahead.h"
#include "emotrace/media_input.h"
#include "emotrace/media_reader.h"
#include "emotrace/nn.h"
#include "emotrace/persons.h"
#include "emotrace/photo_face.h"
#include "emotrace/results.h"
#include "emotrace/safetensors.h"
#include "emotrace/store.h"
#include "emotrace/temporal.h"
#include "emotrace/tensor.h"
#include "emotrace/track_set.h"
#include "emotrace/track_synth.h"
#include "emotrace/tracker.h"
#include "emotrace/train_ops.h"
#include "emotrace/video.h"
#include "emotrace/video_writer.h"
#include "test.h"

/* 1 if the size bytes at p are all zero. */
static int all_zero(const void *p, size_t size)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
        if (b[i])
            return 0;
    return 1;
}

TEST(teardown_every_free_and_close_accepts_null)
{
    /* Heap objects. */
    et_annotator_close(NULL);
    et_face_cadence_free(NULL);
    et_face_detector_free(NULL);
    et_face_embedder_free(NULL);
    et_floats_free(NULL);
    et_json_free(NULL);
    et_live_reader_close(NULL);
    et_lookahead_free(NULL);
    et_net_free(NULL);
    et_person_gallery_free(NULL);
    et_person_linker_free(NULL);
    et_temporal_free(NULL);
    et_video_close(NULL);
    et_video_writer_close(NULL);
    CHECK_EQ_INT(et_sink_close(NULL), ET_OK);
    /* Caller-owned structs. */
    et_clip_record_free(NULL);
    et_emotion_classifier_free(NULL);
    et_face_dataset_free(NULL);
    et_file_list_free(NULL);
    et_frame_free(NULL);
    et_media_list_free(NULL);
    et_media_reader_close(NULL);
    et_optimizer_free(NULL);
    et_photo_face_free(NULL);
    et_results_free(NULL);
    et_safetensors_free(NULL);
    et_strbuf_free(NULL);
    et_synth_track_free(NULL);
    et_tensor_free(NULL);
    et_track_set_free(NULL);
    et_track_synth_free(NULL);
    et_tracker_free(NULL);
}

TEST(teardown_a_freed_struct_is_empty_and_may_be_freed_again)
{
    et_frame frame = {0};
    REQUIRE(et_frame_resize(&frame, 4, 3) == ET_OK);
    CHECK(frame.rgb != NULL);
    et_frame_free(&frame);
    CHECK(all_zero(&frame, sizeof frame));
    et_frame_free(&frame);
    CHECK(all_zero(&frame, sizeof frame));

    et_tensor tensor = {0};
    REQUIRE(et_tensor_resize(&tensor, 1, 2, 3, 4) == ET_OK);
    et_tensor_free(&tensor);
    CHECK(all_zero(&tensor, sizeof tensor));
    et_tensor_free(&tensor);

    et_tracker tracker;
    et_tracker_init(&tracker, 1.0, 8);
    et_face face = {0};
    face.x0 = face.y0 = 10;
    face.x1 = face.y1 = 50;
    face.score = 1;
    int index = -1;
    REQUIRE(et_tracker_update(&tracker, &face, 1, 0.0, &index) == ET_OK);
    CHECK_EQ_INT(tracker.count, 1);
    et_tracker_free(&tracker);
    CHECK(all_zero(&tracker, sizeof tracker));
    et_tracker_free(&tracker);
}
