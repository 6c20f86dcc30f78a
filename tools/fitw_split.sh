#!/usr/bin/env bash
# Splits faces-in-the-wild by person into a training part and a held-out
# part that the scoreboard measures (weights/README.md, "faces-in-the-wild
# split"). A photo's person is its file name without the trailing _<number>
# (Maria_Shriver_0007.jpg -> Maria_Shriver); a person is held out when the
# CRC (cksum) of the name is 0 mod 5, so every photo of one person lands on
# the same side and the split never changes.
#
#   tools/fitw_split.sh [DATA_DIR] OUT_DIR
#
# writes OUT_DIR/train/labels.csv and OUT_DIR/heldout/labels.csv, each
# beside an `images` link to DATA_DIR/images (DATA_DIR defaults to
# ../shared/data/faces-in-the-wild from the repository root).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -eq 2 ]; then data="$1"; out="$2"
elif [ $# -eq 1 ]; then data="$root/../shared/data/faces-in-the-wild"; out="$1"
else echo "usage: tools/fitw_split.sh [DATA_DIR] OUT_DIR" >&2; exit 2; fi
[ -f "$data/labels.csv" ] || { echo "fitw_split: $data/labels.csv: not found" >&2; exit 1; }
data="$(cd "$data" && pwd)"
mkdir -p "$out/train" "$out/heldout"
for part in train heldout; do
    ln -sfn "$data/images" "$out/$part/images"
    echo "image,emotion" > "$out/$part/labels.csv"
done
tail -n +2 "$data/labels.csv" | tr -d '\r' | while IFS=, read -r image emotion _; do
    person="${image%.*}"
    person="${person%_*}"
    crc=$(printf '%s' "$person" | cksum | cut -d' ' -f1)
    if [ $((crc % 5)) -eq 0 ]; then part=heldout; else part=train; fi
    echo "$image,$emotion" >> "$out/$part/labels.csv"
done
for part in train heldout; do
    echo "$part: $(($(wc -l < "$out/$part/labels.csv") - 1)) photos" >&2
done
