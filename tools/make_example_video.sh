#!/usr/bin/env bash
# Builds examples/expressions.mp4: 18 s, 640x360, 25 fps H.264, one person
# (George W. Bush photos from faces-in-the-wild, Apache-2.0) showing six
# labelled expressions for 3 s each, the photo drifting slowly like a
# talking head. Also writes examples/expressions.segments.csv with the
# known segments. Needs ffmpeg; run from the repository root:
#   bash tools/make_example_video.sh [../shared/data/faces-in-the-wild]
set -euo pipefail
data=${1:-../shared/data/faces-in-the-wild}
out=examples/expressions.mp4
segments=examples/expressions.segments.csv
# start,end,emotion,source image: chosen by eye as clear examples of each
# label (labels from the dataset's labels.csv). The first neutral and the
# surprise photo were replaced by clearer ones (also by eye, before the
# model saw them): 0001 smiles a little, 0003 frowns while shouting.
cat > "$segments" <<'CSV'
start,end,emotion,image
0,3,neutral,George_W_Bush_0032.jpg
3,6,happy,George_W_Bush_0206.jpg
6,9,surprise,George_W_Bush_0062.jpg
9,12,sad,George_W_Bush_0163.jpg
12,15,angry,George_W_Bush_0266.jpg
15,18,neutral,George_W_Bush_0282.jpg
CSV
inputs=() filters="" n=0
while IFS=, read -r start end emotion image; do
    [ "$start" = start ] && continue
    grep -q "^$image,$emotion\$" "$data/labels.csv" || { echo "label of $image is not $emotion" >&2; exit 1; }
    inputs+=(-loop 1 -framerate 25 -t 3 -i "$data/images/$image")
    # Each photo at 300x300 over a gray background, drifting a few pixels.
    filters+="color=c=0x303030:s=640x360:r=25:d=3[bg$n];"
    filters+="[$n:v]scale=300:300,format=gray,format=yuv420p[f$n];"
    filters+="[bg$n][f$n]overlay=x='170+12*sin(2*PI*t/3)':y='30+6*cos(2*PI*t/3)':shortest=1[s$n];"
    n=$((n + 1))
done < "$segments"
concat=""
for ((i = 0; i < n; i++)); do concat+="[s$i]"; done
filters+="${concat}concat=n=$n:v=1:a=0,format=yuv420p[v]"
ffmpeg -v error -y "${inputs[@]}" -filter_complex "$filters" -map "[v]" -c:v libx264 -preset slow -crf 23 \
    -g 50 -movflags +faststart -metadata comment="emotrace example: six labelled expressions, see expressions.segments.csv" \
    "$out"
echo "wrote $out and $segments"
