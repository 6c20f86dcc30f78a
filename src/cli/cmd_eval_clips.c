/* emotrace eval --clips: every video of a folder through the analyze
 * pipeline, once with the CNN alone and once with the temporal model, and
 * what it reported along each clip's main track summed up over the folder:
 * accuracy against the emotion in the file names when they carry one, label
 * changes per 10 s and the share of frames per emotion always. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emotrace/clip_eval.h"
#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/media_input.h"
#include "emotrace/sha256.h"
#include "emotrace/weights_path.h"
#include "eval_clips.h"

/* Clips shorter than this (main track) say little about label changes per
 * 10 s: the median leaves them out. */
#define MIN_CHANGE_SECONDS 2.0

typedef struct {
    int clips, with_face, labelled, rate_clips;
    long frames, frames_right, per_emotion[ET_EMOTIONS];
    int clips_right, class_clips[ET_EMOTIONS], class_right[ET_EMOTIONS];
    long changes;
    double seconds, median_changes_per_10s;
} clip_totals;

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Adds up the summaries of the clips that were analysed (failed ones have
 * main_track -2 and are left out); rates: scratch room for one per clip. */
static void totals_add(clip_totals *t, const et_clip_summary *s, int count, double *rates)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < count; i++) {
        if (s[i].main_track == -2)
            continue;
        t->clips++;
        if (s[i].label >= 0) {
            t->labelled++;
            t->class_clips[s[i].label]++;
            if (s[i].mean_label == s[i].label) {
                t->clips_right++;
                t->class_right[s[i].label]++;
            }
        }
        if (s[i].main_track < 0)
            continue;
        t->with_face++;
        t->frames += s[i].frames;
        t->frames_right += s[i].frames_right;
        for (int k = 0; k < ET_EMOTIONS; k++)
            t->per_emotion[k] += s[i].per_emotion[k];
        t->changes += s[i].changes;
        t->seconds += s[i].seconds;
        if (s[i].seconds >= MIN_CHANGE_SECONDS)
            rates[t->rate_clips++] = 10.0 * s[i].changes / s[i].seconds;
    }
    qsort(rates, (size_t)t->rate_clips, sizeof *rates, compare_doubles);
    int n = t->rate_clips;
    t->median_changes_per_10s = n ? (n % 2 ? rates[n / 2] : 0.5 * (rates[n / 2 - 1] + rates[n / 2])) : 0.0;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static void json_totals(et_strbuf *b, const char *name, const clip_totals *t)
{
    et_strbuf_printf(b, ",\"%s\":{\"clips_with_face\":%d,\"frames\":%ld,\"changes_per_10s_median\":%.4f,"
                        "\"median_clips\":%d,\"changes_per_10s_pooled\":%.4f",
                     name, t->with_face, t->frames, t->median_changes_per_10s, t->rate_clips,
                     ratio(10.0 * t->changes, t->seconds));
    if (t->labelled) {
        et_strbuf_printf(b, ",\"frame_accuracy\":%.6f,\"clip_accuracy\":%.6f,\"clip_recall\":{",
                         ratio(t->frames_right, t->frames), ratio(t->clips_right, t->labelled));
        for (int k = 0, first = 1; k < ET_EMOTIONS; k++)
            if (t->class_clips[k]) {
                et_strbuf_printf(b, "%s\"%s\":%.6f", first ? "" : ",", et_emotion_names[k],
                                 ratio(t->class_right[k], t->class_clips[k]));
                first = 0;
            }
        et_strbuf_append(b, "}", 1);
    }
    et_strbuf_append(b, ",\"share\":{", 10);
    for (int k = 0; k < ET_EMOTIONS; k++)
        et_strbuf_printf(b, "%s\"%s\":%.6f", k ? "," : "", et_emotion_names[k], ratio(t->per_emotion[k], t->frames));
    et_strbuf_append(b, "}}", 2);
}

static const char *const pass_keys[2] = {"cnn", "temporal"};
static const char *const pass_names[2] = {"cnn", "temporal"};

static void print_json(const eval_clips_options *o, const et_media_item *const *clips, int count,
                       et_clip_summary *const *s, const clip_totals *t, int passes, int failed)
{
    et_strbuf b = {0};
    et_strbuf_append(&b, "{\"clips_dir\":", 13);
    et_strbuf_json_string(&b, o->dir);
    et_strbuf_printf(&b, ",\"clips\":%d,\"failed\":%d,\"labelled\":%s", count, failed, t[0].labelled ? "true" : "false");
    for (int p = 0; p < passes; p++)
        json_totals(&b, pass_keys[p], &t[p]);
    et_strbuf_append(&b, ",\"per_clip\":[", 13);
    for (int i = 0; i < count; i++) {
        et_strbuf_append(&b, i ? ",{\"path\":" : "{\"path\":", i ? 9 : 8);
        et_strbuf_json_string(&b, clips[i]->path);
        et_strbuf_printf(&b, ",\"label\":%s%s%s", s[0][i].label >= 0 ? "\"" : "",
                         s[0][i].label >= 0 ? et_emotion_names[s[0][i].label] : "null", s[0][i].label >= 0 ? "\"" : "");
        for (int p = 0; p < passes; p++) {
            const et_clip_summary *c = &s[p][i];
            et_strbuf_printf(&b, ",\"%s\":{\"frames\":%ld,\"frames_right\":%ld,\"changes\":%d,\"seconds\":%.3f,"
                                 "\"mean_label\":%s%s%s}",
                             pass_keys[p], c->frames, c->frames_right, c->changes, c->seconds,
                             c->mean_label >= 0 ? "\"" : "", c->mean_label >= 0 ? et_emotion_names[c->mean_label] : "null",
                             c->mean_label >= 0 ? "\"" : "");
        }
        et_strbuf_append(&b, "}", 1);
    }
    et_strbuf_append(&b, "]}", 2);
    if (!b.failed)
        printf("%s\n", b.data);
    et_strbuf_free(&b);
}

static void print_text(const eval_clips_options *o, const et_media_item *const *clips, int count,
                       et_clip_summary *const *s, const clip_totals *t, int passes, int failed)
{
    printf("clips: %d in %s (%s), %d with a face, %d analyses failed\n\n", count, o->dir,
           t[0].labelled ? "labelled by file name" : "unlabelled", t[0].with_face, failed);
    printf("%-24s", "");
    for (int p = 0; p < passes; p++)
        printf(" %9s", pass_names[p]);
    printf("\n");
#define ROW(name, expr)                                                                                                \
    do {                                                                                                               \
        printf("%-24s", name);                                                                                         \
        for (int p = 0; p < passes; p++)                                                                               \
            printf(" %9.4f", (expr));                                                                                  \
        printf("\n");                                                                                                  \
    } while (0)
    if (t[0].labelled) {
        ROW("frame_accuracy", ratio(t[p].frames_right, t[p].frames));
        ROW("clip_accuracy", ratio(t[p].clips_right, t[p].labelled));
    }
    printf("%-24s", "changes_per_10s_median");
    for (int p = 0; p < passes; p++)
        printf(" %9.2f", t[p].median_changes_per_10s);
    printf("   (%d clips of %.0f s or more)\n", t[0].rate_clips, MIN_CHANGE_SECONDS);
    printf("%-24s", "changes_per_10s_pooled");
    for (int p = 0; p < passes; p++)
        printf(" %9.2f", ratio(10.0 * t[p].changes, t[p].seconds));
    printf("\n");
    char name[64];
    for (int k = 0; t[0].labelled && k < ET_EMOTIONS; k++)
        if (t[0].class_clips[k]) {
            snprintf(name, sizeof name, "recall_%s", et_emotion_names[k]);
            ROW(name, ratio(t[p].class_right[k], t[p].class_clips[k]));
        }
    for (int k = 0; k < ET_EMOTIONS; k++) {
        snprintf(name, sizeof name, "share_%s", et_emotion_names[k]);
        ROW(name, ratio(t[p].per_emotion[k], t[p].frames));
    }
#undef ROW
    printf("\nper clip (main track: frames, seconds; per pass: frames right, label changes, label of the mean)\n");
    for (int i = 0; i < count; i++) {
        const char *base = strrchr(clips[i]->path, '/');
        printf("%-40s %5ld %6.1f s", base ? base + 1 : clips[i]->path, s[0][i].frames, s[0][i].seconds);
        for (int p = 0; p < passes; p++) {
            const et_clip_summary *c = &s[p][i];
            if (c->main_track == -2)
                printf("  | %s: failed", pass_names[p]);
            else if (c->label >= 0)
                printf("  | %s: %5ld %4d %-8s", pass_names[p], c->frames_right, c->changes,
                       c->mean_label >= 0 ? et_emotion_names[c->mean_label] : "-");
            else
                printf("  | %s: %4d %-8s", pass_names[p], c->changes,
                       c->mean_label >= 0 ? et_emotion_names[c->mean_label] : "-");
        }
        printf("\n");
    }
}

/* Loads the temporal model for the second pass, checking that it reads this
 * CNN's embedding; NULL in *out with --no-temporal. */
static int load_temporal(const eval_clips_options *o, const et_emotion_classifier *cnn, et_temporal **out)
{
    *out = NULL;
    if (o->no_temporal)
        return ET_OK;
    char found[1024];
    const char *path = o->lstm_path;
    if (!path) {
        int rc = et_weights_find("emotion-lstm.safetensors", found, sizeof found);
        if (rc != ET_OK)
            return rc;
        path = found;
    }
    int rc = et_temporal_load(out, path);
    if (rc == ET_OK && et_temporal_embedding_size(*out) != cnn->embedding_size)
        rc = et_error_set(ET_ERR_FORMAT, "%s: made for a CNN embedding of %d values, %s gives %d", path,
                          et_temporal_embedding_size(*out), o->cnn_path, cnn->embedding_size);
    char cnn_sha[65];
    if (rc == ET_OK && *et_temporal_cnn_sha256(*out) && et_sha256_file(o->cnn_path, cnn_sha) == ET_OK &&
        strcmp(cnn_sha, et_temporal_cnn_sha256(*out)) != 0)
        fprintf(stderr, "emotrace: eval: warning: %s was trained with another emotion CNN than %s\n", path,
                o->cnn_path);
    if (rc != ET_OK) {
        et_temporal_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Analyses one clip and summarises it; a clip that fails is reported and
 * marked (main_track -2). Returns 1 if it failed. */
static int analyze_clip(et_analyzer_options *ao, const et_media_item *item, et_clip_summary *s)
{
    et_clip_record record = {0};
    et_media_info info = {0};
    et_analyzer_stats stats;
    info.path = item->path;
    ao->on_frame = et_clip_record_on_frame;
    ao->on_frame_ctx = &record;
    int rc = et_analyze_media(ao, item, &info, NULL, &stats);
    if (rc == ET_OK)
        rc = et_clip_summarize(&record, et_clip_label_from_name(item->path), s);
    et_clip_record_free(&record);
    if (rc == ET_OK)
        return 0;
    fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
    memset(s, 0, sizeof *s);
    s->main_track = -2;
    s->label = et_clip_label_from_name(item->path);
    s->mean_label = -1;
    return 1;
}

/* The videos of dir, in the order analyze takes them; all labelled by
 * their names or none. */
static int list_clips(const char *dir, et_media_list *list, const et_media_item ***clips, int *count)
{
    et_media_input_options input = {0};
    int rc = et_media_list_add_path(list, dir, &input);
    if (rc != ET_OK)
        return rc;
    *clips = malloc((list->count + 1) * sizeof **clips);
    if (!*clips)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", dir);
    *count = 0;
    int labelled = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].kind == ET_MEDIA_VIDEO) {
            (*clips)[(*count)++] = &list->items[i];
            labelled += et_clip_label_from_name(list->items[i].path) >= 0;
        }
    if (!*count)
        return et_error_set(ET_ERR_USAGE, "%s: no videos", dir);
    for (int i = 0; labelled && labelled < *count && i < *count; i++)
        if (et_clip_label_from_name((*clips)[i]->path) < 0)
            return et_error_set(ET_ERR_USAGE,
                                "%s: %d of %d clips are labelled by their names (<anything>_<emotion>.<ext>), "
                                "%s is not: label all or none",
                                dir, labelled, *count, (*clips)[i]->path);
    return ET_OK;
}

int eval_clips(const eval_clips_options *o)
{
    int status = EXIT_SOME_FAILED, count = 0, failed = 0, passes = 0;
    et_emotion_classifier cnn = {0};
    et_face_detector *detector = NULL;
    et_temporal *temporal = NULL;
    et_media_list list = {0};
    const et_media_item **clips = NULL;
    et_clip_summary *s[2] = {NULL, NULL};
    double *rates = NULL;
    if (list_clips(o->dir, &list, &clips, &count) != ET_OK || et_emotion_classifier_load(&cnn, o->cnn_path) != ET_OK ||
        et_face_detector_load(&detector, NULL, &o->detector) != ET_OK || load_temporal(o, &cnn, &temporal) != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
        goto done;
    }
    cnn.flip_tta = o->tta;
    passes = temporal ? 2 : 1;
    s[0] = calloc((size_t)count, sizeof *s[0]);
    s[1] = calloc((size_t)count, sizeof *s[1]);
    rates = calloc((size_t)count, sizeof *rates);
    if (!s[0] || !s[1] || !rates) {
        fprintf(stderr, "emotrace: eval: out of memory\n");
        goto done;
    }
    et_analyzer_options ao;
    et_analyzer_defaults(&ao);
    ao.detector = detector;
    ao.classifier = &cnn;
    ao.align.box_scale = (float)o->box_scale;
    ao.align.offset_y = (float)o->offset_y;
    ao.label_margin = (float)o->label_margin;
    ao.label_dwell = o->label_dwell;
    ao.lookahead = o->lookahead;
    for (int p = 0; p < passes; p++) {
        ao.temporal = p ? temporal : NULL;
        for (int i = 0; i < count; i++)
            failed += analyze_clip(&ao, clips[i], &s[p][i]);
    }
    clip_totals t[2];
    for (int p = 0; p < passes; p++)
        totals_add(&t[p], s[p], count, rates);
    if (o->json)
        print_json(o, clips, count, s, t, passes, failed);
    else
        print_text(o, clips, count, s, t, passes, failed);
    status = failed ? EXIT_SOME_FAILED : EXIT_OK;
done:
    free(rates);
    free(s[0]);
    free(s[1]);
    free(clips);
    et_media_list_free(&list);
    et_temporal_free(temporal);
    et_face_detector_free(detector);
    et_emotion_classifier_free(&cnn);
    return status;
}
