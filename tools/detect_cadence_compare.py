#!/usr/bin/env python3
"""Detection cadence against detection on every frame, over a set of clips.

    python3 tools/detect_cadence_compare.py [--every N] [--keep DIR] CLIP_OR_DIR... [-- ANALYZE_OPTIONS...]

Runs `emotrace analyze` twice on the same clips (EMOTRACE names the binary,
default ./emotrace): once with --detect-every 1 (the detector on every
frame, the reference) and once with --detect-every N (default: the
binary's default), both to CSV, and compares them per clip and overall:

  frames        frames analysed (must be equal)
  face_frames   frames whose number of faces differs between the runs
  tracks        tracks in each run
  mad           mean absolute difference of the 7 reported probabilities,
                over the faces found in both (matched per frame by box
                overlap), as analyze reports them (CNN+LSTM unless
                --no-temporal is passed after --)
  max_abs       the largest single probability difference
  label_agree   share of those faces with the same reported emotion

A directory stands for the .mp4/.mkv/.avi/.mov/.webm files directly in it.
Exit status 0 when every clip has the same frames, faces per frame and
track count and the overall mad is at most 0.02; 1 otherwise.
"""
import csv
import os
import subprocess
import sys
import tempfile

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
VIDEO_EXT = (".mp4", ".mkv", ".avi", ".mov", ".webm")
MAD_LIMIT = 0.02


def clips_of(args):
    clips = []
    for a in args:
        if os.path.isdir(a):
            clips += sorted(os.path.join(a, f) for f in os.listdir(a) if f.lower().endswith(VIDEO_EXT))
        else:
            clips.append(a)
    return clips


def analyze(binary, clips, every, extra, out):
    cmd = [binary, "analyze", "-q", "--format", "csv", "-o", out, "--detect-every", str(every)] + extra + clips
    if every == 0:
        cmd = [binary, "analyze", "-q", "--format", "csv", "-o", out] + extra + clips
    subprocess.run(cmd, check=True)


def read_rows(path):
    """{clip: {frame: [row, ...]}}"""
    result = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            result.setdefault(row["path"], {}).setdefault(int(row["frame"]), []).append(row)
    return result


def box(row):
    x, y, w, h = (float(row[k]) for k in ("x", "y", "w", "h"))
    return x, y, x + w, y + h


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(ref, new):
    """Pairs of rows of the same frame, best box overlap first (IoU > 0.3)."""
    pairs = sorted(((iou(box(r), box(n)), i, j) for i, r in enumerate(ref) for j, n in enumerate(new)), reverse=True)
    used_r, used_n, out = set(), set(), []
    for overlap, i, j in pairs:
        if overlap <= 0.3 or i in used_r or j in used_n:
            continue
        used_r.add(i)
        used_n.add(j)
        out.append((ref[i], new[j]))
    return out


def compare(ref, new):
    frames = sorted(set(ref) | set(new))
    stats = {"frames_ref": len(ref), "frames_new": len(new), "face_frames": 0, "sum": 0.0, "values": 0,
             "max_abs": 0.0, "agree": 0, "faces": 0,
             "tracks_ref": len({r["track"] for rows in ref.values() for r in rows}),
             "tracks_new": len({r["track"] for rows in new.values() for r in rows})}
    for fr in frames:
        a, b = ref.get(fr, []), new.get(fr, [])
        if len(a) != len(b):
            stats["face_frames"] += 1
        for r, n in match(a, b):
            for e in EMOTIONS:
                d = abs(float(r[e]) - float(n[e]))
                stats["sum"] += d
                stats["values"] += 1
                stats["max_abs"] = max(stats["max_abs"], d)
            stats["faces"] += 1
            stats["agree"] += r["emotion"] == n["emotion"]
    return stats


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    every, keep, args = 0, None, []
    i = 0
    while i < len(argv):
        if argv[i] == "--every":
            every = int(argv[i + 1])
            i += 2
        elif argv[i] == "--keep":
            keep = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    clips = clips_of(args)
    if not clips:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.environ.get("EMOTRACE", "./emotrace")
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or tmp
        os.makedirs(folder, exist_ok=True)
        ref_csv, new_csv = os.path.join(folder, "every1.csv"), os.path.join(folder, "cadence.csv")
        analyze(binary, clips, 1, extra, ref_csv)
        analyze(binary, clips, every, extra, new_csv)
        ref, new = read_rows(ref_csv), read_rows(new_csv)
    total = {"sum": 0.0, "values": 0, "max_abs": 0.0, "agree": 0, "faces": 0, "face_frames": 0, "frames": 0}
    ok = True
    print("clip\tframes\tface_frames_differing\ttracks_every1\ttracks_cadence\tmad\tmax_abs\tlabel_agree")
    for clip in clips:
        s = compare(ref.get(clip, {}), new.get(clip, {}))
        mad = s["sum"] / s["values"] if s["values"] else 0.0
        agree = s["agree"] / s["faces"] if s["faces"] else 1.0
        same = s["frames_ref"] == s["frames_new"] and s["face_frames"] == 0 and s["tracks_ref"] == s["tracks_new"]
        ok &= same
        print(f"{os.path.basename(clip)}\t{s['frames_ref']}\t{s['face_frames']}\t{s['tracks_ref']}\t{s['tracks_new']}"
              f"\t{mad:.4f}\t{s['max_abs']:.4f}\t{agree:.3f}")
        for k in ("sum", "values", "agree", "faces", "face_frames"):
            total[k] += s[k]
        total["frames"] += s["frames_ref"]
        total["max_abs"] = max(total["max_abs"], s["max_abs"])
    mad = total["sum"] / total["values"] if total["values"] else 0.0
    agree = total["agree"] / total["faces"] if total["faces"] else 1.0
    print(f"all: {len(clips)} clips, {total['frames']} frames (with faces in the reference), "
          f"{total['face_frames']} frames with a different face count, mad {mad:.4f}, max_abs {total['max_abs']:.4f}, "
          f"label_agree {agree:.4f}")
    ok &= mad <= MAD_LIMIT
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
