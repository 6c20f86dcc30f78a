/* `emotrace eval`: the report's numbers, and --detect evaluating exactly
 * what `analyze` computes for uncropped photos; the scoreboard's
 * measurements: labels.csv read by its header, FER+ majority labels,
 * labels from clip file names, `eval --clips` against what analyze itself
 * reports for the same clip, and the onset tracks of `eval --temporal`. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/clip_eval.h"
#include "emotrace/emotion.h"
#include "emotrace/face_dataset.h"
#include "emotrace/json.h"
#include "emotrace/track_onset.h"
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

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The five fixture photos (as crops) listed twice: once as image,emotion and
 * once with the columns in another order among others. */
TEST(eval_labels_csv_is_read_by_its_header)
{
    const char *plain = test_path("plain"), *extra = test_path("extra");
    REQUIRE(shell_runf("mkdir -p '%s/images' '%s/images' && cp tests/fixtures/faces/*.jpg '%s/images/' && "
                       "cp tests/fixtures/faces/*.jpg '%s/images/'",
                       plain, extra, plain, extra) == 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/labels.csv", plain);
    REQUIRE(write_text(path, "image,emotion\nAdam_Mair_0001.jpg,surprise\nAdrianna_Zuzic_0001.jpg,neutral\n"
                             "Elton_John_0002.jpg,surprise\nJayamadhuri_108.jpg,sad\nSheryl_Crow_0006.jpg,happy\n") == 0);
    snprintf(path, sizeof path, "%s/labels.csv", extra);
    REQUIRE(write_text(path, "subject,emotion,image,note\r\nS1,surprise,Adam_Mair_0001.jpg,x\r\n"
                             "S2,neutral,Adrianna_Zuzic_0001.jpg,\r\nS3,surprise,Elton_John_0002.jpg,y\r\n"
                             "S4,sad,Jayamadhuri_108.jpg,z\r\nS5,happy,Sheryl_Crow_0006.jpg,w\r\n") == 0);
    char args[1024];
    snprintf(args, sizeof args, "eval --data '%s' --json --threads 1", plain);
    et_json *a = run_json(args);
    snprintf(args, sizeof args, "eval --data '%s' --json --threads 1", extra);
    et_json *b = run_json(args);
    REQUIRE(a && b);
    CHECK_EQ_INT(et_json_get_number(b, "samples", -1), 5);
    CHECK_NEAR(et_json_get_number(b, "accuracy", -1), et_json_get_number(a, "accuracy", -2), 0);
    /* Same labels, same predictions: the same confusion matrix. */
    for (int k = 0; k < ET_EMOTIONS; k++)
        for (int i = 0; i < ET_EMOTIONS; i++)
            CHECK_NEAR(et_json_at(et_json_at(et_json_get(b, "confusion"), k), i)->number,
                       et_json_at(et_json_at(et_json_get(a, "confusion"), k), i)->number, 0);
    et_json_free(a);
    et_json_free(b);

    /* A header without an emotion column is refused, naming the file. */
    REQUIRE(write_text(path, "subject,image,label\nS1,Adam_Mair_0001.jpg,surprise\n") == 0);
    char *err = NULL;
    snprintf(args, sizeof args, "eval --data '%s'", extra);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "labels.csv:1") && strstr(err, "'emotion'"), "stderr: %s", err ? err : "");
    free(err);
}

TEST(ferplus_majority_rule)
{
    /* Columns: neutral, happiness, surprise, sadness, anger, disgust, fear,
     * contempt, unknown, NF. */
    static const struct {
        int votes[ET_FERPLUS_COLUMNS];
        int label;
    } rows[] = {
        {{4, 0, 0, 1, 3, 2, 0, 0, 0, 0}, 6},  /* neutral */
        {{0, 10, 0, 0, 0, 0, 0, 0, 0, 0}, 3}, /* happy */
        {{0, 0, 1, 0, 6, 2, 1, 0, 0, 0}, 0},  /* anger -> angry */
        {{0, 0, 0, 0, 1, 3, 2, 0, 2, 0}, 1},  /* disgust */
        {{1, 0, 4, 0, 0, 0, 5, 0, 0, 0}, 2},  /* fear */
        {{0, 0, 0, 6, 0, 0, 0, 2, 2, 0}, 4},  /* sadness */
        {{0, 1, 7, 0, 0, 0, 0, 0, 0, 2}, 5},  /* surprise */
        {{5, 5, 0, 0, 0, 0, 0, 0, 0, 0}, -1}, /* top tied */
        {{3, 0, 0, 0, 0, 0, 0, 4, 3, 0}, -1}, /* contempt first */
        {{0, 2, 0, 0, 0, 0, 0, 0, 1, 7}, -1}, /* not a face */
        {{4, 0, 0, 0, 0, 0, 0, 0, 4, 2}, -1}, /* tied with unknown */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, -1}, /* no votes */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_MSG(et_ferplus_majority(rows[i].votes) == rows[i].label, "row %zu: %d, expected %d", i,
                  et_ferplus_majority(rows[i].votes), rows[i].label);
}

/* FER+ files made from the fixture's own labels: when every row's majority
 * is its FER2013 label the two scores agree; when every majority is happy
 * the FER+ accuracy is the share of happy predictions; NF rows are left
 * out. (FER+ column of each FER2013 class: angry 4, disgust 5, fear 6,
 * happy 1, sad 3, surprise 2, neutral 0.) */
TEST(eval_ferplus_scores_majority_labels)
{
    const char *fixture = "tests/fixtures/fer2013-publictest-sample.csv.gz";
    const char *same = test_path("same.csv"), *happy = test_path("happy.csv");
    const char *header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF";
    REQUIRE(shell_runf("zcat %s | awk -F, 'BEGIN { print \"%s\"; split(\"4 5 6 1 3 2 0\", col, \" \") } NR > 1 {"
                       " line = \"PublicTest,x\"; for (k = 0; k < 10; k++) line = line \",\" (k == col[$1 + 1] ? 8 : 0);"
                       " if (NR <= 101) line = \"PublicTest,x,0,0,0,0,0,0,0,0,0,10\"; print line }' > '%s'",
                       fixture, header, same) == 0);
    REQUIRE(shell_runf("zcat %s | awk 'BEGIN { print \"%s\" } NR > 1 { print \"PublicTest,x,1,9,0,0,0,0,0,0,0,0\" }' > '%s'",
                       fixture, header, happy) == 0);
    char args[1024];
    snprintf(args, sizeof args, "eval --data %s --ferplus '%s' --json --threads 1", fixture, same);
    et_json *j = run_json(args);
    REQUIRE(j);
    const et_json *fp = et_json_get(j, "ferplus");
    REQUIRE(fp);
    CHECK_EQ_INT(et_json_get_number(fp, "samples", -1), 499);
    CHECK_EQ_INT(et_json_get_number(fp, "left_out", -1), 100);
    /* The kept rows' confusion matrix is the whole one less the first 100 rows: every cell at most the whole's. */
    double kept = 0, right = 0, whole_right = 0;
    for (int k = 0; k < ET_EMOTIONS; k++)
        for (int i = 0; i < ET_EMOTIONS; i++) {
            double cell = et_json_at(et_json_at(et_json_get(fp, "confusion"), k), i)->number;
            double whole = et_json_at(et_json_at(et_json_get(j, "confusion"), k), i)->number;
            CHECK(cell <= whole);
            kept += cell;
            right += k == i ? cell : 0;
            whole_right += k == i ? whole : 0;
        }
    CHECK_NEAR(kept, 499, 0);
    CHECK_NEAR(et_json_get_number(fp, "accuracy", -1), right / 499, 1e-6);
    CHECK(right <= whole_right && right >= whole_right - 100);
    et_json_free(j);

    snprintf(args, sizeof args, "eval --data %s --ferplus '%s' --json --threads 1", fixture, happy);
    j = run_json(args);
    REQUIRE(j);
    double happy_predictions = 0;
    for (int k = 0; k < ET_EMOTIONS; k++)
        happy_predictions += et_json_at(et_json_at(et_json_get(j, "confusion"), k), 3)->number;
    CHECK_EQ_INT(et_json_get_number(et_json_get(j, "ferplus"), "samples", -1), 599);
    CHECK_NEAR(et_json_get_number(et_json_get(j, "ferplus"), "accuracy", -1), happy_predictions / 599, 1e-6);
    et_json_free(j);
    /* Only FER2013 rows have FER+ votes. */
    CHECK_EQ_INT(cli_run("eval --data tests/fixtures/faces --ferplus x.csv", NULL, NULL), 2);
}

TEST(clip_label_from_file_name)
{
    CHECK_EQ_INT(et_clip_label_from_name("../data/W009_angry.mp4"), 0);
    CHECK_EQ_INT(et_clip_label_from_name("a_b_Surprise.mkv"), 5);
    CHECK_EQ_INT(et_clip_label_from_name("x/W011_neutral.webm"), 6);
    CHECK_EQ_INT(et_clip_label_from_name("take_sad"), 4);
    CHECK_EQ_INT(et_clip_label_from_name("clip.mp4"), -1);        /* no emotion */
    CHECK_EQ_INT(et_clip_label_from_name("dir_happy/clip.mp4"), -1); /* only the directory has one */
    CHECK_EQ_INT(et_clip_label_from_name("W009_bored.mp4"), -1);  /* not an emotion */
    CHECK_EQ_INT(et_clip_label_from_name("W009_contempt.mp4"), -1); /* not one of the seven */
    CHECK_EQ_INT(et_clip_label_from_name("clip_3.mp4"), -1);      /* numbers are not labels */
    CHECK_EQ_INT(et_clip_label_from_name("clip_.mp4"), -1);
}

/* What analyze wrote for a clip (CSV), reduced as eval --clips reduces it:
 * the main track (most rows; lowest number on a tie), its rows right,
 * label changes along it, and the argmax of its mean probability. */
typedef struct {
    long frames, right;
    int changes, mean_label;
} reduced;

static int reduce_csv(const char *path, const char *label, reduced *r)
{
    char *text = file_read_text(path);
    if (!text)
        return -1;
    enum { MAX_ROWS = 4096 };
    static int track[MAX_ROWS];
    static char emotion[MAX_ROWS][16];
    static double prob[MAX_ROWS][ET_EMOTIONS];
    int rows = 0;
    for (char *line = strtok(text, "\n"); line && rows < MAX_ROWS; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "path,", 5))
            continue;
        /* path,frame,t,track,person,x,y,w,h,score,7 probabilities,emotion */
        char *field[32];
        int n = 0;
        for (char *p = line; n < 32; p++) {
            field[n++] = p;
            if (!(p = strchr(p, ',')))
                break;
            *p = '\0';
        }
        if (n != 18)
            break;
        track[rows] = atoi(field[3]);
        for (int k = 0; k < ET_EMOTIONS; k++)
            prob[rows][k] = atof(field[10 + k]);
        snprintf(emotion[rows], sizeof emotion[rows], "%s", field[17]);
        rows++;
    }
    free(text);
    int main_track = -1, best = 0;
    for (int i = 0; i < rows; i++) {
        int count = 0;
        for (int j = 0; j < rows; j++)
            count += track[j] == track[i];
        if (count > best || (count == best && track[i] < main_track)) {
            best = count;
            main_track = track[i];
        }
    }
    memset(r, 0, sizeof *r);
    double mean[ET_EMOTIONS] = {0};
    const char *previous = NULL;
    for (int i = 0; i < rows; i++) {
        if (track[i] != main_track)
            continue;
        r->frames++;
        r->right += !strcmp(emotion[i], label);
        r->changes += previous && strcmp(previous, emotion[i]) != 0;
        previous = emotion[i];
        for (int k = 0; k < ET_EMOTIONS; k++)
            mean[k] += prob[i][k];
    }
    r->mean_label = 0;
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (mean[k] > mean[r->mean_label])
            r->mean_label = k;
    return rows;
}

/* A 2.6 s clip named *_happy.mp4: a smiling photo for 1.6 s, then a
 * surprised one for 1 s. eval --clips must report, for the CNN alone and
 * with the LSTM, exactly what analyze's own output for the clip gives. */
TEST(eval_clips_equals_analyze_on_a_labelled_clip)
{
    const char *dir = test_path("clips");
    REQUIRE(shell_runf("mkdir -p '%s' && ffmpeg -nostdin -v error -y -loop 1 -framerate 15 -t 1.6 "
                       "-i tests/fixtures/faces/Sheryl_Crow_0006.jpg -loop 1 -framerate 15 -t 1.0 "
                       "-i tests/fixtures/faces/Adam_Mair_0001.jpg -filter_complex "
                       "'[0:v]scale=160:160,setsar=1[a];[1:v]scale=160:160,setsar=1[b];[a][b]concat=n=2:v=1:a=0,"
                       "format=yuv420p[v]' -map '[v]' -c:v libx264 '%s/Sheryl_happy.mp4'",
                       dir, dir) == 0);
    char args[2048];
    snprintf(args, sizeof args, "eval --clips '%s' --json --threads 1", dir);
    et_json *j = run_json(args);
    REQUIRE(j);
    CHECK_EQ_INT(et_json_get_number(j, "clips", -1), 1);
    CHECK(et_json_get_bool(j, "labelled", 0));
    const et_json *clip = et_json_at(et_json_get(j, "per_clip"), 0);
    REQUIRE(clip);
    CHECK(!strcmp(et_json_get_string(clip, "label", ""), "happy"));
    const char *passes[2] = {"cnn", "temporal"}, *flags[2] = {"--no-temporal", ""};
    int held_changes = -1;
    for (int p = 0; p < 2; p++) {
        const char *csv = test_path(p ? "lstm.csv" : "cnn.csv");
        snprintf(args, sizeof args, "analyze -q --threads 1 %s -o '%s' '%s/Sheryl_happy.mp4'", flags[p], csv, dir);
        CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
        reduced r;
        CHECK_MSG(reduce_csv(csv, "happy", &r) >= 30, "%s: too few rows", csv);
        const et_json *c = et_json_get(clip, passes[p]), *totals = et_json_get(j, passes[p]);
        REQUIRE(c && totals);
        CHECK_EQ_INT(et_json_get_number(c, "frames", -1), r.frames);
        CHECK_EQ_INT(et_json_get_number(c, "frames_right", -1), r.right);
        CHECK_EQ_INT(et_json_get_number(c, "changes", -1), r.changes);
        if (p == 0)
            held_changes = r.changes;
        CHECK(!strcmp(et_json_get_string(c, "mean_label", ""), et_emotion_names[r.mean_label]));
        CHECK_NEAR(et_json_get_number(totals, "frame_accuracy", -1), (double)r.right / r.frames, 1e-6);
        CHECK_NEAR(et_json_get_number(totals, "clip_accuracy", -1), r.mean_label == 3, 0);
        double seconds = et_json_get_number(c, "seconds", 0);
        /* The JSON gives seconds to 3 decimals and the rates to 4: the
         * rate from the printed seconds is off by up to 10 changes 0.0005 /
         * seconds^2 (0.0016 for 2 changes over 2.53 s), plus the rate's own
         * rounding. */
        double tol = 10.0 * r.changes * 0.0005 / (seconds * seconds) + 1e-4;
        CHECK_NEAR(et_json_get_number(totals, "changes_per_10s_pooled", -1), 10.0 * r.changes / seconds, tol);
        /* The median takes main tracks of 2 s or more only. */
        CHECK_NEAR(et_json_get_number(totals, "changes_per_10s_median", -1),
                   seconds >= 2.0 ? 10.0 * r.changes / seconds : 0.0, tol);
        CHECK_NEAR(et_json_get_number(et_json_get(totals, "share"), "happy", -1), (double)r.right / r.frames, 1e-6);
    }
    et_json_free(j);

    /* --label-margin reaches the analyzer as analyze's does: with 0 (the
     * argmax, frame by frame) the same as analyze --label-margin 0, and
     * never fewer changes than with the default hysteresis. */
    snprintf(args, sizeof args, "eval --clips '%s' --no-temporal --label-margin 0 --json --threads 1", dir);
    j = run_json(args);
    REQUIRE(j);
    const char *csv = test_path("argmax.csv");
    snprintf(args, sizeof args, "analyze -q --threads 1 --no-temporal --label-margin 0 -o '%s' '%s/Sheryl_happy.mp4'",
             csv, dir);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    reduced argmax;
    REQUIRE(reduce_csv(csv, "happy", &argmax) > 0);
    const et_json *c = et_json_get(et_json_at(et_json_get(j, "per_clip"), 0), "cnn");
    CHECK_EQ_INT(et_json_get_number(c, "changes", -1), argmax.changes);
    CHECK_EQ_INT(et_json_get_number(c, "frames_right", -1), argmax.right);
    CHECK(argmax.changes >= held_changes);
    et_json_free(j);

    /* The same clip under a name without an emotion: unlabelled, no
     * accuracy; with a labelled one beside it the folder is refused. */
    REQUIRE(shell_runf("mv '%s/Sheryl_happy.mp4' '%s/Sheryl.mp4'", dir, dir) == 0);
    snprintf(args, sizeof args, "eval --clips '%s' --no-temporal --json --threads 1", dir);
    j = run_json(args);
    REQUIRE(j);
    CHECK(!et_json_get_bool(j, "labelled", 1));
    CHECK(et_json_get(et_json_get(j, "cnn"), "frame_accuracy") == NULL);
    CHECK(et_json_get(j, "temporal") == NULL);
    et_json_free(j);
    REQUIRE(shell_runf("cp '%s/Sheryl.mp4' '%s/Sheryl_happy.mp4'", dir, dir) == 0);
    char *err = NULL;
    snprintf(args, sizeof args, "eval --clips '%s' --no-temporal --threads 1", dir);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "Sheryl.mp4 is not"), "stderr: %s", err ? err : "");
    free(err);
}

/* The onset tracks: a still neutral crop, then 0.5 s to the expression,
 * ending exactly at its peak, labelled with it; deterministic per index. */
TEST(track_onset_plan_ends_at_the_peak)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, "tests/fixtures/fer2013-publictest-sample.csv.gz", NULL, 0) == 0);
    et_track_synth_options o;
    et_track_synth_defaults(&o);
    et_track_synth s;
    REQUIRE(et_track_synth_init(&s, &ds, &o, 7) == 0);
    int targets[ET_EMOTIONS] = {0};
    for (int i = 0; i < 60; i++) {
        et_synth_track t, again;
        REQUIRE(et_track_onset_plan(&s, i, &t) == 0);
        REQUIRE(et_track_onset_plan(&s, i, &again) == 0);
        const et_synth_frame *first = &t.frames[0], *last = &t.frames[t.count - 1];
        CHECK(t.fps >= 25 && t.fps <= 30);
        CHECK(last->time >= 1.5 - 1e-9 && last->time <= 2.5 + 1.0 / t.fps);
        CHECK_EQ_INT(ds.labels[first->image_a], ET_EMOTIONS - 1);
        CHECK(first->mix == 0.0f && first->label == ET_EMOTIONS - 1);
        CHECK(last->mix == 1.0f && last->label == ds.labels[last->image_b] && last->label != ET_EMOTIONS - 1);
        /* The cross-fade starts 0.5 s before the last frame. */
        for (int f = 0; f < t.count; f++)
            CHECK(t.frames[f].mix == 0.0f || t.frames[f].time > last->time - ET_ONSET_SECONDS - 1e-9);
        CHECK(t.count == again.count && !memcmp(t.frames, again.frames, (size_t)t.count * sizeof *t.frames));
        targets[last->label]++;
        et_synth_track_free(&t);
        et_synth_track_free(&again);
    }
    for (int k = 0; k < ET_EMOTIONS - 1; k++)
        CHECK_MSG(targets[k] > 0, "no onset to %s in 60", et_emotion_names[k]);
    et_track_synth_free(&s);
    et_face_dataset_free(&ds);
}

/* eval --temporal reports the onsets of the three, the same for the same seed. */
TEST(eval_temporal_reports_onsets)
{
    const char *args = "eval --temporal --data tests/fixtures/fer2013-publictest-sample.csv.gz --usage PublicTest "
                       "--tracks 2 --onsets 12 --json --threads 1";
    et_json *a = run_json(args), *b = run_json(args);
    REQUIRE(a && b);
    CHECK_EQ_INT(et_json_get_number(a, "onsets", -1), 12);
    const char *keys[3] = {"cnn", "cnn_lstm", "lookahead"};
    for (int p = 0; p < 3; p++) {
        const char *key = keys[p];
        double share = et_json_get_number(et_json_get(a, "onset_last_frame"), key, -1);
        CHECK_MSG(share >= 0 && share <= 1, "%s: %g", key, share);
        CHECK_NEAR(share * 12, round(share * 12), 1e-4); /* a share of 12 onsets */
        CHECK_NEAR(share, et_json_get_number(et_json_get(b, "onset_last_frame"), key, -2), 0);
    }
    et_json_free(a);
    et_json_free(b);
}
