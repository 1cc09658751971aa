#!/usr/bin/env bash
# Fuzz smoke run for CI: builds the cargo-fuzz targets of `wx` and runs each for N seconds
# (default 20), one after another, each in a single process (one core). Fails if a target crashes (libFuzzer exits non-zero and leaves
# the input in fuzz/artifacts/<target>/).
#
#   crates/wx/fuzz/smoke.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`, installed here if missing) and runs
# it with RUSTC_BOOTSTRAP=1, because cargo fuzz passes nightly-only -Z flags. Corpora are
# seeded from crates/wx/tests/fixtures and kept in fuzz/corpus/ (ignored by git), so later
# runs on the same machine start where earlier ones stopped.
set -euo pipefail

secs="${1:-20}"
shift || true
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate="$(dirname "$here")"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(decrypt_and_parse xml_parse reply_roundtrip)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1

# Seeds: every XML fixture for the XML target; for decrypt_and_parse the same documents
# behind mode byte 0x01 (valid envelope around the plaintext) and 0x03 (model buffer).
seed() {
    local target="$1" dir="$here/corpus/$1"
    mkdir -p "$dir"
    [ -n "$(ls -A "$dir" 2>/dev/null)" ] && return 0
    local i=0 f
    while IFS= read -r -d '' f; do
        i=$((i + 1))
        case "$target" in
            xml_parse) cp "$f" "$dir/seed-$i" ;;
            decrypt_and_parse)
                { printf '\001'; cat "$f"; } >"$dir/seed-$i-env"
                { printf '\021'; cat "$f"; } >"$dir/seed-$i-json" ;;
            *) return 0 ;;
        esac
    done < <(find "$crate/tests/fixtures" -name '*.xml' -print0 | sort -z)
}

cd "$crate"
cargo fuzz build >/dev/null
status=0
for t in "${targets[@]}"; do
    seed "$t"
    echo "fuzz smoke: $t for ${secs}s"
    if ! cargo fuzz run "$t" "$here/corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 2>"$here/smoke-$t.log"; then
        echo "fuzz smoke: $t FAILED; last lines of its log:"
        tail -n 40 "$here/smoke-$t.log"
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+ *DONE' "$here/smoke-$t.log" | sed "s/^/  $t: /" || true
    fi
done
exit "$status"
