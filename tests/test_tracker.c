#include <string.h>

#include "emotrace/tracker.h"
#include "test.h"

/* A frontal face whose box is (x, y, size) with keypoints in place. */
static et_face face_at(float x, float y, float size)
{
    et_face f;
    memset(&f, 0, sizeof f);
    f.x0 = x;
    f.y0 = y;
    f.x1 = x + size;
    f.y1 = y + size;
    f.score = 0.9f;
    const float kp[6][2] = {{0.3f, 0.4f}, {0.7f, 0.4f}, {0.5f, 0.6f}, {0.5f, 0.75f}, {0.1f, 0.45f}, {0.9f, 0.45f}};
    for (int k = 0; k < 6; k++) {
        f.keypoints[k][0] = x + kp[k][0] * size;
        f.keypoints[k][1] = y + kp[k][1] * size;
    }
    return f;
}

TEST(tracker_two_faces_keep_their_ids)
{
    et_tracker t;
    et_tracker_init(&t, 1.0, 4);
    int index[2];
    for (int frame = 0; frame < 30; frame++) {
        /* Two faces drifting in opposite directions, listed in swapped
         * order on odd frames (detector order is by score, not identity). */
        et_face a = face_at(100 + frame * 2, 100, 80), b = face_at(400 - frame * 2, 120, 90);
        et_face faces[2] = {a, b};
        if (frame % 2) {
            faces[0] = b;
            faces[1] = a;
        }
        REQUIRE(et_tracker_update(&t, faces, 2, frame / 30.0, index) == 0);
        int id_a = t.tracks[index[frame % 2 ? 1 : 0]].id, id_b = t.tracks[index[frame % 2 ? 0 : 1]].id;
        CHECK_EQ_INT(id_a, 1);
        CHECK_EQ_INT(id_b, 2);
    }
    CHECK_EQ_INT(t.count, 2);
    et_tracker_free(&t);
}

TEST(tracker_gap_within_and_beyond_max_gap)
{
    et_tracker t;
    et_tracker_init(&t, 1.0, 4);
    int index;
    et_face f = face_at(50, 50, 100);
    REQUIRE(et_tracker_update(&t, &f, 1, 0.0, &index) == 0);
    t.tracks[index].state[0] = 42.0f; /* the temporal state survives a short gap */
    REQUIRE(et_tracker_update(&t, NULL, 0, 0.5, &index) == 0);
    REQUIRE(et_tracker_update(&t, &f, 1, 0.9, &index) == 0);
    CHECK_EQ_INT(t.tracks[index].id, 1);
    CHECK(t.tracks[index].state[0] == 42.0f);
    /* Gone for 1.5 s: the same place now starts track 2, with a fresh state. */
    REQUIRE(et_tracker_update(&t, &f, 1, 2.4, &index) == 0);
    CHECK_EQ_INT(t.tracks[index].id, 2);
    CHECK(t.tracks[index].state[0] == 0.0f);
    CHECK(!t.tracks[0].live && t.tracks[0].state == NULL);
    et_tracker_free(&t);
}

TEST(tracker_far_face_starts_new_track)
{
    et_tracker t;
    et_tracker_init(&t, 1.0, 0);
    int index;
    et_face a = face_at(0, 0, 50), b = face_at(300, 300, 50);
    REQUIRE(et_tracker_update(&t, &a, 1, 0.0, &index) == 0);
    REQUIRE(et_tracker_update(&t, &b, 1, 0.1, &index) == 0);
    CHECK_EQ_INT(t.tracks[index].id, 2);
    CHECK(et_track_similarity(&a, &a) > 0.99f);
    CHECK(et_track_similarity(&a, &b) == 0.0f);
    et_tracker_free(&t);
}
