#!/bin/sh
# One batch of recordings as a Slurm job array: task K of N analyses shard
# K/N into its own database; a second job, started once every task has
# succeeded, merges the shards. From the study directory:
#
#   jid=$(sbatch --parsable examples/cluster-slurm.sh)
#   sbatch --dependency=afterok:$jid --array=1 --cpus-per-task=1 \
#       --export=ALL,MERGE=1 examples/cluster-slurm.sh
#
# The tasks must see the recordings under the same relative path from the
# same working directory (the shared file system you submit from), since
# --shard picks each task's inputs by a hash of the path. A task that
# failed or was preempted can be resubmitted alone (sbatch --array=K ...):
# --resume skips what its database already holds.
#SBATCH --job-name=emotrace
#SBATCH --array=1-8
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=emotrace-%A-%a.log
set -eu
inputs=${INPUTS:-recordings}
shards=8 # the size of --array above

if [ "${MERGE:-0}" = 1 ]; then
    # Ids are renumbered, each shard's run row is kept, and a file found in
    # two shards is refused (nothing is merged then).
    emotrace merge study.sqlite $(seq -f 'shard-%g.sqlite' 1 "$shards")
    sqlite3 study.sqlite "SELECT status, count(*) FROM media GROUP BY status"
    exit 0
fi
# --threads: the task's cores, not the node's. --jobs: inputs at once, one
# per core (best for many short recordings; for a few long ones use
# --jobs 1, which gives each file all the threads).
cpus=${SLURM_CPUS_PER_TASK:-1}
exec emotrace analyze -q -r --fps 5 --threads "$cpus" --jobs "$cpus" --resume \
    --shard "$SLURM_ARRAY_TASK_ID/$shards" "$inputs" -o "shard-$SLURM_ARRAY_TASK_ID.sqlite"
