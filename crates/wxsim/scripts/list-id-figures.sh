#!/usr/bin/env bash
# Figures of issue 12 for user/list_id: seed time, walk time, pages, and per-page time early
# vs late in the walk, on a release build (100 000 members in 5 000 departments by default).
#   crates/wxsim/scripts/list-id-figures.sh            # MEMBERS=… DEPARTMENTS=… ROUNDS=… to vary
set -euo pipefail
cd "$(dirname "$0")/../../.."
export WXSIM_FIGURES_MEMBERS="${MEMBERS:-100000}"
export WXSIM_FIGURES_DEPARTMENTS="${DEPARTMENTS:-5000}"
export WXSIM_FIGURES_ROUNDS="${ROUNDS:-5}"
# --test-threads=1: nothing else in the process competes with the walk.
exec cargo test --release -p wxsim --test it -- list_id::list_id_figures \
    --exact --ignored --nocapture --test-threads=1
