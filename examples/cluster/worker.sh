#!/bin/sh
# One jug-host worker, as a SLURM array task or a Kubernetes pod runs it (see the README's
# "Running on a cluster"). GRAPH and JUG_STORE come from the environment, and so may
# JUG_JOBS (default: the cores we were given), JUG_LEASE (default 60s) and JUG_HOST (the
# jug-host binary); arguments go to the graph builder.
set -eu
: "${GRAPH:?set GRAPH to the graph component, e.g. sweep.wasm}"
: "${JUG_STORE:?set JUG_STORE to the shared store, e.g. s3://bucket/prefix}"
export JUG_STORE
exec "${JUG_HOST:-jug-host}" execute "$GRAPH" -j "${JUG_JOBS:-$(nproc)}" --lease "${JUG_LEASE:-60s}" --short -- "$@"
