/* Linking tracks into persons: the rule by hand on made-up descriptors,
 * then with real faces (detector, chip, embedder) from faces-in-the-wild
 * photos (tests/fixtures/persons). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "db_dump.h"
#include "emotrace/error.h"
#include "emotrace/face_embedder.h"
#include "emotrace/persons.h"
#include "emotrace/photo_face.h"
#include "emotrace/store.h"
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
    et_photo_face photo;
    et_face_embedder *e = NULL;
    REQUIRE(et_photo_face_load(&photo, "weights/face-short.safetensors", NULL, NULL) == ET_OK);
    REQUIRE(et_face_embedder_load(&e, "weights/face-embed.safetensors") == ET_OK);
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

/* --- persons in analyze's results ------------------------------------ */

#define PHOTO_A1 "tests/fixtures/persons/George_W_Bush_0001.jpg"
#define PHOTO_A2 "tests/fixtures/persons/George_W_Bush_0003.jpg"
#define PHOTO_B "tests/fixtures/persons/Colin_Powell_0007.jpg"

/* A 5 fps clip at path: each photo for 2 s, 3 s of gray between two (longer
 * than --max-gap, so each photo is a track of its own). */
static int make_clip(const char *path, const char *const *photos, int count)
{
    char inputs[2048] = "", filter[4096] = "", chain[256] = "";
    size_t in_len = 0, f_len = 0;
    in_len += (size_t)snprintf(inputs + in_len, sizeof inputs - in_len,
                               "-f lavfi -i color=c=gray:s=352x352:r=5:d=3 ");
    if (count > 1)
        f_len += (size_t)snprintf(filter + f_len, sizeof filter - f_len, "[0]format=yuv420p,split=%d", count - 1);
    for (int i = 0; i + 1 < count; i++)
        f_len += (size_t)snprintf(filter + f_len, sizeof filter - f_len, "[g%d]", i);
    if (count > 1)
        f_len += (size_t)snprintf(filter + f_len, sizeof filter - f_len, ";");
    for (int i = 0; i < count; i++) {
        in_len += (size_t)snprintf(inputs + in_len, sizeof inputs - in_len, "-loop 1 -framerate 5 -t 2 -i %s ",
                                   photos[i]);
        f_len += (size_t)snprintf(filter + f_len, sizeof filter - f_len,
                                  "[%d]scale=352:352,setsar=1,format=yuv420p[p%d];", i + 1, i);
    }
    size_t c_len = 0;
    for (int i = 0; i < count; i++) {
        c_len += (size_t)snprintf(chain + c_len, sizeof chain - c_len, "[p%d]", i);
        if (i + 1 < count)
            c_len += (size_t)snprintf(chain + c_len, sizeof chain - c_len, "[g%d]", i);
    }
    return shell_runf("ffmpeg -nostdin -v error -y %s -filter_complex \"%s%sconcat=n=%d:v=1:a=0[v]\" -map \"[v]\" "
                      "-r 5 -c:v libx264 '%s'",
                      inputs, filter, chain, 2 * count - 1, path);
}


/* A appears (0-2 s), leaves for 3 s, B appears (5-7 s), leaves, A returns
 * (10-12 s) in another photo: three tracks, two persons, A's linked. */
TEST(persons_analyze_links_a_returning_face)
{
    const char *clip = test_path("aba.mp4"), *db = test_path("aba.sqlite"), *csv = test_path("aba.csv");
    static const char *const photos[3] = {PHOTO_A1, PHOTO_B, PHOTO_A2};
    REQUIRE(make_clip(clip, photos, 3) == 0);
    char args[2048];
    snprintf(args, sizeof args, "analyze -q -o '%s' '%s'", db, clip);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    sqlite3 *s = NULL;
    REQUIRE(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM tracks"), 3);
    CHECK_EQ_INT(db_number(s, "SELECT person FROM tracks WHERE track = 1"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT person FROM tracks WHERE track = 2"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT person FROM tracks WHERE track = 3"), 1);
    /* Every row carries its track's person. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM observations o JOIN tracks t ON t.media_id = o.media_id "
                                 "AND t.track = o.track_id WHERE o.person IS NOT t.person"), 0);
    /* The persons table: A with two tracks of 2 s each (10 rows at 5 fps
     * each counting 0.2 s), B with one; shares add up to 1. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM persons"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT tracks FROM persons WHERE person = 1"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT frames FROM persons WHERE person = 1"), 20);
    CHECK_NEAR(db_number(s, "SELECT on_screen FROM persons WHERE person = 1"), 4.0, 1e-6);
    CHECK_NEAR(db_number(s, "SELECT first_t FROM persons WHERE person = 1"), 0.0, 1e-6);
    CHECK_NEAR(db_number(s, "SELECT last_t FROM persons WHERE person = 1"), 11.8, 1e-6);
    CHECK_NEAR(db_number(s, "SELECT on_screen FROM persons WHERE person = 2"), 2.0, 1e-6);
    CHECK_NEAR(db_number(s, "SELECT angry + disgust + fear + happy + sad + surprise + neutral FROM persons "
                               "WHERE person = 1"), 1.0, 1e-9);
    CHECK(db_number(s, "SELECT COUNT(*) FROM persons WHERE scope = 'file'") == 2);
    /* No descriptors unless asked. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM tracks WHERE embedding IS NOT NULL"), 0);
    sqlite3_close(s);

    /* CSV: the person column after track, the same persons. */
    char *out = NULL;
    snprintf(args, sizeof args, "analyze -q -o '%s' '%s'", csv, clip);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    REQUIRE((out = file_read_text(csv)) != NULL);
    CHECK(!strncmp(out, "path,frame,t,track,person,x,", 28));
    int rows = 0, wrong = 0;
    for (char *line = strtok(strchr(out, '\n'), "\n"); line; line = strtok(NULL, "\n")) {
        int frame, track, person;
        double t;
        if (sscanf(strchr(line, ','), ",%d,%lf,%d,%d,", &frame, &t, &track, &person) != 4)
            continue;
        wrong += person != (track == 2 ? 2 : 1);
        rows++;
    }
    CHECK_EQ_INT(rows, 30);
    CHECK_EQ_INT(wrong, 0);
    free(out);

    /* Below A's two photos' distance (0.44) they are two persons. */
    snprintf(args, sizeof args, "analyze -q --person-threshold 0.3 -o '%s' '%s'", test_path("strict.sqlite"), clip);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    REQUIRE(sqlite3_open_v2(test_path("strict.sqlite"), &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM persons"), 3);
    CHECK_EQ_INT(db_number(s, "SELECT person FROM tracks WHERE track = 3"), 3);
    sqlite3_close(s);

    /* --no-persons: no descriptors, empty person fields, no persons rows. */
    snprintf(args, sizeof args, "analyze -q --no-persons -o - '%s'", clip);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    REQUIRE(out);
    CHECK_MSG(strstr(out, ".mp4,0,0.000,1,,") != NULL, "%.300s", out);
    free(out);
}

/* Someone who looks away twice: one person, three tracks, as summary says. */
TEST(persons_summary_one_person_three_tracks)
{
    const char *clip = test_path("away.mp4"), *db = test_path("away.sqlite");
    static const char *const photos[3] = {PHOTO_A1, PHOTO_A2, PHOTO_A1};
    REQUIRE(make_clip(clip, photos, 3) == 0);
    char args[2048], *out = NULL;
    snprintf(args, sizeof args, "analyze -q -o '%s' '%s'", db, clip);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "summary '%s'", db);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    REQUIRE(out);
    printf("%s", out);
    CHECK_MSG(strstr(out, "1 person, 3 tracks\n") != NULL, "%s", out);
    /* The person first (4 s... 6 s on screen), its tracks indented under it. */
    const char *person = strstr(out, "\nperson 1 "), *t1 = strstr(out, "\n  track 1 "), *t2 = strstr(out, "\n  track 2 "),
               *t3 = strstr(out, "\n  track 3 ");
    CHECK(person && t1 && t2 && t3 && person < t1 && t1 < t2 && t2 < t3);
    CHECK(person && strstr(person, "6.00 s") != NULL);
    free(out);
    /* --json lists the person with its three tracks. */
    snprintf(args, sizeof args, "summary --json '%s'", db);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK_MSG(out && strstr(out, "\"persons\":[{\"person\":1,\"tracks\":[1,2,3],") != NULL, "%s", out ? out : "");
    free(out);
    /* report and plot speak of the person too. */
    snprintf(args, sizeof args, "report '%s' -o -", db);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK(out && strstr(out, "1 person, 3 face tracks,") != NULL && strstr(out, "<b>person 1</b>") != NULL);
    free(out);
    snprintf(args, sizeof args, "plot '%s' --person 1 -o -", db);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    int panels = 0;
    for (const char *p = out; p && (p = strstr(p, "data-person=\"1\"")); p++)
        panels++;
    CHECK_EQ_INT(panels, 3);
    CHECK(out && strstr(out, ": person 1, track 3") != NULL);
    free(out);
    snprintf(args, sizeof args, "plot '%s' --person 2 -o -", db);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 1);
}

/* --persons-across: one number per person over the run's files; merge
 * keeps the links (they belong to the run, which merge copies whole). */
TEST(persons_across_files_and_merge)
{
    const char *a = test_path("a.mp4"), *ba = test_path("ba.mp4");
    static const char *const only_a[1] = {PHOTO_A1}, *const b_then_a[2] = {PHOTO_B, PHOTO_A2};
    REQUIRE(make_clip(a, only_a, 1) == 0);
    REQUIRE(make_clip(ba, b_then_a, 2) == 0);
    const char *per_file = test_path("file.sqlite"), *across = test_path("across.sqlite");
    char args[2048];
    snprintf(args, sizeof args, "analyze -q -o '%s' '%s' '%s'", per_file, a, ba);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    snprintf(args, sizeof args, "analyze -q --persons-across --store-embeddings -o '%s' '%s' '%s'", across, a, ba);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    sqlite3 *s = NULL;
    /* Per file: A is person 2 of ba.mp4 (B came first there). */
    REQUIRE(sqlite3_open_v2(per_file, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT t.person FROM tracks t JOIN media m ON m.id = t.media_id "
                                 "WHERE m.path LIKE '%ba.mp4' AND t.track = 2"), 2);
    sqlite3_close(s);
    /* Across: A is person 1 in both files, B person 2. */
    REQUIRE(sqlite3_open_v2(across, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT t.person FROM tracks t JOIN media m ON m.id = t.media_id "
                                 "WHERE m.path LIKE '%/a.mp4' AND t.track = 1"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT t.person FROM tracks t JOIN media m ON m.id = t.media_id "
                                 "WHERE m.path LIKE '%ba.mp4' AND t.track = 1"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT t.person FROM tracks t JOIN media m ON m.id = t.media_id "
                                 "WHERE m.path LIKE '%ba.mp4' AND t.track = 2"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM persons WHERE scope = 'run'"), 3);
    /* Asked for: a 128-float descriptor per track. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM tracks WHERE length(embedding) = 512"), 3);
    sqlite3_close(s);
    /* summary adds A up over both files: two files, two tracks, 4 s. */
    char *out = NULL;
    snprintf(args, sizeof args, "summary '%s'", across);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK_MSG(out && strstr(out, "persons across files") && strstr(out, "\n   1       1      2      2     4.00 s"),
              "%s", out ? out : "");
    free(out);
    snprintf(args, sizeof args, "summary --json '%s'", across);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK_MSG(out && strstr(out, "\"persons_across\":[{\"run\":1,\"person\":1,\"files\":2,\"tracks\":2,"),
              "%s", out ? out : "");
    free(out);

    /* Merged: each link stays within its run. */
    const char *merged = test_path("merged.sqlite");
    /* The same paths twice would be refused: the across run is merged
     * with a copy of itself whose paths are renamed. */
    REQUIRE(shell_runf("cp '%s' '%s/renamed.sqlite' && sqlite3 '%s/renamed.sqlite' \"UPDATE media SET path = "
                       "path || '.copy'\"",
                       across, test_tmpdir(), test_tmpdir()) == 0);
    snprintf(args, sizeof args, "merge -q '%s' '%s' '%s/renamed.sqlite'", merged, across, test_tmpdir());
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    REQUIRE(sqlite3_open_v2(merged, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM persons"), 6);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(DISTINCT run_id) FROM media"), 2);
    /* Within each run, A (the only person of a.mp4) is the same number in
     * ba.mp4; the observations and tracks came with their persons. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM media m JOIN persons p ON p.media_id = m.id WHERE "
                                 "m.path LIKE '%/a.mp4%' AND p.person = (SELECT t.person FROM tracks t JOIN "
                                 "media n ON n.id = t.media_id WHERE n.run_id = m.run_id AND n.path LIKE "
                                 "'%ba.mp4%' AND t.track = 2)"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM observations WHERE person IS NULL"), 0);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM tracks WHERE length(embedding) = 512"), 6);
    sqlite3_close(s);

    /* Descriptors only where a column is made for them. */
    snprintf(args, sizeof args, "analyze -q --store-embeddings -o - '%s'", a);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 2);
}

/* One media with two tracks of person 1 and one of person 2 (3 rows each
 * at 0.5 s steps), stored through the sink API. */
static int store_three_tracks(et_sink *s, const char *path)
{
    et_media_info m;
    memset(&m, 0, sizeof m);
    m.path = path;
    m.status = ET_MEDIA_DONE;
    m.persons = ET_PERSONS_FILE;
    int rc = et_sink_begin_media(s, &m);
    for (int track = 1; track <= 3 && rc == ET_OK; track++)
        for (int i = 0; i < 3 && rc == ET_OK; i++) {
            et_observation o;
            memset(&o, 0, sizeof o);
            o.t = 2.0 * track + 0.5 * i;
            o.frame = (int64_t)(o.t * 2);
            o.track = track;
            o.person = track == 2 ? 2 : 1;
            o.prob[track == 3 ? 3 : 6] = 1; /* track 3 happy, the others neutral */
            o.emotion = track == 3 ? 3 : 6;
            rc = et_sink_write_observation(s, &o);
        }
    et_track_summary t[3];
    memset(t, 0, sizeof t);
    for (int i = 0; i < 3; i++) {
        t[i].track = i + 1;
        t[i].person = i == 1 ? 2 : 1;
        t[i].first_t = 2.0 * (i + 1);
        t[i].last_t = t[i].first_t + 1;
        t[i].frames = 3;
        t[i].emotion = 6;
    }
    return rc == ET_OK ? et_sink_end_media(s, &m, t, 3) : rc;
}

/* The persons table from the sink's own rows; older databases get the
 * person columns and table, and older builds can still delete their rows. */
TEST(persons_table_and_older_databases)
{
    const char *path = test_path("old.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(store_three_tracks(s, "a.mp4"), ET_OK);
    CHECK_EQ_INT(et_sink_close(s), ET_OK);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    /* Person 1: tracks 1 and 3, 6 rows of 0.5 s; half of it happy. */
    CHECK_EQ_INT(db_number(db, "SELECT tracks FROM persons WHERE person = 1"), 2);
    CHECK_NEAR(db_number(db, "SELECT on_screen FROM persons WHERE person = 1"), 3.0, 1e-9);
    CHECK_NEAR(db_number(db, "SELECT happy FROM persons WHERE person = 1"), 0.5, 1e-9);
    CHECK_NEAR(db_number(db, "SELECT first_t FROM persons WHERE person = 1"), 2.0, 1e-9);
    CHECK_NEAR(db_number(db, "SELECT last_t FROM persons WHERE person = 1"), 7.0, 1e-9);
    CHECK_NEAR(db_number(db, "SELECT neutral FROM persons WHERE person = 2"), 1.0, 1e-9);
    sqlite3_close(db);

    /* A database of the build before persons. */
    REQUIRE(shell_runf("sqlite3 '%s' 'DROP TABLE persons; ALTER TABLE observations DROP COLUMN person; "
                       "ALTER TABLE tracks DROP COLUMN person; ALTER TABLE tracks DROP COLUMN embedding'",
                       path) == 0);
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(store_three_tracks(s, "b.mp4"), ET_OK);
    CHECK_EQ_INT(et_sink_close(s), ET_OK);
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM persons"), 2);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM observations WHERE person IS NULL"), 9);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM tracks WHERE person IS NOT NULL"), 3);
    sqlite3_close(db);
    /* An older build replacing b.mp4 deletes its rows as it always did;
     * the persons rows go with the media row. */
    CHECK(shell_runf("sqlite3 '%s' \"PRAGMA foreign_keys = ON; DELETE FROM observations WHERE media_id = 2; "
                     "DELETE FROM tracks WHERE media_id = 2; DELETE FROM media WHERE id = 2\"",
                     path) == 0);
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM persons"), 0);
    sqlite3_close(db);
    /* summary reads the database without persons rows for a.mp4 and with
     * NULL person columns: plain tracks. */
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "summary '%s'", path);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK_MSG(out && strstr(out, "a.mp4  3 tracks\n") != NULL, "%s", out ? out : "");
    free(out);
}
