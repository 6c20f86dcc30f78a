/* `emotrace eval`: the report's numbers, and --detect evaluating exactly
 * what `analyze` computes for uncropped photos. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/emotion.h"
#include "emotrace/json.h"
#include "test.h"

static const char *const photos[][2] = {
    {"Adam_Mair_0001.jpg", "surprise"}, {"Adrianna_Zuzic_0001.jpg", "neutral"}, {"Elton_John_0002.jpg", "surprise"},
    {"Jayamadhuri_108.jpg", "sad"},     {"Sheryl_Crow_0006.jpg", "happy"},
};
enum { PHOTOS = 5 };

/* DIR/labels.csv + DIR/images/: the five fixture photos and a blank image
 * without a face. */
static const char *make_photo_set(void)
{
    const char *dir = test_path("set");
    if (shell_runf("mkdir -p '%s/images' && cp tests/fixtures/faces/*.jpg '%s/images/' && "
                   "ffmpeg -nostdin -v error -y -f lavfi -i color=c=gray:s=200x200:d=1 -frames:v 1 '%s/images/blank.png'",
                   dir, dir, dir) != 0)
        return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/labels.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f, "image,emotion\n");
    for (int i = 0; i < PHOTOS; i++)
        fprintf(f, "%s,%s\n", photos[i][0], photos[i][1]);
    fprintf(f, "blank.png,neutral\n");
    fclose(f);
    return dir;
}

static et_json *run_json(const char *args)
{
    char *out = NULL, *err = NULL;
    int status = cli_run(args, &out, &err);
    et_json *j = NULL;
    if (status != 0 || !out || et_json_parse(out, strlen(out), &j) != 0)
        fprintf(stderr, "  emotrace %s: status %d\n%s%s", args, status, out ? out : "", err ? err : "");
    free(out);
    free(err);
    return j;
}

TEST(eval_detect_equals_analyze_on_photos)
{
    const char *dir = make_photo_set();
    REQUIRE(dir);
    char args[2048];
    snprintf(args, sizeof args, "eval --data '%s' --detect --json --threads 1", dir);
    et_json *j = run_json(args);
    REQUIRE(j);
    CHECK_EQ_INT(et_json_get_number(j, "samples", -1), PHOTOS);
    CHECK_EQ_INT(et_json_get_number(j, "no_face", -1), 1);
    double accuracy = et_json_get_number(j, "accuracy", -1);
    double accuracy_all = et_json_get_number(j, "accuracy_all", -1);
    CHECK_NEAR(accuracy_all, accuracy * PHOTOS / (PHOTOS + 1), 1e-6);
    /* The confusion matrix holds every evaluated photo. */
    const et_json *confusion = et_json_get(j, "confusion");
    double total = 0;
    for (int k = 0; k < ET_EMOTIONS; k++)
        for (int i = 0; i < ET_EMOTIONS; i++)
            total += et_json_at(et_json_at(confusion, k), i) ? et_json_at(et_json_at(confusion, k), i)->number : 0;
    CHECK_NEAR(total, PHOTOS, 0);
    et_json_free(j);

    /* The same photos through analyze: the largest face's label of each. */
    const char *db_path = test_path("stills.sqlite");
    char *err = NULL;
    snprintf(args, sizeof args, "analyze --stills -q --threads 1 -o '%s' '%s/images'", db_path, dir);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 0);
    free(err);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT m.path, o.emotion FROM observations o JOIN media m ON m.id = o.media_id "
                               "WHERE o.w * o.h = (SELECT MAX(w * h) FROM observations p WHERE p.media_id = o.media_id)",
                               -1, &st, NULL) == SQLITE_OK);
    int rows = 0, correct = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *path = (const char *)sqlite3_column_text(st, 0), *emotion = (const char *)sqlite3_column_text(st, 1);
        rows++;
        for (int i = 0; i < PHOTOS; i++)
            if (strstr(path, photos[i][0]))
                correct += !strcmp(emotion, photos[i][1]);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    CHECK_EQ_INT(rows, PHOTOS);
    CHECK_NEAR(accuracy, (double)correct / PHOTOS, 1e-6);
}

TEST(eval_report_lists_every_class)
{
    char *out = NULL, *err = NULL;
    int status = cli_run("eval --data tests/fixtures/fer2013-publictest-sample.csv.gz --threads 1", &out, &err);
    CHECK_EQ_INT(status, 0);
    REQUIRE(out);
    CHECK(!strncmp(out, "accuracy: 0.", 12));
    CHECK(strstr(out, "samples: 599\n") != NULL);
    for (int k = 0; k < ET_EMOTIONS; k++)
        CHECK_MSG(strstr(out, et_emotion_names[k]) != NULL, "no line for %s", et_emotion_names[k]);
    CHECK(strstr(out, "confusion matrix") != NULL);
    free(out);
    free(err);
    /* FER2013 crops are faces already: --detect is refused (usage error). */
    status = cli_run("eval --data tests/fixtures/fer2013-publictest-sample.csv.gz --detect", NULL, NULL);
    CHECK_EQ_INT(status, 2);
}

/* Regression guard for the shipped CNN: its accuracy on the committed 599
 * PublicTest rows (tests/fixtures/fer2013-publictest-sample.csv.gz). Run 3
 * (weight average) measured 0.7012 here (0.7047 on all 3,589 PublicTest rows); the
 * floor leaves room for a few predictions changing with float rounding on
 * other machines. Raise it with every better CNN shipped. */
#define SHIPPED_FIXTURE_ACCURACY 0.7012
TEST(eval_shipped_cnn_accuracy_on_fixture)
{
    et_json *j = run_json("eval --data tests/fixtures/fer2013-publictest-sample.csv.gz --json --threads 1");
    REQUIRE(j);
    double accuracy = et_json_get_number(j, "accuracy", -1);
    CHECK_MSG(accuracy >= SHIPPED_FIXTURE_ACCURACY - 0.005, "accuracy %.4f, the shipped CNN reached %.4f", accuracy,
              SHIPPED_FIXTURE_ACCURACY);
    CHECK_EQ_INT(et_json_get_number(j, "samples", -1), 599);
    et_json_free(j);
}

/* With flip test-time augmentation (--tta) the same CNN measured 0.7179
 * on the fixture (0.7122 on all of PublicTest). */
#define SHIPPED_FIXTURE_ACCURACY_TTA 0.7179
TEST(eval_shipped_cnn_tta_accuracy_on_fixture)
{
    et_json *j = run_json("eval --data tests/fixtures/fer2013-publictest-sample.csv.gz --tta --json --threads 1");
    REQUIRE(j);
    double accuracy = et_json_get_number(j, "accuracy", -1);
    CHECK_MSG(accuracy >= SHIPPED_FIXTURE_ACCURACY_TTA - 0.005, "accuracy %.4f with --tta, the shipped CNN reached %.4f",
              accuracy, SHIPPED_FIXTURE_ACCURACY_TTA);
    CHECK(et_json_get_bool(j, "tta", 0));
    et_json_free(j);
}
