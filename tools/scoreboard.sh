#!/usr/bin/env bash
# The development scoreboard of one set of weights (issue 18): every number
# the weights are selected on, from `emotrace eval`, in one report.
#
#   bash tools/scoreboard.sh [--cnn FILE] [--lstm FILE] [--data-root DIR] [--keep DIR]
#
# Runs from any directory. The data is ../shared/data beside the repository
# (as CI lays it) unless --data-root names it; a missing folder stops the
# run. EMOTRACE names the binary (default: the repository's ./emotrace,
# built by make). --keep DIR keeps every eval's full text report there.
# Defaults are the shipped weights, and every eval runs with default options.
#
#   FER2013 PublicTest      eval --data fer2013.csv.gz --ferplus fer2013new.csv
#   faces-in-the-wild       eval --data faces-in-the-wild --detect
#   posed-dev               eval --data posed-dev --detect
#   videos-labelled-dev     eval --clips videos-labelled-dev   (CNN alone, and as analyze
#                           reports files: the look-ahead; --lookahead 0: the LSTM)
#   videos                  eval --clips videos
#   synthetic tracks        eval --temporal --data fer2013.csv.gz (200 tracks, 400 onsets;
#                           CNN alone, CNN+LSTM and the look-ahead)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data_root="$repo/../shared/data"
cnn="" lstm="" keep=""
usage() {
    echo "usage: bash tools/scoreboard.sh [--cnn FILE] [--lstm FILE] [--data-root DIR] [--keep DIR]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --cnn) [ $# -ge 2 ] || usage; cnn=$(realpath "$2"); shift 2 ;;
    --lstm) [ $# -ge 2 ] || usage; lstm=$(realpath "$2"); shift 2 ;;
    --data-root) [ $# -ge 2 ] || usage; data_root=$2; shift 2 ;;
    --keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
done
bin=${EMOTRACE:-$repo/emotrace}
fail() {
    echo "scoreboard: $*" >&2
    exit 1
}
[ -x "$bin" ] || fail "$bin: no emotrace binary (run make in $repo, or set EMOTRACE)"
for path in fer2013/fer2013.csv.gz fer2013/fer2013new.csv faces-in-the-wild/labels.csv posed-dev/labels.csv \
    videos-labelled-dev videos; do
    [ -e "$data_root/$path" ] || fail "$data_root/$path is missing (give the data folder with --data-root)"
done
# The shipped weights are found as emotrace finds them, and named explicitly.
weights_dir=${EMOTRACE_WEIGHTS:-$(dirname "$bin")/weights}
cnn=${cnn:-$weights_dir/emotion-cnn.safetensors}
lstm=${lstm:-$weights_dir/emotion-lstm.safetensors}
for file in "$cnn" "$lstm"; do
    [ -f "$file" ] || fail "$file: no such weights file"
done
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    out=$keep
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi
cnn_opt=(--cnn "$cnn") lstm_opt=(--lstm "$lstm")

# Runs one eval into $out/NAME.txt; stops the scoreboard if it fails.
run() {
    local name=$1 started=$SECONDS
    shift
    if ! "$bin" eval "$@" >"$out/$name.txt" 2>"$out/$name.err"; then
        cat "$out/$name.txt" "$out/$name.err" >&2
        fail "emotrace eval $* failed"
    fi
    echo "$((SECONDS - started))" >"$out/$name.seconds"
}
# The value of "key: value" in a report.
field() { awk -v k="$2:" '$1 == k { print $2; exit }' "$out/$1.txt"; }
# One line of per-class recall from a photo report's class table.
recalls() {
    awk '/^class/ { on = 1; next } on && NF >= 5 && $1 != "confusion" { printf "%s %.1f%%  ", $1, 100 * $3 }
         /^$/ && on { exit }' "$out/$1.txt"
    echo
}
# A clip report's summary table (up to its per-clip part).
clip_table() { awk '/^per clip/ { exit } NR > 2 && NF' "$out/$1.txt"; }

total_started=$SECONDS
d=$data_root
run fer2013 --data "$d/fer2013/fer2013.csv.gz" --ferplus "$d/fer2013/fer2013new.csv" "${cnn_opt[@]}"
run wild --data "$d/faces-in-the-wild" --detect "${cnn_opt[@]}"
run posed --data "$d/posed-dev" --detect "${cnn_opt[@]}"
run labelled --clips "$d/videos-labelled-dev" "${cnn_opt[@]}" "${lstm_opt[@]}"
run videos --clips "$d/videos" "${cnn_opt[@]}" "${lstm_opt[@]}"
run temporal --temporal --data "$d/fer2013/fer2013.csv.gz" "${cnn_opt[@]}" "${lstm_opt[@]}"

pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", 100 * x }'; }
echo "emotrace scoreboard ($(date -u +%Y-%m-%d), $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "  cnn:  $cnn (sha256 $(sha256sum "$cnn" | cut -c1-12))"
echo "  lstm: $lstm (sha256 $(sha256sum "$lstm" | cut -c1-12))"
echo "  data: $d"
echo
echo "FER2013 PublicTest ($(field fer2013 samples) crops)   [$(cat "$out/fer2013.seconds") s]"
echo "  FER2013 labels:      accuracy $(pct "$(field fer2013 accuracy)")  macro-F1 $(pct "$(field fer2013 macro_f1)")"
echo "  FER+ majority:       accuracy $(pct "$(field fer2013 ferplus_accuracy)")  macro-F1 $(pct "$(field fer2013 ferplus_macro_f1)")  ($(field fer2013 ferplus_samples) rows, $(awk '$1 == "ferplus_samples:" { gsub(/[()]/, ""); print $3; exit }' "$out/fer2013.txt") left out)"
for set in wild posed; do
    name=$([ $set = wild ] && echo faces-in-the-wild || echo posed-dev)
    echo
    echo "$name (eval --detect, $(field $set samples) faces, $(field $set no_face) photos without one)   [$(cat "$out/$set.seconds") s]"
    echo "  accuracy $(pct "$(field $set accuracy)")  (all photos $(pct "$(field $set accuracy_all)"))  macro-F1 $(pct "$(field $set macro_f1)")"
    echo "  recall: $(recalls $set)"
done
echo
echo "videos-labelled-dev (eval --clips: main track of each clip)   [$(cat "$out/labelled.seconds") s]"
clip_table labelled | sed 's/^/  /'
echo
echo "videos (eval --clips, unlabelled)   [$(cat "$out/videos.seconds") s]"
head -1 "$out/videos.txt" | sed 's/^/  /'
clip_table videos | sed 's/^/  /'
echo
echo "synthetic tracks from PublicTest (eval --temporal)   [$(cat "$out/temporal.seconds") s]"
sed -n '/^ *accuracy/,$p' "$out/temporal.txt" | grep -v '^$' | sed 's/^/  /'
echo
echo "total run time: $((SECONDS - total_started)) s"
