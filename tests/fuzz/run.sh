#!/usr/bin/env bash
# One harness of the fuzz suite, as two TAP points:
#   1. every input in tests/fuzz/regressions/TARGET and corpus/TARGET runs
#      once (-runs=0) without a finding;
#   2. MSFS_FUZZ_TIME seconds (default 20) of fuzzing, starting from them,
#      find nothing.
# A finding's input is left in $FUZZ_WORK/fuzz-TARGET/found-N/ and shown, to be
# kept as a regression input (scripts/fuzz copies them).
#
#   tests/fuzz/run.sh HARNESS TARGET     (FUZZ_SRC, FUZZ_WORK: set by meson)
set -uo pipefail

harness=$1 target=$2
src=${FUZZ_SRC:-$(cd "$(dirname "$0")" && pwd)}
work=${FUZZ_WORK:-.}/fuzz-$target
time=${MSFS_FUZZ_TIME:-20}
regressions=$src/regressions/$target
seeds=$src/corpus/$target

# UBSan findings abort (the fuzz build also compiles with
# -fno-sanitize-recover); leaks count as findings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

rm -rf "$work"
mkdir -p "$work/corpus"
dirs=()
for d in "$regressions" "$seeds"; do
	[[ -d $d ]] && dirs+=("$d")
done

# The last libFuzzer status line ("#N DONE cov: ... ft: ... corp: ...").
stats() {
	grep -E '^#[0-9]+' "$1" | tail -n 1
}

# A finding: the sanitizer's summary, and the input that caused it.
# report LOG ARTIFACT_DIR
report() {
	local log=$1 f
	grep -E 'ERROR: |SUMMARY: |property violated|runtime error' "$log" |
		head -n 10 | sed 's/^/# /'
	for f in "$2"/crash-* "$2"/leak-* "$2"/timeout-* "$2"/oom-*; do
		[[ -f $f ]] || continue
		echo "# input: $f ($(stat -c %s "$f") bytes), first bytes:"
		head -c 256 "$f" | od -An -c | head -n 8 | sed 's/^/#  /'
	done
	echo "# keep it: cp INPUT $regressions/ (scripts/fuzz does so)"
	echo "# log: $log"
}

failed=0
echo "1..2"

log=$work/regressions.log
mkdir -p "$work/found-1" "$work/found-2"
if "$harness" -runs=0 -artifact_prefix="$work/found-1/" "${dirs[@]}" \
	>"$log" 2>&1; then
	echo "ok 1 - fuzz_$target: regression and seed inputs ($(stats "$log"))"
else
	echo "not ok 1 - fuzz_$target: regression and seed inputs"
	failed=$((failed + 1))
	report "$log" "$work/found-1"
fi

log=$work/run.log
if "$harness" -max_total_time="$time" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$work/found-2/" "$work/corpus" "${dirs[@]}" >"$log" 2>&1; then
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	echo "ok 2 - fuzz_$target: ${time} s of fuzzing, ${execs:-?} executions ($(stats "$log"))"
else
	echo "not ok 2 - fuzz_$target: ${time} s of fuzzing"
	failed=$((failed + 1))
	report "$log" "$work/found-2"
fi
exit "$failed"
