#!/usr/bin/env bash
# Times `report` on the typical fixture, and `check` on a scaled copy of it (the typical cases
# copied COPIES times with fresh ids), with wall time and peak memory.
#   scripts/bench.sh [COPIES]     (default 400: about 9,600 cases)
set -euo pipefail
cd "$(dirname "$0")/.."
copies=${1:-400}
cargo build --release --quiet
bin=target/release/yardstick
runs=20

start=$(date +%s%N)
for _ in $(seq "$runs"); do "$bin" report fixtures/elderly-care/typical --profile fixtures/elderly-care/typical-contract.yaml >/dev/null; done
end=$(date +%s%N)
echo "report fixtures/elderly-care/typical: $(( (end - start) / runs / 1000 )) µs a run (mean of $runs)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r fixtures/elderly-care/typical "$work/sub"
for k in $(seq "$copies"); do
  for f in fixtures/elderly-care/typical/cases/*.yaml; do
    sed -E "s/^(- )?id: (t-[0-9]+)$/\1id: \2-$k/" "$f" > "$work/sub/cases/$(basename "$f" .yaml)-$k.yaml"
  done
done
records=$(grep -c "^\(- \)\?id: t-" "$work"/sub/cases/*.yaml | awk -F: '{ s += $2 } END { print s }')
if command -v /usr/bin/time >/dev/null 2>&1; then
  /usr/bin/time -f "check on $records cases: %e s wall, %M KB peak" "$bin" check "$work/sub" --profile fixtures/elderly-care/typical-contract.yaml --format json >/dev/null || true
else
  start=$(date +%s%N)
  "$bin" check "$work/sub" --profile fixtures/elderly-care/typical-contract.yaml --format json >/dev/null || true
  end=$(date +%s%N)
  echo "check on $records cases: $(( (end - start) / 1000000 )) ms wall"
fi
