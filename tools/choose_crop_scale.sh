#!/usr/bin/env bash
# Measures end-to-end accuracy (detect -> align -> CNN) on the labelled
# faces-in-the-wild photos for several crop scales (the aligned crop's side
# in detection-box sides), to choose ET_FACE_ALIGN_BOX_SCALE
# (include/emotrace/face_align.h). From the repository root:
#   bash tools/choose_crop_scale.sh [../shared/data/faces-in-the-wild] [scales...]
# Prints one line per scale: scale, accuracy on photos with a face,
# accuracy counting photos without a face as wrong, macro-F1.
set -euo pipefail
data=${1:-../shared/data/faces-in-the-wild}
shift || true
scales=${*:-1.0 1.1 1.2 1.3 1.4 1.5 1.6 1.8}
echo "crop_scale accuracy accuracy_all macro_f1"
for s in $scales; do
    ./emotrace eval --data "$data" --detect --crop-scale "$s" --json |
        python3 -c 'import json,sys; r=json.load(sys.stdin); print(sys.argv[1], "%.4f %.4f %.4f" % (r["accuracy"], r["accuracy_all"], r["macro_f1"]))' "$s"
done
