/* emotrace summary: per media file and face track, time on screen, the
 * dominant emotion, the share of time per emotion and the strongest moment
 * of each emotion; as an aligned table, CSV or JSON. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/results.h"

static const char usage[] =
    "usage: emotrace summary [OPTIONS] FILE\n"
    "\n"
    "Summarises a results file of 'emotrace analyze' (FILE.sqlite|.db, FILE.csv,\n"
    "FILE.jsonl, or - for CSV on standard input): per media file, person and face\n"
    "track, the time on screen, the dominant emotion (labelled for the longest\n"
    "time), the share of time per emotion and the strongest moment of each emotion.\n"
    "A person is the tracks analyze linked as one face; the table lists each\n"
    "person with its tracks under it, and persons linked across files (analyze\n"
    "--persons-across, SQLite) once more over all their files.\n"
    "\n"
    "      --csv          one CSV row per track and emotion\n"
    "      --json         one JSON document\n"
    "  -o, --output FILE  write to FILE instead of standard output\n"
    "\n"
    "Exit status: 0 done, 1 the file could not be read, 2 usage error.\n";

static double round4(double v)
{
    return round(v * 1e4) / 1e4;
}

/* ,"first_t":..,"last_t":..,"on_screen":.. of a track or a person. */
/* The fields a track and a person both have, up to the opening of the
 * per-emotion object named key. */
static void json_span(et_strbuf *b, double first_t, double last_t, double on_screen, size_t count, int dominant,
                      const char *key)
{
    et_strbuf_printf(b, ",\"first_t\":");
    et_strbuf_json_number(b, round4(first_t));
    et_strbuf_printf(b, ",\"last_t\":");
    et_strbuf_json_number(b, round4(last_t));
    et_strbuf_printf(b, ",\"on_screen\":");
    et_strbuf_json_number(b, round4(on_screen));
    et_strbuf_printf(b, ",\"frames\":%zu,\"dominant\":\"%s\",\"%s\":{", count, et_emotion_names[dominant], key);
}

static void csv_field(FILE *out, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    fputc('"', out);
}

static void print_csv(FILE *out, const et_result_media *m, const et_track_stats *s, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < ET_EMOTIONS; k++) {
            csv_field(out, m->path);
            fprintf(out, ",%d,", s[i].track);
            if (s[i].person > 0)
                fprintf(out, "%d", s[i].person);
            fprintf(out, ",%.3f,%.3f,%.3f,%zu,%s,%s,%.3f,%.4f,%.4f,%.4f,%.3f\n", s[i].first_t,
                    s[i].last_t, s[i].on_screen, s[i].count, et_emotion_names[s[i].dominant], et_emotion_names[k],
                    s[i].seconds[k], s[i].share[k], s[i].mean[k], s[i].peak[k].p, s[i].peak[k].t);
        }
}

static void json_media(et_strbuf *b, const et_result_media *m, const et_track_stats *s, int n,
                       const et_person_stats *p, int np)
{
    et_strbuf_append(b, "{\"path\":", 8);
    et_strbuf_json_string(b, m->path);
    /* Unknown (CSV and JSON Lines know no duration, fps or size): null. */
    et_strbuf_printf(b, ",\"duration\":");
    et_strbuf_json_number(b, m->duration > 0 ? round4(m->duration) : NAN);
    et_strbuf_printf(b, ",\"fps\":");
    et_strbuf_json_number(b, m->fps > 0 ? round4(m->fps) : NAN);
    if (m->width > 0)
        et_strbuf_printf(b, ",\"width\":%d,\"height\":%d,\"tracks\":[", m->width, m->height);
    else
        et_strbuf_printf(b, ",\"width\":null,\"height\":null,\"tracks\":[");
    for (int i = 0; i < n; i++) {
        et_strbuf_printf(b, "%s{\"track\":%d,\"person\":", i ? "," : "", s[i].track);
        if (s[i].person > 0)
            et_strbuf_printf(b, "%d", s[i].person);
        else
            et_strbuf_append(b, "null", 4);
        json_span(b, s[i].first_t, s[i].last_t, s[i].on_screen, s[i].count, s[i].dominant, "emotions");
        for (int k = 0; k < ET_EMOTIONS; k++) {
            et_strbuf_printf(b, "%s\"%s\":{\"seconds\":", k ? "," : "", et_emotion_names[k]);
            et_strbuf_json_number(b, round4(s[i].seconds[k]));
            et_strbuf_printf(b, ",\"share\":");
            et_strbuf_json_number(b, round4(s[i].share[k]));
            et_strbuf_printf(b, ",\"mean\":");
            et_strbuf_json_number(b, round4(s[i].mean[k]));
            et_strbuf_printf(b, ",\"peak\":");
            et_strbuf_json_number(b, round4(s[i].peak[k].p));
            et_strbuf_printf(b, ",\"peak_t\":");
            et_strbuf_json_number(b, round4(s[i].peak[k].t));
            et_strbuf_append(b, "}", 1);
        }
        et_strbuf_append(b, "}}", 2);
    }
    et_strbuf_append(b, "],\"persons\":[", 13);
    for (int j = 0; j < np; j++) {
        et_strbuf_printf(b, "%s{\"person\":%d,\"tracks\":[", j ? "," : "", p[j].person);
        for (int i = 0, first = 1; i < n; i++)
            if (s[i].person == p[j].person) {
                et_strbuf_printf(b, "%s%d", first ? "" : ",", s[i].track);
                first = 0;
            }
        et_strbuf_append(b, "]", 1);
        json_span(b, p[j].first_t, p[j].last_t, p[j].on_screen, p[j].count, p[j].dominant, "share");
        for (int k = 0; k < ET_EMOTIONS; k++) {
            et_strbuf_printf(b, "%s\"%s\":", k ? "," : "", et_emotion_names[k]);
            et_strbuf_json_number(b, round4(p[j].share[k]));
        }
        et_strbuf_append(b, "}}", 2);
    }
    et_strbuf_append(b, "]}", 2);
}

static void print_row(FILE *out, int width, const char *label, double first_t, double last_t, double on_screen, int dominant,
                      const double *share)
{
    char a[32], z[32];
    et_format_clock(a, sizeof a, first_t, 2);
    et_format_clock(z, sizeof z, last_t, 2);
    fprintf(out, "%-*s  %-9s %-9s %8.2f s  %-9s", width, label, a, z, on_screen, et_emotion_names[dominant]);
    for (int k = 0; k < ET_EMOTIONS; k++)
        fprintf(out, " %7.1f%%", 100 * share[k]);
    fprintf(out, "\n");
}

static void print_table(FILE *out, const et_result_media *m, const et_track_stats *s, int n,
                        const et_person_stats *p, int np)
{
    char a[32], len[32];
    fprintf(out, "%s", m->path);
    if (m->duration > 0) {
        et_format_clock(len, sizeof len, m->duration, 1);
        fprintf(out, "  (%s", len);
        if (m->width > 0)
            fprintf(out, ", %dx%d", m->width, m->height);
        if (m->fps > 0)
            fprintf(out, ", %.4g fps", m->fps);
        fprintf(out, ")");
    }
    if (np > 0)
        fprintf(out, "  %d person%s, %d track%s\n", np, np == 1 ? "" : "s", n, n == 1 ? "" : "s");
    else
        fprintf(out, "  %d track%s\n", n, n == 1 ? "" : "s");
    if (n == 0) {
        fprintf(out, "  no faces\n\n");
        return;
    }
    /* Without persons the table is as before them: right-aligned numbers. */
    int width = np > 0 ? 12 : 6;
    fprintf(out, np > 0 ? "%-*s  %-9s %-9s %10s  %-9s" : "%*s  %-9s %-9s %10s  %-9s", width,
            np > 0 ? "person/track" : "track", "from", "to", "on screen", "dominant");
    for (int k = 0; k < ET_EMOTIONS; k++)
        fprintf(out, " %8s", et_emotion_names[k]);
    fprintf(out, "\n");
    /* Each person, then its tracks under it; tracks without a person
     * (persons not linked) on their own. */
    for (int j = 0; j < np; j++) {
        char label[32];
        snprintf(label, sizeof label, "person %d", p[j].person);
        print_row(out, width, label, p[j].first_t, p[j].last_t, p[j].on_screen, p[j].dominant, p[j].share);
        for (int i = 0; i < n; i++)
            if (s[i].person == p[j].person) {
                snprintf(label, sizeof label, "  track %d", s[i].track);
                print_row(out, width, label, s[i].first_t, s[i].last_t, s[i].on_screen, s[i].dominant, s[i].share);
            }
    }
    for (int i = 0; i < n; i++)
        if (s[i].person == 0) {
            char label[32];
            if (np > 0)
                snprintf(label, sizeof label, "track %d", s[i].track);
            else
                snprintf(label, sizeof label, "%6d", s[i].track);
            print_row(out, width, label, s[i].first_t, s[i].last_t, s[i].on_screen, s[i].dominant, s[i].share);
        }
    fprintf(out, "strongest moments (probability at time):\n%6s ", "track");
    for (int k = 0; k < ET_EMOTIONS; k++)
        fprintf(out, k + 1 < ET_EMOTIONS ? " %-15s" : " %s\n", et_emotion_names[k]);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%6d ", s[i].track);
        for (int k = 0; k < ET_EMOTIONS; k++) {
            char cell[48];
            et_format_clock(a, sizeof a, s[i].peak[k].t, 2);
            snprintf(cell, sizeof cell, "%.2f %s", s[i].peak[k].p, a);
            fprintf(out, k + 1 < ET_EMOTIONS ? " %-15s" : " %s\n", cell);
        }
    }
    fprintf(out, "\n");
}

/* A person linked across the files of one run (--persons-across): its
 * per-file statistics added up. */
typedef struct {
    int64_t run;
    int person, files, tracks;
    size_t frames;
    double on_screen, seconds[ET_EMOTIONS], mean_sum[ET_EMOTIONS];
} across_person;

typedef struct {
    across_person *items;
    int count, capacity;
} across_list;

static int across_add(across_list *a, int64_t run, const et_person_stats *p)
{
    across_person *q = NULL;
    for (int i = 0; i < a->count && !q; i++)
        if (a->items[i].run == run && a->items[i].person == p->person)
            q = &a->items[i];
    if (!q) {
        if (a->count == a->capacity) {
            int cap = a->capacity ? 2 * a->capacity : 16;
            across_person *grown = realloc(a->items, (size_t)cap * sizeof *grown);
            if (!grown)
                return -1;
            a->items = grown;
            a->capacity = cap;
        }
        q = &a->items[a->count++];
        memset(q, 0, sizeof *q);
        q->run = run;
        q->person = p->person;
    }
    q->files++;
    q->tracks += p->tracks;
    q->frames += p->count;
    q->on_screen += p->on_screen;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        q->seconds[k] += p->seconds[k];
        q->mean_sum[k] += p->mean[k] * (double)p->count;
    }
    return 0;
}

static int across_dominant(const across_person *q)
{
    int d = 0;
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (q->seconds[k] > q->seconds[d] || (q->seconds[k] == q->seconds[d] && q->mean_sum[k] > q->mean_sum[d]))
            d = k;
    return d;
}

static void print_across_table(FILE *out, const across_list *a)
{
    fprintf(out, "persons across files (analyze --persons-across: one number per person in the files of a run)\n");
    fprintf(out, "%4s %7s %6s %6s %10s  %-9s", "run", "person", "files", "tracks", "on screen", "dominant");
    for (int k = 0; k < ET_EMOTIONS; k++)
        fprintf(out, " %8s", et_emotion_names[k]);
    fprintf(out, "\n");
    for (int i = 0; i < a->count; i++) {
        const across_person *q = &a->items[i];
        fprintf(out, "%4lld %7d %6d %6d %8.2f s  %-9s", (long long)q->run, q->person, q->files, q->tracks,
                q->on_screen, et_emotion_names[across_dominant(q)]);
        for (int k = 0; k < ET_EMOTIONS; k++)
            fprintf(out, " %7.1f%%", q->on_screen > 0 ? 100 * q->seconds[k] / q->on_screen : 0.0);
        fprintf(out, "\n");
    }
    fprintf(out, "\n");
}

static void json_across(et_strbuf *b, const across_list *a)
{
    et_strbuf_append(b, ",\"persons_across\":[", 19);
    for (int i = 0; i < a->count; i++) {
        const across_person *q = &a->items[i];
        et_strbuf_printf(b, "%s{\"run\":%lld,\"person\":%d,\"files\":%d,\"tracks\":%d,\"frames\":%zu,\"on_screen\":",
                         i ? "," : "", (long long)q->run, q->person, q->files, q->tracks, q->frames);
        et_strbuf_json_number(b, round4(q->on_screen));
        et_strbuf_printf(b, ",\"dominant\":\"%s\",\"share\":{", et_emotion_names[across_dominant(q)]);
        for (int k = 0; k < ET_EMOTIONS; k++) {
            et_strbuf_printf(b, "%s\"%s\":", k ? "," : "", et_emotion_names[k]);
            et_strbuf_json_number(b, round4(q->on_screen > 0 ? q->seconds[k] / q->on_screen : 0));
        }
        et_strbuf_append(b, "}}", 2);
    }
    et_strbuf_append(b, "]", 1);
}

int cmd_summary(int argc, char **argv)
{
    enum { O_CSV = 256, O_JSON };
    static const struct option options[] = {{"csv", no_argument, 0, O_CSV},
                                            {"json", no_argument, 0, O_JSON},
                                            {"output", required_argument, 0, 'o'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    int csv = 0, json = 0, c;
    const char *output = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case O_CSV: csv = 1; break;
        case O_JSON: json = 1; break;
        case 'o': output = optarg; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("summary", "unknown option");
        }
    }
    if (csv && json)
        return cli_usage_error("summary", "--csv and --json exclude each other");
    if (argc - optind != 1)
        return cli_usage_error("summary", argc - optind ? "one results FILE, please" : "no results FILE given");

    et_results r = {0};
    et_strbuf json_text = {0};
    across_list across = {0};
    int status = EXIT_SOME_FAILED;
    FILE *out = stdout;
    if (et_results_load(&r, argv[optind]) != ET_OK) {
        fprintf(stderr, "emotrace: summary: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "emotrace: summary: %s: cannot create\n", output);
        out = NULL;
        goto end;
    }
    if (csv)
        fprintf(out,
                "path,track,person,first_t,last_t,on_screen,frames,dominant,emotion,seconds,share,mean,peak,peak_t\n");
    if (json) {
        et_strbuf_append(&json_text, "{\"file\":", 8);
        et_strbuf_json_string(&json_text, argv[optind]);
        et_strbuf_append(&json_text, ",\"media\":[", 10);
    }
    for (size_t i = 0; i < r.count; i++) {
        et_track_stats *stats;
        int n;
        et_person_stats *persons = NULL;
        int np = 0;
        if (et_track_stats_compute(&r.media[i], &stats, &n) != ET_OK ||
            et_person_stats_compute(stats, n, &persons, &np) != ET_OK) {
            fprintf(stderr, "emotrace: summary: %s\n", et_error_message());
            goto end;
        }
        if (csv) {
            print_csv(out, &r.media[i], stats, n);
        } else if (json) {
            if (i)
                et_strbuf_append(&json_text, ",", 1);
            json_media(&json_text, &r.media[i], stats, n, persons, np);
        } else {
            print_table(out, &r.media[i], stats, n, persons, np);
        }
        for (int j = 0; r.media[i].persons == ET_PERSONS_RUN && j < np; j++)
            if (across_add(&across, r.media[i].run, &persons[j]) != 0) {
                fprintf(stderr, "emotrace: summary: out of memory\n");
                free(stats);
                free(persons);
                goto end;
            }
        free(stats);
        free(persons);
    }
    if (!csv && !json && across.count > 0)
        print_across_table(out, &across);
    if (json) {
        et_strbuf_append(&json_text, "]", 1);
        if (across.count > 0)
            json_across(&json_text, &across);
        et_strbuf_append(&json_text, "}\n", 2);
        if (json_text.failed) {
            fprintf(stderr, "emotrace: summary: out of memory\n");
            goto end;
        }
        fputs(json_text.data, out);
    }
    if (!csv && !json && r.count == 0)
        fprintf(out, "%s: no analysed media\n", argv[optind]);
    status = EXIT_OK;
end:
    if (out && out != stdout && fclose(out) != 0 && status == EXIT_OK) {
        fprintf(stderr, "emotrace: summary: %s: write error\n", output);
        status = EXIT_SOME_FAILED;
    }
    if (out == stdout && fflush(stdout) != 0 && status == EXIT_OK)
        status = EXIT_SOME_FAILED;
    et_strbuf_free(&json_text);
    et_results_free(&r);
    free(across.items);
    return status;
}
