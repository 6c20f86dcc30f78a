/* Face datasets from image folders and FER+ soft targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/image_folder.h"
#include "test.h"

TEST(image_folder_dataset_reads_emotion_folders)
{
    char cmd[2048];
    const char *d = test_tmpdir();
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/set/happy %s/set/sad %s/set/unrelated && "
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=white:s=64x32:d=1 -frames:v 1 %s/set/happy/a.png && "
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=black:s=48x48:d=1 -frames:v 1 %s/set/sad/b.jpg && "
             "echo x > %s/set/sad/notes.txt",
             d, d, d, d, d, d);
    REQUIRE(system(cmd) == 0);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/set", d);
    et_face_dataset ds;
    REQUIRE(et_image_folder_load(&ds, dir) == ET_OK);
    CHECK_EQ_INT(ds.count, 2);
    CHECK_EQ_INT(ds.labels[0], 3); /* happy */
    CHECK_EQ_INT(ds.labels[1], 4); /* sad */
    CHECK(ds.pixels[0] > 240 && ds.pixels[48 * 48 - 1] > 240); /* white, centre-cropped and resized */
    CHECK(ds.pixels[48 * 48] < 16);                            /* black */
    et_face_dataset_free(&ds);
    /* A folder without emotion folders is an error naming it. */
    snprintf(dir, sizeof dir, "%s/set/unrelated", d);
    CHECK(et_image_folder_load(&ds, dir) != ET_OK);
    CHECK(strstr(et_error_message(), "unrelated") != NULL);
}

TEST(ferplus_votes_become_soft_targets)
{
    char csv[600], votes[600];
    snprintf(csv, sizeof csv, "%s/fer.csv", test_tmpdir());
    snprintf(votes, sizeof votes, "%s/ferplus.csv", test_tmpdir());
    FILE *f = fopen(csv, "w");
    REQUIRE(f);
    fprintf(f, "emotion,pixels,Usage\n");
    for (int row = 0; row < 3; row++) {
        fprintf(f, "%d,", row == 2 ? 0 : 3);
        for (int i = 0; i < 48 * 48; i++)
            fprintf(f, "%s%d", i ? " " : "", i % 256);
        fprintf(f, ",Training\n");
    }
    fclose(f);
    f = fopen(votes, "w");
    REQUIRE(f);
    fprintf(f, "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n");
    fprintf(f, "Training,a.png,2,8,0,0,0,0,0,0,0,0\n"); /* 80% happy, 20% neutral */
    fprintf(f, "Training,b.png,0,0,0,0,0,0,0,0,0,10\n"); /* not a face: keep the FER2013 label */
    fprintf(f, "Training,c.png,0,0,5,0,5,0,0,0,0,0\n"); /* half surprise, half anger */
    fclose(f);
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, csv, "Training", 0) == ET_OK);
    REQUIRE(et_ferplus_attach(&ds, votes, 1.0f) == ET_OK);
    REQUIRE(ds.soft != NULL);
    CHECK_NEAR(ds.soft[0 * 7 + 3], 0.8, 1e-6);
    CHECK_NEAR(ds.soft[0 * 7 + 6], 0.2, 1e-6);
    CHECK_NEAR(ds.soft[1 * 7 + 3], 1.0, 1e-6);
    CHECK_NEAR(ds.soft[2 * 7 + 5], 0.5, 1e-6);
    CHECK_NEAR(ds.soft[2 * 7 + 0], 0.5, 1e-6);
    et_face_dataset_free(&ds);

    /* Mixed with the FER2013 label: row c is labelled angry (0) in FER2013. */
    REQUIRE(et_fer2013_load(&ds, csv, "Training", 0) == ET_OK);
    REQUIRE(et_ferplus_attach(&ds, votes, 0.25f) == ET_OK);
    CHECK_NEAR(ds.soft[0 * 7 + 3], 0.25 * 0.8 + 0.75, 1e-6);
    CHECK_NEAR(ds.soft[0 * 7 + 6], 0.25 * 0.2, 1e-6);
    CHECK_NEAR(ds.soft[1 * 7 + 3], 1.0, 1e-6); /* no usable vote */
    CHECK_NEAR(ds.soft[2 * 7 + 5], 0.25 * 0.5, 1e-6);
    CHECK_NEAR(ds.soft[2 * 7 + 0], 0.25 * 0.5 + 0.75, 1e-6);
    for (int r = 0; r < 3; r++) {
        double sum = 0;
        for (int k = 0; k < 7; k++)
            sum += ds.soft[r * 7 + k];
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
    et_face_dataset_free(&ds);
}
