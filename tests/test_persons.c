/* Linking tracks into persons: the rule by hand on made-up descriptors,
 * then with real faces (detector, chip, embedder) from faces-in-the-wild
 * photos (tests/fixtures/persons). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/error.h"
#include "emotrace/face_embedder.h"
#include "emotrace/persons.h"
#include "emotrace/photo_face.h"
#include "test.h"

static et_person_track made_up(double first_t, double last_t, float x)
{
    et_person_track t = {first_t, last_t, 1, {0}};
    t.descriptor[0] = x; /* distance between two of these: |x - x'| */
    return t;
}

TEST(persons_link_rule)
{
    /* A (0-5 s), B (6-10 s, far from A), A again (8-12 s, near A though B
     * is on screen), C on screen with A's first track and as near to A:
     * never the same person as A. A track without a descriptor is alone. */
    et_person_track tracks[5] = {made_up(0, 5, 0.0f), made_up(6, 10, 1.0f), made_up(8, 12, 0.3f),
                                 made_up(2, 3, 0.1f), made_up(13, 14, 0.0f)};
    tracks[4].has_descriptor = 0;
    int person[5];
    CHECK_EQ_INT(et_persons_link(tracks, 5, 0.6f, person), 4);
    /* Persons are numbered by first appearance: A 1, C 2 (at 2 s), B 3. */
    CHECK_EQ_INT(person[0], 1);
    CHECK_EQ_INT(person[3], 2);
    CHECK_EQ_INT(person[1], 3);
    /* Track 2 is 0.3 from A (1) and 0.2 from C (2), but C's track does not
     * overlap it either: the nearest wins. */
    CHECK_EQ_INT(person[2], 2);
    CHECK_EQ_INT(person[4], 4);
    /* A lower threshold splits them all. */
    CHECK_EQ_INT(et_persons_link(tracks, 5, 0.05f, person), 5);
    CHECK_EQ_INT(et_persons_link(tracks, 0, 0.6f, person), 0);
}

/* The descriptor of the largest face in a photo, as analyze computes it. */
static int photo_descriptor(et_photo_face *photo, et_face_embedder *e, const char *path, et_person_track *t)
{
    et_face face;
    static et_person_chips chips;
    memset(&chips, 0, sizeof chips);
    uint8_t chip[ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3];
    if (et_photo_face_find(photo, path, &face) != 1 ||
        et_face_chip(photo->frame.rgb, photo->frame.width, photo->frame.height, photo->frame.stride, &face, chip) !=
            ET_OK)
        return 0;
    et_person_chips_offer(&chips, chip, et_face_id_geometry(&face));
    return chips.count == 1 && et_person_track_embed(t, e, &chips) == ET_OK && t->has_descriptor;
}

TEST(persons_real_faces)
{
    et_photo_face photo = {0};
    et_face_embedder *e = NULL;
    REQUIRE(et_face_detector_open(&photo.detector, "weights/face-short.safetensors", NULL) == ET_OK);
    REQUIRE(et_face_embedder_open(&e, "weights/face-embed.safetensors") == ET_OK);
    /* A (George W. Bush) appears (0-2 s), leaves for 3 s, B (Colin Powell)
     * appears (5-7 s), A returns (8-10 s) in another photo. */
    static const char *const paths[3] = {"tests/fixtures/persons/George_W_Bush_0001.jpg", "tests/fixtures/persons/Colin_Powell_0007.jpg",
                                         "tests/fixtures/persons/George_W_Bush_0003.jpg"};
    et_person_track tracks[3] = {{0, 2, 0, {0}}, {5, 7, 0, {0}}, {8, 10, 0, {0}}};
    for (int i = 0; i < 3; i++)
        CHECK_MSG(photo_descriptor(&photo, e, paths[i], &tracks[i]), "%s: no descriptor", paths[i]);
    float same = et_face_embed_distance(tracks[0].descriptor, tracks[2].descriptor);
    float other = et_face_embed_distance(tracks[0].descriptor, tracks[1].descriptor);
    printf("    same person %.3f, different %.3f (threshold %.2f)\n", same, other, ET_FACE_EMBED_THRESHOLD);
    CHECK(same < ET_FACE_EMBED_THRESHOLD);
    CHECK(other >= ET_FACE_EMBED_THRESHOLD);
    int person[3];
    CHECK_EQ_INT(et_persons_link(tracks, 3, ET_FACE_EMBED_THRESHOLD, person), 2);
    CHECK_EQ_INT(person[0], 1);
    CHECK_EQ_INT(person[1], 2);
    CHECK_EQ_INT(person[2], 1);
    et_face_embedder_free(e);
    et_face_detector_free(photo.detector);
    et_photo_face_free(&photo);
}

TEST(persons_chip_quality)
{
    /* A frontal face beats one turned so that the nose is over an eye, and
     * a sharp chip beats the same chip blurred. */
    et_face f = {0, 0, 150, 150, 1, {{50, 60}, {100, 60}, {75, 90}, {75, 110}, {30, 70}, {120, 70}}};
    et_face turned = f;
    turned.keypoints[ET_FACE_NOSE_TIP][0] = 95;
    CHECK_NEAR(et_face_id_geometry(&f), 1.0, 1e-6);
    CHECK_NEAR(et_face_id_geometry(&turned), 0.2, 1e-5);
    et_face small = f;
    small.x1 = 75;
    CHECK_NEAR(et_face_id_geometry(&small), 0.5, 1e-6);
    static uint8_t sharp[ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3], flat[sizeof sharp];
    for (size_t k = 0; k < sizeof sharp; k++)
        sharp[k] = (uint8_t)(((k / 3) % 2) * 200); /* alternating columns */
    memset(flat, 100, sizeof flat);
    CHECK(et_face_chip_sharpness(sharp) > 0.99f);
    CHECK_NEAR(et_face_chip_sharpness(flat), 0.0, 1e-9);
    static et_person_chips c;
    memset(&c, 0, sizeof c);
    for (int i = 0; i < ET_PERSON_CHIPS; i++)
        et_person_chips_offer(&c, flat, 1.0f);
    CHECK_EQ_INT(c.count, ET_PERSON_CHIPS);
    CHECK(et_person_chips_wants(&c, 0.5f));
    et_person_chips_offer(&c, sharp, 0.5f);
    int kept_sharp = 0;
    for (int i = 0; i < c.count; i++)
        kept_sharp += c.chips[i][3] == 200;
    CHECK_EQ_INT(kept_sharp, 1);
    CHECK_EQ_INT(c.count, ET_PERSON_CHIPS);
    CHECK(!et_person_chips_wants(&c, 0.0f));
}

TEST(persons_eval_command)
{
    /* Two photos of one person, one of another, one not named after a
     * person (left out): one same-person pair and one different pair, both
     * judged right; the faces are 350-pixel photos, so both also count as
     * large. */
    const char *dir = test_path("named");
    REQUIRE(shell_runf("mkdir -p '%s/images' && cp tests/fixtures/persons/*.jpg '%s/images/' && "
                       "cp tests/fixtures/faces/Adam_Mair_0001.jpg '%s/images/portrait.jpg'",
                       dir, dir, dir) == 0);
    char args[1200], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "eval --persons --data '%s' --threads 1", dir);
    CHECK_EQ_INT(cli_run(args, &out, &err), 0);
    REQUIRE(out);
    CHECK_MSG(strstr(out, "photos: 3 with a face (3 of them at least 150 px wide), 0 without, 1 not named after a "
                          "person") != NULL, "%s", out);
    CHECK_MSG(strstr(out, "all pairs: same-person pairs 1, right 1.0000; different-person pairs 1, right 1.0000; "
                          "accuracy 1.0000") != NULL, "%s", out);
    free(out);
    free(err);
    out = err = NULL;
    /* A threshold below the same-person distance (0.44) misses that pair. */
    snprintf(args, sizeof args, "eval --persons --data '%s' --person-threshold 0.3", dir);
    CHECK_EQ_INT(cli_run(args, &out, &err), 0);
    CHECK_MSG(out && strstr(out, "all pairs: same-person pairs 1, right 0.0000; different-person pairs 1, right "
                                 "1.0000; accuracy 0.5000") != NULL, "%s", out ? out : "");
    free(out);
    free(err);
    out = err = NULL;
    CHECK_EQ_INT(cli_run("eval --persons --data /nonexistent/photos", NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "/nonexistent/photos") != NULL, "%s", err ? err : "");
    free(err);
    CHECK_EQ_INT(cli_run("eval --persons --data x --person-threshold 0", NULL, NULL), 2);
}
