#!/bin/sh
# One batch of recordings over several machines with GNU parallel, then one
# database. Every machine needs emotrace and its weights, and must see the
# recordings and the output directory under the same path (a shared file
# system such as NFS); run this from any of them.
#
#   sh examples/cluster-parallel.sh /data/study recordings node1,node2,node3
#
# Each machine analyses its own share of the inputs (--shard K/N picks them
# by a hash of each path, so every machine must name the inputs the same
# way: the same relative path from the same --workdir) into its own
# database; --resume makes a rerun after a crash or a lost machine redo only
# what is missing. Then merge: ids are renumbered, each shard's run row is
# kept, and a file found in two shards is refused.
set -eu
workdir=${1:?usage: $0 WORKDIR INPUTS HOST,HOST,...}
inputs=${2:?usage: $0 WORKDIR INPUTS HOST,HOST,...}
hosts=${3:?usage: $0 WORKDIR INPUTS HOST,HOST,...}
shards=$(printf '%s\n' "$hosts" | tr ',' '\n' | grep -c .)

# One shard per machine (-j1: one job per host at a time); each uses all of
# its machine's cores (--jobs: inputs at once; set it to the core count for
# many short recordings).
seq 1 "$shards" | parallel -j1 --sshlogin "$hosts" --workdir "$workdir" \
    "emotrace analyze -q -r --fps 5 --jobs \$(nproc) --resume --shard {}/$shards $inputs -o shard-{}.sqlite"

cd "$workdir"
emotrace merge study.sqlite $(seq -f 'shard-%g.sqlite' 1 "$shards")
sqlite3 study.sqlite "SELECT status, count(*) FROM media GROUP BY status"
