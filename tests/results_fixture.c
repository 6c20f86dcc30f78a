#include "results_fixture.h"

#include <string.h>

#include "emotrace/store.h"

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL };

static int put(et_sink *sink, int64_t frame, double t, int track, int emotion, double main)
{
    et_observation o;
    memset(&o, 0, sizeof o);
    o.frame = frame;
    o.t = t;
    o.track = track;
    o.x = 10 + track;
    o.y = 20;
    o.w = o.h = 50;
    o.score = 0.9;
    for (int k = 0; k < ET_EMOTIONS; k++)
        o.prob[k] = k == emotion ? main : (1 - main) / 6;
    o.emotion = emotion;
    return et_sink_write_observation(sink, &o);
}

static et_media_info media(const char *path)
{
    et_media_info m;
    memset(&m, 0, sizeof m);
    m.path = path;
    m.size = 1000;
    m.mtime = 1700000000;
    m.duration = 3;
    m.fps = 10;
    m.width = 640;
    m.height = 360;
    m.frames_analyzed = 30;
    return m;
}

int results_fixture_write(const char *path)
{
    et_sink *sink;
    int rc = 0;
    if (et_sink_open(&sink, path, NULL, NULL) != 0)
        return -1;
    et_media_info a = media(FIXTURE_A), b = media(FIXTURE_B), empty = media(FIXTURE_EMPTY);
    rc |= et_sink_begin_media(sink, &a);
    for (int i = 0; i < 10; i++) {
        int happy = i < 4;
        double main = i == 2 ? 0.9 : i == 7 ? 0.75 : 0.6;
        rc |= put(sink, i, i / 10.0, 1, happy ? HAPPY : SAD, main);
        if (i == 5)
            rc |= put(sink, i, 0.5, 2, NEUTRAL, 0.6);
    }
    rc |= put(sink, 20, 2.0, 1, SURPRISE, 0.6);
    rc |= put(sink, 21, 2.1, 1, SURPRISE, 0.8);
    rc |= et_sink_end_media(sink, &a, NULL, 0);
    rc |= et_sink_begin_media(sink, &b);
    rc |= put(sink, 0, 0.0, 1, ANGRY, 0.6);
    rc |= put(sink, 1, 0.1, 1, FEAR, 0.6);
    rc |= put(sink, 2, 0.2, 1, FEAR, 0.7);
    rc |= et_sink_end_media(sink, &b, NULL, 0);
    if (et_sink_format_of(sink) == ET_SINK_SQLITE) {
        rc |= et_sink_begin_media(sink, &empty);
        rc |= et_sink_end_media(sink, &empty, NULL, 0);
    }
    rc |= et_sink_close(sink);
    return rc ? -1 : 0;
}
