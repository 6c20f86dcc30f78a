/* emotrace plot and report: the SVG and the HTML are well-formed XML
 * (xmllint), and the pictures render (rsvg-convert, from librsvg2-bin) to
 * something that is not blank and shows the seven emotion series in their
 * colours. Data: tests/results_fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/image.h"
#include "emotrace/report.h"
#include "results_fixture.h"
#include "test.h"

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

typedef struct {
    int width, height;
    double inked;               /* share of pixels that are not white */
    long series[ET_EMOTIONS];   /* pixels in each emotion's colour left of the legend */
} picture;

/* Renders an SVG file to PNG and measures it. The legend is the right-hand
 * column (from 82% of the width), so series colours are counted left of it. */
static int render(const char *svg, picture *pic)
{
    char png[700];
    snprintf(png, sizeof png, "%s.png", svg);
    if (shell_runf("rsvg-convert -o '%s' '%s'", png, svg) != 0)
        return -1;
    et_frame f = {0};
    if (et_image_load(png, &f) != 0)
        return -1;
    memset(pic, 0, sizeof *pic);
    pic->width = f.width;
    pic->height = f.height;
    long inked = 0;
    for (int y = 0; y < f.height; y++)
        for (int x = 0; x < f.width; x++) {
            const uint8_t *p = f.rgb + (size_t)y * f.stride + 3 * x;
            inked += p[0] < 250 || p[1] < 250 || p[2] < 250;
            if (x >= f.width * 82 / 100)
                continue;
            for (int k = 0; k < ET_EMOTIONS; k++) {
                int dr = p[0] - et_emotion_rgb[k][0], dg = p[1] - et_emotion_rgb[k][1], db = p[2] - et_emotion_rgb[k][2];
                pic->series[k] += dr * dr + dg * dg + db * db < 20 * 20;
            }
        }
    pic->inked = (double)inked / ((double)f.width * f.height);
    et_frame_free(&f);
    return 0;
}

/* Results where the seven lines never overlap (emotion k near 0.1 + 0.12 k,
 * upside down in track 2), so that every series shows in the picture. */
static int write_spread(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "path,frame,t,track,x,y,w,h,score,angry,disgust,fear,happy,sad,surprise,neutral,emotion\n");
    for (int track = 1; track <= 2; track++)
        for (int i = 0; i < 40; i++) {
            fprintf(f, "spread.mp4,%d,%.1f,%d,10,10,50,50,0.9", i, i / 10.0, track);
            for (int k = 0; k < ET_EMOTIONS; k++) {
                int level = track == 1 ? k : ET_EMOTIONS - 1 - k;
                fprintf(f, ",%.3f", 0.1 + 0.12 * level + 0.03 * ((i + k) % 3 - 1));
            }
            fprintf(f, ",%s\n", track == 1 ? "neutral" : "angry");
        }
    return fclose(f);
}

TEST(report_plot_svg_parses_and_renders)
{
    const char *data = test_path("fixture.csv"), *svg = test_path("timeline.svg");
    REQUIRE(results_fixture_write(data) == 0);
    char args[1024], *err = NULL;
    snprintf(args, sizeof args, "plot '%s' -o '%s'", data, svg);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 0);
    free(err);
    CHECK_EQ_INT(shell_runf("xmllint --noout '%s'", svg), 0);
    char *text = file_read_text(svg);
    REQUIRE(text);
    /* Three tracks (two in a.mp4, one in the other file), seven series each,
     * one dash pattern per emotion but the solid one. */
    CHECK_EQ_INT(count_of(text, "<g class=\"panel\""), 3);
    CHECK_EQ_INT(count_of(text, "class=\"series\""), 21);
    for (int k = 0; k < ET_EMOTIONS; k++) {
        char want[128];
        snprintf(want, sizeof want, "data-emotion=\"%s\" fill=\"none\" stroke=\"%s\"", et_emotion_names[k],
                 et_emotion_hex[k]);
        CHECK_EQ_INT(count_of(text, want), 3);
        for (int j = 0; j < k; j++)
            CHECK(strcmp(et_emotion_dash[j], et_emotion_dash[k]) != 0);
    }
    CHECK(strstr(text, ">a.mp4: track 1</text>"));
    CHECK(strstr(text, ">b&amp;c, d.mp4: track 1</text>"));
    CHECK(strstr(text, ">00:02.0</text>")); /* mm:ss axis of track 1 (0 to 2.1 s) */
    /* Track 1 is lost from 0.9 to 2.0 s: each of its series is two pieces. */
    const char *panel = strstr(text, "data-track=\"1\"");
    const char *series = panel ? strstr(panel, "class=\"series\"") : NULL;
    const char *end = series ? strstr(series, "/>") : NULL;
    REQUIRE(end);
    int moves = 0;
    for (const char *p = series; p < end; p++)
        moves += *p == 'M';
    CHECK_EQ_INT(moves, 2);
    free(text);

    picture pic;
    REQUIRE(render(svg, &pic) == 0);
    CHECK_EQ_INT(pic.width, 900);
    CHECK_EQ_INT(pic.height, 750);
    CHECK_MSG(pic.inked > 0.05, "only %.3f of the picture is drawn", pic.inked);

    /* Seven lines apart: each colour is seen along a whole line (690 px
     * wide, dashed); one track of two selected gives one panel. */
    const char *spread = test_path("spread.csv");
    REQUIRE(write_spread(spread) == 0);
    snprintf(args, sizeof args, "plot '%s' --media spread.mp4 --track 2 -o '%s'", spread, svg);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    CHECK_EQ_INT(shell_runf("xmllint --noout '%s'", svg), 0);
    text = file_read_text(svg);
    REQUIRE(text);
    CHECK_EQ_INT(count_of(text, "<g class=\"panel\""), 1);
    CHECK(strstr(text, ">spread.mp4: track 2</text>"));
    free(text);
    REQUIRE(render(svg, &pic) == 0);
    CHECK_EQ_INT(pic.height, 250);
    CHECK(pic.inked > 0.05);
    for (int k = 0; k < ET_EMOTIONS; k++)
        CHECK_MSG(pic.series[k] >= 150, "%s: %ld pixels of its colour", et_emotion_names[k], pic.series[k]);
}

TEST(report_plot_errors)
{
    const char *data = test_path("fixture.sqlite");
    REQUIRE(results_fixture_write(data) == 0);
    char args[1024], *err = NULL;
    snprintf(args, sizeof args, "plot '%s' --track 9 -o '%s'", data, test_path("x.svg"));
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "no face track 9"), "%s", err ? err : "");
    free(err);
    snprintf(args, sizeof args, "plot '%s' --media nothing.mp4", data);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "no face track in nothing.mp4"), "%s", err ? err : "");
    free(err);
    CHECK_EQ_INT(cli_run("plot --track 0 x.csv", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("plot", NULL, NULL), 2);
}

TEST(report_html_parses_and_renders)
{
    const char *data = test_path("fixture.sqlite"), *html = test_path("report.html");
    REQUIRE(results_fixture_write(data) == 0);
    char args[1024];
    snprintf(args, sizeof args, "report '%s' -o '%s'", data, html);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    CHECK_EQ_INT(shell_runf("xmllint --noout '%s'", html), 0);
    char *text = file_read_text(html);
    REQUIRE(text);
    CHECK(!strncmp(text, "<!DOCTYPE html>\n", 16));
    /* Self-contained: no scripts, nothing loaded from elsewhere. */
    CHECK(!strstr(text, "<script"));
    CHECK(!strstr(text, "src="));
    CHECK(!strstr(text, "href="));
    CHECK(!strstr(text, "url("));
    /* Every media file, the one without faces too; a timeline picture per
     * file with faces, a panel per track. */
    CHECK_EQ_INT(count_of(text, "<section>"), 3);
    CHECK(strstr(text, "<h2>b&amp;c, d.mp4</h2>"));
    CHECK(strstr(text, "<h2>empty.mp4</h2>"));
    CHECK_EQ_INT(count_of(text, "<svg "), 2);
    CHECK_EQ_INT(count_of(text, "<g class=\"panel\""), 3);
    /* The summary table's numbers (track 1 of a.mp4: 1.30 s, 53.8% sad). */
    CHECK(strstr(text, "<tr><td>1</td><td>00:00.00</td><td>00:02.10</td><td>1.30</td><td class=\"l\">sad</td>"));
    CHECK(strstr(text, "<td>53.8%</td>"));
    CHECK(strstr(text, "<td>0.80 at 00:02.10</td>"));

    free(text);

    /* Each inline SVG, cut out, renders with all seven series. */
    const char *spread = test_path("spread.csv");
    REQUIRE(write_spread(spread) == 0);
    snprintf(args, sizeof args, "report '%s' -o '%s'", spread, html);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    CHECK_EQ_INT(shell_runf("xmllint --noout '%s'", html), 0);
    text = file_read_text(html);
    REQUIRE(text);
    int index = 0;
    for (const char *p = strstr(text, "<svg "); p; p = strstr(p + 1, "<svg ")) {
        const char *end = strstr(p, "</svg>");
        REQUIRE(end);
        char name[32];
        snprintf(name, sizeof name, "inline-%d.svg", index++);
        const char *path = test_path(name);
        FILE *f = fopen(path, "w");
        REQUIRE(f);
        fwrite(p, 1, (size_t)(end + 6 - p), f);
        fclose(f);
        picture pic;
        REQUIRE(render(path, &pic) == 0);
        CHECK(pic.inked > 0.05);
        for (int k = 0; k < ET_EMOTIONS; k++)
            CHECK_MSG(pic.series[k] >= 300, "%s: %s: %ld pixels", name, et_emotion_names[k], pic.series[k]);
    }
    CHECK_EQ_INT(index, 1);
    free(text);
}
