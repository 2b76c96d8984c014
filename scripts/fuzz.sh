#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang into build-fuzz/, runs
# every input in tests/fuzz/regressions/<target>/ through its target, then
# fuzzes each target for FUZZ_SECONDS and prints a table: executions, exec/s,
# coverage (libFuzzer's cov and ft), corpus size and the result.
#   scripts/fuzz.sh                      what CI runs: 15 s per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh     the long run
#   scripts/fuzz.sh ledger stun          only these targets
# Exits non-zero when a target crashes, leaks, runs out of time or memory
# (a regression input included), naming the reproducer.
#
# FUZZ_SECONDS (15) per target; FUZZ_JOBS (2) targets at once; FUZZ_TIMEOUT
# (10) seconds for one input; FUZZ_RSS_MB (2048); FUZZ_WORK (build-fuzz/work)
# for the corpora libFuzzer grows, the logs and the reproducers, emptied at
# each run (tests/fuzz/corpus/ is only read); FUZZ_KEEP=1 keeps the grown
# corpora between runs; FUZZ_BUILD_DIR (build-fuzz); FUZZ_CXX (clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache: no CCACHE_BASEDIR (scripts/build.sh says why).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-15}
jobs=${FUZZ_JOBS:-2}
input_timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
work=${FUZZ_WORK:-$build_dir/work}
cxx=${FUZZ_CXX:-clang++-14}

started=$SECONDS
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  CXX=$cxx cmake -S tests/fuzz -B "$build_dir" "${generator[@]}" >/dev/null
fi
cmake --build "$build_dir" -j2
built=$((SECONDS - started))

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/*_fuzz.cpp; do
    t=${f##*/}
    targets+=("${t%_fuzz.cpp}")
  done
fi

# Inputs longer than libFuzzer's default (4096) where the limits that matter
# lie beyond: a 32 KiB request header, 8 + 16 KiB of dashboard request, a
# 16 KiB ClientHello, config files of a few KiB.
max_len() {
  case $1 in
    http_request) echo 40000 ;;
    dashboard) echo 26000 ;;
    sni) echo 20000 ;;
    config) echo 12000 ;;
    *) echo 4096 ;;
  esac
}

failed=()   # targets that failed
pending=()  # their failures, reported after the table
report_failure() {  # target, what, reproducer
  failed+=("$1")
  echo "FAIL $1: $2"
  echo "  reproduce: $build_dir/bin/$1_fuzz $3"
  echo "  minimise:  $build_dir/bin/$1_fuzz -minimize_crash=1 -runs=100000 $3"
}

# ---- regressions: every input that once failed must pass now ----
for t in "${targets[@]}"; do
  dir=tests/fuzz/regressions/$t
  [ -d "$dir" ] || continue
  mapfile -t inputs < <(find "$dir" -type f ! -name '*.md' | sort)
  [ "${#inputs[@]}" -gt 0 ] || continue
  log=$(mktemp)
  for input in "${inputs[@]}"; do
    if ! "$build_dir/bin/${t}_fuzz" -timeout="$input_timeout" -rss_limit_mb="$rss_mb" \
         "$input" >"$log" 2>&1; then
      grep -E "FUZZ_CHECK|ERROR: |runtime error" "$log" | head -3 || true
      report_failure "$t" "regression input fails" "$input"
    fi
  done
  rm -f "$log"
  echo "regressions: $t: ${#inputs[@]} input(s) replayed"
done

# ---- fuzzing ----
run_one() {  # target
  local t=$1 dir=$work/$1
  [ "${FUZZ_KEEP:-0}" = 1 ] || rm -rf "$dir"
  mkdir -p "$dir/corpus"
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  # The first corpus directory is the one libFuzzer writes to.
  "$build_dir/bin/${t}_fuzz" -max_total_time="$seconds" -timeout="$input_timeout" \
    -rss_limit_mb="$rss_mb" -max_len="$(max_len "$t")" "${dict[@]}" \
    -artifact_prefix="$dir/" -print_final_stats=1 \
    "$dir/corpus" "tests/fuzz/corpus/$t" >"$dir/log" 2>&1
}

echo "== fuzzing ${#targets[@]} target(s), ${seconds} s each, $jobs at a time (logs: $work/<target>/log)"
fuzz_started=$SECONDS
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true
fuzzed=$((SECONDS - fuzz_started))

printf '\n%-13s %12s %9s %7s %8s %8s  %s\n' target executions exec/s cov ft corpus result
for t in "${targets[@]}"; do
  log=$work/$t/log
  # The last status line: "#N  DONE|pulse|NEW  cov: C ft: F corp: U/S ... exec/s: E ..."
  status=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1 || true)
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -nE 's/^#([0-9]+)[[:space:]].*/\1/p' <<<"$status")
  [ -n "$rate" ] || rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$status")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$status")
  artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
  result=ok
  if [ -n "$artifact" ]; then
    case ${artifact##*/} in
      leak-*) result=LEAK ;;
      timeout-*) result=TIMEOUT ;;
      oom-*) result=OUT-OF-MEMORY ;;
      *) result=CRASH ;;
    esac
  elif ! grep -qE '^Done [0-9]+ runs' "$log"; then
    result=FAILED
  fi
  printf '%-13s %12s %9s %7s %8s %8s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$result"
  if [ "$result" != ok ]; then
    detail=$(grep -m1 -E 'FUZZ_CHECK failed|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" || true)
    pending+=("$t|$result${detail:+ ($detail)}|${artifact:-$log}")
  fi
done
echo
for p in "${pending[@]+"${pending[@]}"}"; do
  IFS='|' read -r t what where <<<"$p"
  report_failure "$t" "$what" "$where"
done
echo "fuzz: build ${built} s, fuzzing ${fuzzed} s, total $((SECONDS - started)) s"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: failed: $(printf '%s\n' "${failed[@]}" | sort -u | xargs) (logs and reproducers in $work/)"
  exit 1
fi
