#!/usr/bin/env python3
"""Builds a self-training set for `emotrace train` from unlabelled videos.

Each face crop that `emotrace extract` wrote gets, as its soft target, the
probabilities `emotrace analyze --lookahead S` reported for the same face
(same video, frame and track): the CNN's own outputs averaged along the
track over about a second each side. Trained on, the CNN learns to give one
answer for a face whose expression holds while the mouth moves in speech,
with no labels needed.

The result is in the formats `train` reads: a FER2013-style CSV (the
FER2013 rows first, unchanged, then the crops as Training rows with the
argmax as their label) and a FER+-style vote file aligned by row (FER2013
rows: their own label, so the target stays one-hot; crops: the smoothed
probabilities as votes out of 1000), for `train --data OUT.csv.gz --ferplus
OUT.votes.csv --ferplus-weight 1`.

  tools/self_training_set.py FER2013.csv.gz CROPS_DIR ANALYZE.csv OUT [--repeat K]

CROPS_DIR is extract's output directory (CROPS_DIR/unlabelled/index.csv);
ANALYZE.csv analyze's CSV over the same inputs with the same --fps, so that
frames and tracks match. Crops without a matching row are an error.
"""
import argparse
import csv
import gzip
import os
import struct
import sys
import zlib

EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
# FER+ columns: neutral, happiness, surprise, sadness, anger, disgust, fear,
# contempt, unknown, NF; the FER2013 class of each of the first seven.
FERPLUS_OF_CLASS = [4, 5, 6, 1, 3, 2, 0]
VOTE_TOTAL = 1000


def png_gray(path):
    """Pixels of an 8-bit gray, non-interlaced PNG (what extract writes)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color != 0 or interlace:
                raise ValueError(f"{path}: not 8-bit gray")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(width)
    for y in range(height):
        kind, line = raw[y * (width + 1)], bytearray(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a = line[x - 1] if x else 0
            b, c = prev[x], prev[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return bytes(b"".join(rows)), width, height


def smoothed_rows(path):
    table = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            table[(r["path"], r["frame"], r["track"])] = [float(r[e]) for e in EMOTIONS]
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fer2013")
    ap.add_argument("crops")
    ap.add_argument("analyze_csv")
    ap.add_argument("out")
    ap.add_argument("--repeat", type=int, default=1, help="each crop K times")
    a = ap.parse_args()
    smooth = smoothed_rows(a.analyze_csv)
    crops = []
    with open(os.path.join(a.crops, "unlabelled", "index.csv"), newline="") as f:
        for r in csv.DictReader(f):
            probs = smooth.get((r["source"], r["frame"], r["track"]))
            if probs is None:
                sys.exit(f"self_training_set: {r['file']}: no row in {a.analyze_csv} for its frame and track")
            pixels, w, h = png_gray(os.path.join(a.crops, r["file"]))
            if (w, h) != (48, 48):
                sys.exit(f"self_training_set: {r['file']}: {w}x{h}, not 48x48")
            crops.append((pixels, probs))
    with gzip.open(a.fer2013, "rt") as fin, gzip.open(a.out + ".csv.gz", "wt", compresslevel=3) as fout, \
            open(a.out + ".votes.csv", "w") as votes:
        votes.write("Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n")
        fout.write(next(fin))
        for line in fin:
            fout.write(line)
            cols = [0] * 10
            cols[FERPLUS_OF_CLASS[int(line.split(",", 1)[0])]] = 10
            votes.write("Training,," + ",".join(map(str, cols)) + "\n")
        for _ in range(a.repeat):
            for pixels, probs in crops:
                label = max(range(7), key=lambda k: probs[k])
                fout.write(f"{label},{' '.join(map(str, pixels))},Training\n")
                cols = [0] * 10
                for k in range(7):
                    cols[FERPLUS_OF_CLASS[k]] = round(probs[k] * VOTE_TOTAL)
                votes.write("Training,," + ",".join(map(str, cols)) + "\n")
    print(f"{len(crops)} crops x{a.repeat} after the FER2013 rows: {a.out}.csv.gz, {a.out}.votes.csv")


if __name__ == "__main__":
    main()
