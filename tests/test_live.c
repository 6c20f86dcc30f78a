/* Live sources without hardware: the example video streamed in real time
 * over UDP on loopback by ffmpeg, and piped on standard input. Results
 * must be readable while the stream runs, and SIGINT must end the run with
 * everything stored. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "emotrace/clock.h"
#include "emotrace/emotion.h"
#include "emotrace/json.h"
#include "test.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts "sh -c 'exec COMMAND'", so that the pid is the program's own. */
static pid_t spawn(const char *command)
{
    char line[4096];
    snprintf(line, sizeof line, "exec %s", command);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", line, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits up to seconds for pid to exit; returns its exit status, -2 for a
 * timeout (then kills it) or -1 if it died from a signal. */
static int wait_exit(pid_t pid, double seconds)
{
    double until = et_now_seconds() + seconds;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? child_status_checked(WEXITSTATUS(status), "a spawned command") : -1;
        if (r < 0)
            return -1;
        if (et_now_seconds() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        sleep_ms(50);
    }
}

/* Whether pid has not exited yet (without reaping it). */
static int still_running(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
}

/* A UDP port nobody uses now (the kernel picks it). */
static int free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Whether some process has a UDP socket bound to port (/proc/net/udp). */
static int udp_port_bound(int port)
{
    char *table = file_read_text("/proc/net/udp");
    char needle[16];
    snprintf(needle, sizeof needle, ":%04X ", port);
    int found = table && strstr(table, needle) != NULL;
    free(table);
    return found;
}

static double query(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double v = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* N in the summary line's "..., N frames dropped"; -1 if missing. */
static long dropped_in(const char *err)
{
    const char *p = err ? strstr(err, " frames dropped") : NULL;
    if (!p)
        return -1;
    while (p > err && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return atol(p);
}

TEST(live_udp_results_while_streaming_and_clean_sigint)
{
    int port = free_udp_port();
    REQUIRE(port > 0);
    char db[600], events[600], err_path[600], cmd[4096];
    snprintf(db, sizeof db, "%s", test_path("live.sqlite"));
    snprintf(events, sizeof events, "%s", test_path("events.jsonl"));
    snprintf(err_path, sizeof err_path, "%s", test_path("stderr.txt"));
    snprintf(cmd, sizeof cmd, "%s analyze udp://127.0.0.1:%d -o %s --events %s 2>%s", cli_binary(), port, db, events,
             err_path);
    pid_t analyze = spawn(cmd);
    REQUIRE(analyze > 0);
    /* The models load first; then the UDP socket is bound and waits. */
    double until = et_now_seconds() + (cli_sanitized() ? 60 : 20);
    while (!udp_port_bound(port) && et_now_seconds() < until && still_running(analyze))
        sleep_ms(50);
    if (!udp_port_bound(port)) {
        kill(analyze, SIGKILL);
        wait_exit(analyze, 5);
        REQUIRE(!"analyze never listened on the UDP port");
    }
    /* 4 s of the example in real time (-re), MPEG-1 with a key frame every
     * 10 frames so that decoding starts at once. */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -hide_banner -loglevel error -re -i examples/expressions.mp4 -t 4 -an "
             "-c:v mpeg1video -q:v 4 -g 10 -f mpegts udp://127.0.0.1:%d?pkt_size=1316",
             port);
    pid_t sender = spawn(cmd);
    REQUIRE(sender > 0);
    int db_rows_while_streaming = 0, events_while_streaming = 0, status;
    while (waitpid(sender, &status, WNOHANG) == 0) {
        if (query(db, "SELECT COUNT(*) FROM observations") > 0)
            db_rows_while_streaming = 1;
        char *text = file_read_text(events);
        if (text && *text)
            events_while_streaming = 1;
        free(text);
        sleep_ms(100);
    }
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ffmpeg sender failed");
    CHECK_MSG(db_rows_while_streaming, "no observation committed to SQLite while the stream ran");
    CHECK_MSG(events_while_streaming, "no event line written while the stream ran");
    /* While streaming, the media row says the analysis is still going on. */
    CHECK_EQ_INT(query(db, "SELECT COUNT(*) FROM media WHERE status = 'failed' AND error LIKE '%still being%'"), 1);

    /* The source went quiet but a UDP stream has no end: SIGINT ends it. */
    sleep_ms(cli_sanitized() ? 3000 : 1000);
    kill(analyze, SIGINT);
    CHECK_EQ_INT(wait_exit(analyze, 30), 0);
    CHECK_EQ_INT(query(db, "SELECT COUNT(*) FROM media WHERE status = 'done' AND error IS NULL"), 1);
    double frames = query(db, "SELECT frames_analyzed FROM media");
    double observations = query(db, "SELECT COUNT(*) FROM observations");
    double dropped_db = query(db, "SELECT frames_dropped FROM media");
    /* How many are analysed depends on the machine's speed; none is lost. */
    CHECK_MSG(frames >= 3 && frames + dropped_db >= 85 && frames + dropped_db <= 100,
              "%g frames analysed and %g dropped of 100 sent", frames, dropped_db);
    CHECK_MSG(observations >= frames * 0.9 && observations <= frames, "%g faces in %g frames of one face",
              observations, frames);
    CHECK_EQ_INT(query(db, "SELECT SUM(frames) FROM tracks"), observations);
    /* The last frames sent (t near 4 s) were analysed before the end. */
    double last_t = query(db, "SELECT MAX(t) FROM observations");
    CHECK_MSG(last_t > 3.2 && last_t < 4.1, "last observation at %g s of a 4 s stream", last_t);

    /* Events: exactly the appearances and label changes of the stored
     * observations, in order, with the new label's probability. */
    char expected[4096] = "";
    sqlite3 *conn = NULL;
    sqlite3_stmt *st = NULL;
    REQUIRE(sqlite3_open_v2(db, &conn, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    if (sqlite3_prepare_v2(conn,
                           "SELECT t, track_id, emotion, CASE emotion WHEN 'angry' THEN angry WHEN 'disgust' "
                           "THEN disgust WHEN 'fear' THEN fear WHEN 'happy' THEN happy WHEN 'sad' THEN sad WHEN "
                           "'surprise' THEN surprise ELSE neutral END FROM observations ORDER BY frame, track_id",
                           -1, &st, NULL) == SQLITE_OK) {
        char last[8][16] = {""};
        while (sqlite3_step(st) == SQLITE_ROW) {
            int track = sqlite3_column_int(st, 1);
            const char *emotion = (const char *)sqlite3_column_text(st, 2);
            if (track < 0 || track >= 8 || !emotion || !strcmp(last[track], emotion))
                continue;
            size_t used = strlen(expected);
            snprintf(expected + used, sizeof expected - used, "%.3f %d %s %s %.4f\n", sqlite3_column_double(st, 0),
                     track, *last[track] ? last[track] : "null", emotion, sqlite3_column_double(st, 3));
            snprintf(last[track], sizeof last[track], "%s", emotion);
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(conn);
    char got[4096] = "";
    char *text = file_read_text(events);
    REQUIRE(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        et_json *o = NULL;
        CHECK(et_json_parse(line, strlen(line), &o) == 0);
        if (!o)
            continue;
        const et_json *from = et_json_get(o, "from");
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%.3f %d %s %s %.4f\n", et_json_get_number(o, "t", -1),
                 (int)et_json_get_number(o, "track", -1),
                 from && from->type == ET_JSON_STRING ? from->string : "null", et_json_get_string(o, "to", "?"),
                 et_json_get_number(o, "confidence", -1));
        et_json_free(o);
    }
    free(text);
    CHECK(strncmp(expected, "0.000 1 null ", 13) == 0); /* the face is there from the first frame */
    CHECK_MSG(!strcmp(expected, got), "events:\n%s\nexpected from the observations:\n%s", got, expected);
    char *err = file_read_text(err_path);
    long dropped = dropped_in(err);
    CHECK_MSG(dropped >= 0, "no dropped-frames summary in: %s", err ? err : "");
    CHECK_EQ_INT(query(db, "SELECT frames_dropped FROM media"), dropped);
    free(err);
}

/* Raw frames on standard input, described by input options; with policy
 * all every frame is analysed, none dropped. */
TEST(live_stdin_raw_video_input_options_policy_all)
{
    char cmd[4096];
    const char *db = test_path("stdin.sqlite");
    char *err = NULL;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -loglevel error -i examples/expressions.mp4 -t 1 -vf scale=320:180 -f rawvideo "
             "-pix_fmt rgb24 - | %s analyze --stdin-media --input-format rawvideo --input-option video_size=320x180 "
             "--input-option pixel_format=rgb24 --input-option framerate=25 --live-policy all --no-temporal "
             "-o %s - 2>%s",
             cli_binary(), db, test_path("err.txt"));
    int status = shell_run(cmd);
    err = file_read_text(test_path("err.txt"));
    CHECK_MSG(status == 0, "exit %d: %s", status, err ? err : "");
    CHECK_EQ_INT(query(db, "SELECT COUNT(*) FROM media WHERE path = '-' AND status = 'done'"), 1);
    CHECK_EQ_INT(query(db, "SELECT width * 10000 + height FROM media"), 320 * 10000 + 180);
    CHECK_EQ_INT(query(db, "SELECT frames_analyzed FROM media"), 25);
    CHECK_EQ_INT(query(db, "SELECT COUNT(DISTINCT frame) FROM observations"), 25);
    CHECK_NEAR(query(db, "SELECT MAX(t) FROM observations"), 24 / 25.0, 1e-6);
    CHECK_EQ_INT(dropped_in(err), 0);
    free(err);

    /* An option no demuxer knows is an error naming it. */
    snprintf(cmd, sizeof cmd,
             "analyze --stdin-media --input-format rawvideo --input-option video_size=32x32 "
             "--input-option no_such_option=1 -o %s - </dev/null",
             test_path("x.csv"));
    err = NULL;
    CHECK_EQ_INT(cli_run(cmd, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "unknown input option 'no_such_option'"), "stderr: %s", err ? err : "");
    free(err);
}

/* A file piped faster than it can be analysed: the latest policy analyses
 * the newest frames and reports the others as dropped. */
TEST(live_stdin_policy_latest_drops_and_reports)
{
    char cmd[4096];
    const char *ts = test_path("clip.ts");
    REQUIRE(shell_runf("ffmpeg -nostdin -loglevel error -i examples/expressions.mp4 -t 6 -c copy -f mpegts %s", ts) == 0);
    int status;
    snprintf(cmd, sizeof cmd, "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames "
             "-of csv=p=0 %s", ts);
    char *count = shell_capture(cmd, &status);
    long total = count ? atol(count) : 0;
    free(count);
    REQUIRE(total >= 140);
    snprintf(cmd, sizeof cmd, "cat %s | %s analyze --stdin-media --no-temporal -o %s - 2>%s", ts, cli_binary(),
             test_path("out.csv"), test_path("err.txt"));
    status = shell_run(cmd);
    char *err = file_read_text(test_path("err.txt"));
    CHECK_MSG(status == 0, "exit %d: %s", status, err ? err : "");
    long frames = -1, dropped = dropped_in(err);
    const char *p = err ? strstr(err, "-: ") : NULL;
    if (p)
        frames = atol(p + 3);
    CHECK_MSG(dropped > 0 && frames > 0 && frames + dropped == total, "%ld analysed + %ld dropped of %ld frames: %s",
              frames, dropped, total, err ? err : "");
    free(err);
    /* The frames it did analyse are in the output: the example's one face
     * in (nearly) each of them, after the header. */
    char *csv = file_read_text(test_path("out.csv"));
    long rows = -1;
    for (const char *c = csv; c && *c; c++)
        rows += *c == '\n';
    CHECK_MSG(rows <= frames && rows * 10 >= frames * 9, "%ld rows for %ld analysed frames", rows, frames);
    free(csv);
}

/* A source that breaks off mid-stream. Network protocols read through an
 * AVIOContext report a timeout or reset as the end of the input, so the
 * stream ends as done; a source without one (a camera: v4l2; here FFmpeg's
 * image2 demuxer) reports its failing reads as errors. Its frames vanish
 * (the directory is renamed) once results were committed: the run fails
 * naming the source, and SQLite keeps what it analysed, with tracks. */
TEST(live_source_failing_mid_stream_keeps_its_rows)
{
    char dir[600], gone[600], pattern[700], db[600], err_path[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s", test_path("frames"));
    snprintf(gone, sizeof gone, "%s.gone", dir);
    snprintf(pattern, sizeof pattern, "%s/f%%04d.jpg", dir);
    snprintf(db, sizeof db, "%s", test_path("fail.sqlite"));
    snprintf(err_path, sizeof err_path, "%s", test_path("stderr.txt"));
    /* 1000 frames: far more than are analysed before the first commit. */
    REQUIRE(shell_runf("mkdir -p %s && ffmpeg -nostdin -loglevel error -stream_loop 3 -i examples/expressions.mp4 -an "
                       "-vf scale=160:-2 -frames:v 1000 -q:v 5 %s",
                       dir, pattern) == 0);
    snprintf(cmd, sizeof cmd,
             "%s analyze --input-format image2 --input-option framerate=25 --live-policy all -o %s %s 2>%s",
             cli_binary(), db, pattern, err_path);
    double started = et_now_seconds();
    pid_t analyze = spawn(cmd);
    REQUIRE(analyze > 0);
    double until = et_now_seconds() + (cli_sanitized() ? 90 : 30);
    double committed = 0;
    while (et_now_seconds() < until && still_running(analyze) &&
           (committed = query(db, "SELECT COUNT(*) FROM observations")) <= 0)
        sleep_ms(20);
    int renamed = committed > 0 && rename(dir, gone) == 0;
    int status = wait_exit(analyze, cli_sanitized() ? 90 : 30);
    char *err = file_read_text(err_path);
    CHECK_MSG(renamed, "no committed observation before the run ended: %s", err ? err : "");
    if (!renamed) {
        free(err);
        return;
    }
    CHECK_MSG(status == 1, "exit %d: %s", status, err ? err : "");
    char expected[900];
    snprintf(expected, sizeof expected, "%s: cannot read: Input/output error", pattern);
    CHECK_MSG(err && strstr(err, expected), "stderr: %s", err ? err : "");
    free(err);

    /* The failed row, with the error and the counts of what was analysed. */
    char sql[1200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM media WHERE status = 'failed' AND error = '%s'", expected);
    CHECK_EQ_INT(query(db, sql), 1);
    double frames = query(db, "SELECT frames_analyzed FROM media");
    double observations = query(db, "SELECT COUNT(*) FROM observations");
    CHECK_MSG(frames >= 1 && frames < 1000, "%g frames analysed of 1000 before the failure", frames);
    /* Nothing committed is lost, and every analysed frame's face is there. */
    CHECK_MSG(observations >= committed && observations >= frames * 0.9 && observations <= frames,
              "%g observations (%g committed before) in %g frames of one face", observations, committed, frames);
    CHECK_EQ_INT(query(db, "SELECT MAX(frame) + 1 FROM observations"), frames);
    CHECK(query(db, "SELECT COUNT(*) FROM tracks") >= 1);
    CHECK_EQ_INT(query(db, "SELECT SUM(frames) FROM tracks"), observations);
    fprintf(stderr, "  [%.1f s, %g frames analysed, %g committed when the source vanished]\n",
            et_now_seconds() - started, frames, committed);
}

/* A network stream whose connection is reset mid-way (a sender that
 * crashes): reported as a read error, not taken for the end of the stream,
 * and what was analysed before it stays. The server is a child process on
 * loopback that sends the first part of an MPEG-TS clip, pauses, and
 * closes with SO_LINGER 0, which sends a TCP reset. */
TEST(live_tcp_connection_reset_is_a_failure)
{
    char ts[600], db[600], err_path[600], cmd[2048];
    snprintf(ts, sizeof ts, "%s", test_path("clip.ts"));
    snprintf(db, sizeof db, "%s", test_path("reset.sqlite"));
    snprintf(err_path, sizeof err_path, "%s", test_path("stderr.txt"));
    REQUIRE(shell_runf("ffmpeg -nostdin -loglevel error -t 8 -i examples/expressions.mp4 -an -vf scale=320:-2 "
                       "-c:v libx264 -preset ultrafast -g 25 -f mpegts %s",
                       ts) == 0);
    FILE *f = fopen(ts, "rb");
    REQUIRE(f);
    static char clip[4 << 20];
    size_t size = fread(clip, 1, sizeof clip, f);
    fclose(f);
    REQUIRE(size > 1000 && size < sizeof clip);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    REQUIRE(listener >= 0 && bind(listener, (struct sockaddr *)&a, sizeof a) == 0 && listen(listener, 1) == 0 &&
            getsockname(listener, (struct sockaddr *)&a, &n) == 0);
    pid_t server = fork();
    if (server == 0) {
        alarm(120); /* never outlives a broken test */
        int c = accept(listener, NULL, NULL);
        size_t part = size * 3 / 4, sent = 0;
        while (c >= 0 && sent < part) {
            ssize_t w = send(c, clip + sent, part - sent, MSG_NOSIGNAL);
            if (w <= 0)
                _exit(1);
            sent += (size_t)w;
        }
        sleep(cli_sanitized() ? 6 : 2); /* the receiver analyses what it got */
        struct linger reset = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        close(c);
        _exit(0);
    }
    close(listener);
    REQUIRE(server > 0);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    snprintf(cmd, sizeof cmd, "%s analyze --live-policy all -o %s %s 2>%s", cli_binary(), db, url, err_path);
    pid_t analyze = spawn(cmd);
    REQUIRE(analyze > 0);
    int status = wait_exit(analyze, cli_sanitized() ? 90 : 30);
    int server_status = wait_exit(server, 10);
    char *err = file_read_text(err_path);
    CHECK_MSG(status == 1, "exit %d: %s", status, err ? err : "");
    CHECK_EQ_INT(server_status, 0);
    char expected[200];
    snprintf(expected, sizeof expected, "%s: cannot read: Connection reset by peer", url);
    CHECK_MSG(err && strstr(err, expected), "stderr: %s", err ? err : "");
    free(err);
    char sql[400];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM media WHERE status = 'failed' AND error = '%s'", expected);
    CHECK_EQ_INT(query(db, sql), 1);
    /* Three quarters of 8 s at 25 frames/s were sent; the frames decoded
     * before the reset are stored with their track. */
    double frames = query(db, "SELECT frames_analyzed FROM media");
    CHECK_MSG(frames >= 25 && frames < 200, "%g frames analysed of the 150 sent (200 in the clip)", frames);
    CHECK_EQ_INT(query(db, "SELECT SUM(frames) FROM tracks"), query(db, "SELECT COUNT(*) FROM observations"));
    fprintf(stderr, "  [%g frames analysed before the reset]\n", frames);
}

TEST(live_usage_errors)
{
    CHECK_EQ_INT(cli_run("analyze --live-policy newest udp://127.0.0.1:9", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --input-option video_size udp://127.0.0.1:9", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --events - -o - udp://127.0.0.1:9", NULL, NULL), 2);
    char *err = NULL;
    CHECK_EQ_INT(cli_run("analyze --input-format no_such_demuxer -o /dev/null --format csv cam0", NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "cam0: unknown input format 'no_such_demuxer'"), "stderr: %s", err ? err : "");
    free(err);
}
