#!/usr/bin/env bash
# The benchmark: yardstick against a parse-only floor and two third-party JSON Schema validators,
# on the same synthetic elderly-care case records. See docs/performance.md.
#
#   bench/run.sh [--sizes "100000 1000000"] [--quick] [--forms "jsonl yaml json"]
#                [--repeat N] [--timeout SECONDS] [--max-rss-mb MB]
#
#   --sizes       record counts to run (default "100000 1000000"); each dataset is generated once
#                 into bench/data/N/ and reused
#   --forms       which inputs to run (default all three): jsonl (the floor and yardstick on
#                 cases.jsonl), yaml (the same on one file a record), json (the floor, ajv-cli
#                 and check-jsonschema on the JSON array)
#   --quick       10,000 records only, to check that the script works (results-quick.md)
#   --repeat      run each measurement N times and keep the fastest (default 1): on a busy
#                 machine the best of a few runs is the steadier figure for the ratios
#   --timeout     seconds a single run may take before it is stopped (default 600)
#   --max-rss-mb  a run whose memory (the process tree's resident set) passes this is stopped
#                 (default 12000)
#
# It builds yardstick and the floor (examples/parse_floor.rs), installs ajv-cli (npm, into
# bench/.tools/node) and check-jsonschema (pip, into the venv bench/.tools/venv) when they are
# missing, times every run with /usr/bin/time (wall seconds, peak resident set), prints a
# Markdown table with the targets and writes it to bench/data/results.md.
set -euo pipefail

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; }

sizes="100000 1000000"
quick=0
forms="jsonl yaml json"
timeout_s=600
max_rss_mb=12000
repeat=1
while (($#)); do
  case $1 in
    --sizes) sizes=${2:?--sizes needs a list}; shift 2 ;;
    --sizes=*) sizes=${1#*=}; shift ;;
    --quick) quick=1; shift ;;
    --forms) forms=${2:?--forms needs a list}; shift 2 ;;
    --forms=*) forms=${1#*=}; shift ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift 2 ;;
    --repeat=*) repeat=${1#*=}; shift ;;
    --timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --max-rss-mb) max_rss_mb=${2:?--max-rss-mb needs a number}; shift 2 ;;
    --max-rss-mb=*) max_rss_mb=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ((quick)); then sizes=10000; fi
for n in $sizes; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: not a record count: $n" >&2; exit 2; }
done
for form in $forms; do
  [[ $form == jsonl || $form == yaml || $form == json ]] || { echo "run.sh: --forms takes jsonl, yaml and json, not $form" >&2; exit 2; }
done
runs() { [[ " $forms " == *" $1 "* ]]; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --repeat takes a whole number of runs" >&2; exit 2; }
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --timeout takes whole seconds" >&2; exit 2; }
[[ $max_rss_mb =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --max-rss-mb takes whole megabytes" >&2; exit 2; }

cd "$(dirname "$0")/.."
root=$PWD
data=$root/bench/data
tools=$root/bench/.tools
yardstick=$root/target/release/yardstick
floor=$root/target/release/examples/parse_floor
ajv=$tools/node/node_modules/.bin/ajv
cjs=$tools/venv/bin/check-jsonschema
schema_only=$root/bench/schema-only.yaml

log() { printf '%s\n' "$*" >&2; }

for tool in cargo python3 timeout ps; do
  command -v "$tool" >/dev/null || { log "run.sh: needs $tool"; exit 2; }
done
[[ -x /usr/bin/time ]] || { log "run.sh: needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time)"; exit 2; }

# --- Build.
log "== building yardstick and the floor (cargo build --release)"
cargo build --release --quiet --bin yardstick --example parse_floor
# Every run uses copies, so that a rebuild while the benchmark runs cannot change the binary under it.
mkdir -p "$data"
bin=$(mktemp -d "$data/.bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
cp "$yardstick" "$floor" "$bin/"
yardstick=$bin/yardstick
floor=$bin/parse_floor
version=$("$yardstick" --version 2>/dev/null || echo "yardstick ?")

# --- Third-party validators, installed under bench/.tools when missing (pinned versions).
mkdir -p "$tools"
if runs json && [[ ! -x $ajv ]]; then
  if command -v npm >/dev/null; then
    log "== installing ajv-cli and ajv-formats into bench/.tools/node"
    npm install --prefix "$tools/node" --no-audit --no-fund --silent ajv-cli@5.0.0 ajv-formats@3.0.1 >&2 ||
      log "run.sh: could not install ajv-cli; its runs are skipped"
  else
    log "run.sh: npm not found; the ajv-cli runs are skipped"
  fi
fi
if runs json && [[ ! -x $cjs ]]; then
  log "== installing check-jsonschema into bench/.tools/venv"
  { python3 -m venv "$tools/venv" && "$tools/venv/bin/pip" install --quiet check-jsonschema==0.39.0 >&2; } ||
    log "run.sh: could not install check-jsonschema; its runs are skipped"
fi

# --- Datasets, generated once per size.
dataset() {
  local n=$1 dir=$data/$1
  if [[ -f $dir/expected.json && -f $dir/jsonl/cases.jsonl && -f $dir/json/cases.json && -d $dir/yaml/cases ]] &&
    grep -q "\"records\": $n," "$dir/expected.json"; then
    return 0
  fi
  # About 12 KB of disk a record for the three forms (JSONL, the JSON array and its parts, one
  # YAML file a record in 4 KB blocks).
  local need_kb=$((n * 13)) avail_kb
  mkdir -p "$data"
  avail_kb=$(df -Pk "$data" | awk 'NR == 2 { print $4 }')
  if ((avail_kb < need_kb)); then
    log "run.sh: $n records need about $((need_kb / 1024 / 1024)) GB of disk and $((avail_kb / 1024 / 1024)) GB are free; size $n skipped"
    return 1
  fi
  log "== generating $n records into bench/data/$n"
  rm -rf "$dir"
  python3 bench/gen_cases.py "$n" "$dir" --format both
}

# --- One measured run: /usr/bin/time around timeout around the command, with a watchdog on the
# memory of the process tree. Appends a line to $results:
#   tool, input, records, wall s, peak KB, exit code, state (ok|timeout|memory), output file stem
results=""
tree_rss_kb() { # resident set of a process and all its descendants, in KB
  ps -e -o pid= -o ppid= -o rss= | awk -v root="$1" '
    { parent[$1] = $2; rss[$1] = $3 }
    END {
      for (p in parent) {
        q = p
        while (q != "" && q != 0 && q != 1) { if (q == root) { sum += rss[p]; break } q = parent[q] }
      }
      print sum + 0
    }'
}
tree_pids() { # the descendants of a process
  ps -e -o pid= -o ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = parent[p]; while (q != "" && q != 0 && q != 1) { if (q == root) { print p; break } q = parent[q] } } }'
}
measure() { # measure TOOL INPUT RECORDS STEM [VAR=VALUE...] COMMAND...: the fastest of --repeat runs
  local tool=$1 input=$2 n=$3 stem=$4 best="" best_wall="" r
  log "-- $tool, $input, $n records"
  for ((r = 1; r <= repeat; r++)); do
    measure_once "$@"
    # A run that did not finish ends the repeats; of finished runs the fastest is kept.
    if [[ $once_state != ok ]]; then best=$once_line; break; fi
    if [[ -z $best ]] || awk -v a="$once_wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
      best=$once_line best_wall=$once_wall
    fi
  done
  results+="$best"$'\n'
}
measure_once() {
  local tool=$1 input=$2 n=$3 stem=$4
  shift 4
  local tf=$stem.time state=ok pid rss peak_seen=0 code wall peak
  /usr/bin/time -f "%e %M %x" -o "$tf" timeout --kill-after=10 "$timeout_s" env "$@" >"$stem.out" 2>"$stem.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(tree_rss_kb "$pid")
    ((rss > peak_seen)) && peak_seen=$rss
    if ((rss > max_rss_mb * 1024)); then
      state=memory
      # shellcheck disable=SC2046 # one pid a word
      kill -KILL $(tree_pids "$pid") 2>/dev/null || true
      break
    fi
    sleep 1
  done
  wait "$pid" 2>/dev/null || true
  # GNU time's line is the last one ("Command exited with non-zero status N" may come before).
  read -r wall peak code < <(tail -n 1 "$tf" 2>/dev/null) || true
  if ! [[ ${code:-} =~ ^[0-9]+$ ]]; then wall=0 peak=$peak_seen code=255; fi
  if [[ $state == ok ]] && ((code == 124 || code == 137)); then state=timeout; fi
  once_line="$tool	$input	$n	$wall	$peak	$code	$state	$stem" once_wall=$wall once_state=$state
  log "   $wall s, $((peak / 1024)) MB, exit $code ($state)"
}

load_before=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
for n in $sizes; do
  dataset "$n" || continue
  d=$data/$n
  out=$d/out
  mkdir -p "$out"
  log "== $n records"
  for form in jsonl yaml; do
    runs "$form" || continue
    if [[ $form == jsonl ]]; then floor_in=$d/jsonl/cases.jsonl; else floor_in=$d/yaml; fi
    measure "parse_floor (1 thread)" "$form" "$n" "$out/floor-$form" "$floor" "$floor_in"
    measure "yardstick check, full guide, 2 threads" "$form" "$n" "$out/full2-$form" \
      RAYON_NUM_THREADS=2 "$yardstick" check "$d/$form" --format json
    measure "yardstick check, full guide, 1 thread" "$form" "$n" "$out/full1-$form" \
      RAYON_NUM_THREADS=1 "$yardstick" check "$d/$form" --format json
    measure "yardstick check, schema only, 2 threads" "$form" "$n" "$out/schema2-$form" \
      RAYON_NUM_THREADS=2 "$yardstick" check "$d/$form" --standard "$schema_only" --format json
  done
  runs json || continue
  # The JSON array: one file, or parts of 100,000 records when the set is larger (a JavaScript
  # string cannot hold the whole array of a million records).
  if [[ -d $d/json/parts ]]; then
    json_in=("$d"/json/parts/*.json)
    json_label="json (array, ${#json_in[@]} parts)"
  else
    json_in=("$d/json/cases.json")
    json_label="json (array)"
  fi
  measure "parse_floor (1 thread)" "$json_label" "$n" "$out/floor-json" "$floor" "${json_in[@]}"
  if [[ -x $ajv ]]; then
    ajv_data=()
    for f in "${json_in[@]}"; do ajv_data+=(-d "$f"); done
    measure "ajv-cli 5.0.0 (ajv 8, --all-errors)" "$json_label" "$n" "$out/ajv-json" \
      NODE_OPTIONS=--max-old-space-size=8192 "$ajv" validate --spec=draft2020 --strict=false -c ajv-formats \
      --all-errors --errors=line -s "$d/cases-array.schema.json" "${ajv_data[@]}"
  fi
  if [[ -x $cjs ]]; then
    measure "check-jsonschema 0.39.0" "$json_label" "$n" "$out/cjs-json" \
      "$cjs" --schemafile "$d/cases-array.schema.json" -o json "${json_in[@]}"
  fi
done
load_after=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

if [[ -z $results ]]; then
  log "run.sh: nothing was measured"
  exit 1
fi

# --- The table and the targets.
if ((quick)); then report=$data/results-quick.md; else report=$data/results.md; fi
mkdir -p "$data"
commit="$version, commit $(git rev-parse --short HEAD 2>/dev/null || echo "?")"
if [[ -n $(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null) ]]; then commit="$commit + uncommitted changes under src/"; fi
BENCH_RESULTS=$results BENCH_REPEAT=$repeat python3 - "$report" "$timeout_s" "$max_rss_mb" "$commit" "$load_before" "$load_after" "$quick" <<'PY'
import collections, datetime, json, os, platform, re, sys

report, timeout_s, max_rss_mb, commit, load_before, load_after, quick = sys.argv[1:]
timeout_s, max_rss_mb = int(timeout_s), int(max_rss_mb)
rows = []
for line in os.environ["BENCH_RESULTS"].splitlines():
    tool, inp, n, wall, peak, code, state, stem = line.split("\t")
    rows.append(dict(tool=tool, input=inp, n=int(n), wall=float(wall), peak_kb=int(peak),
                     code=int(code), state=state, stem=stem))


def read(path, limit=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit) if limit else f.read()
    except OSError:
        return ""


def expected(stem):
    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(stem)), "expected.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


def judge(r):
    """ok, and a note: what the tool found, checked against what the generator put in."""
    exp = expected(r["stem"])
    want = exp.get("schema_invalid")
    out, err = r["stem"] + ".out", r["stem"] + ".err"
    if r["state"] == "timeout":
        return False, "timed out (> %d s)" % timeout_s
    if r["state"] == "memory":
        return False, "stopped: memory over %d MB" % max_rss_mb
    tool = r["tool"]
    if tool.startswith("parse_floor"):
        got = read(out).strip()
        if r["code"] != 0 or got != str(r["n"]):
            return False, "failed (exit %d): %s" % (r["code"], first_line(read(err)) or "counted " + got)
        return True, "%s records parsed" % got
    if tool.startswith("yardstick"):
        if r["code"] not in (0, 1):
            return False, "failed (exit %d): %s" % (r["code"], first_line(read(err)))
        try:
            rep = json.loads(read(out))
        except ValueError:
            return False, "failed: the JSON report could not be read"
        s = rep.get("summary", {})
        findings = rep.get("findings", [])
        bad = {f.get("record", {}).get("id") for f in findings if f.get("rule") == "YS-SCHEMA"}
        note = "exit %d; %s records, %d findings" % (r["code"], s.get("records"), len(findings))
        if "schema only" in tool:
            note += "; %d schema-invalid records (expected %s)" % (len(bad), want)
            ok = len(bad) == want and s.get("records") == r["n"]
        else:
            with_rule = {f.get("record", {}).get("id") for f in findings if f.get("record") and not f["rule"].startswith("YS-")}
            note += "; %d records break a rule; score %s" % (len(with_rule), s.get("score"))
            ok = s.get("records") == r["n"]
        return ok, note
    if tool.startswith("ajv"):
        text = read(err) + "\n" + read(out)
        files = re.findall(r"^(\S.*) (valid|invalid)$", text, re.M)
        if r["code"] not in (0, 1) or not files:
            return False, "failed (exit %d): %s" % (r["code"], first_line(read(err)))
        bad = 0
        for block in re.split(r"^\S.* invalid$", text, flags=re.M)[1:]:
            bad += len(set(re.findall(r'"instancePath":"/(\d+)', block)))
        return bad == want, "exit %d; %d files; %d invalid records (expected %s)" % (r["code"], len(files), bad, want)
    if tool.startswith("check-jsonschema"):
        try:
            rep = json.loads(read(out))
        except ValueError:
            return False, "failed (exit %d): %s" % (r["code"], first_line(read(err)))
        bad = set()
        for e in rep.get("errors", []):
            m = re.match(r"\$\[(\d+)\]", e.get("path", ""))
            if m:
                bad.add((e.get("filename"), m.group(1)))
        if rep.get("parse_errors"):
            return False, "failed: %d files could not be parsed" % len(rep["parse_errors"])
        return len(bad) == want, "exit %d; %d invalid records (expected %s)" % (r["code"], len(bad), want)
    return r["code"] == 0, "exit %d" % r["code"]


for r in rows:
    r["ok"], r["note"] = judge(r)


def fmt_wall(r):
    if r["state"] == "timeout":
        return "timed out"
    if not r["ok"] and r["state"] == "memory":
        return "stopped"
    return "%.2f" % r["wall"] if r["ok"] else "failed"


lines = ["| tool | input | records | wall s | records/s | peak MB | notes |", "|---|---|---:|---:|---:|---:|---|"]
for r in rows:
    rate = "%s" % format(round(r["n"] / r["wall"]), ",") if r["ok"] and r["wall"] > 0 else "—"
    peak = "%.0f" % (r["peak_kb"] / 1024) if r["ok"] else "—"
    lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (r["tool"], r["input"], format(r["n"], ","), fmt_wall(r), rate, peak, r["note"]))

# Targets.
by = {(r["tool"], r["input"].split(" ")[0], r["n"]): r for r in rows}
sizes = sorted({r["n"] for r in rows})
big = sizes[-1]


def get(tool_prefix, form, n):
    for (t, f, m), r in by.items():
        if t.startswith(tool_prefix) and f == form and m == n:
            return r
    return None


def held(flag):
    return "held" if flag else "**not held**"


targets = []
# 1. A million records through the full guide in 10 s or less.
r = get("yardstick check, full guide, 2 threads", "jsonl", 1_000_000)
if r is None:
    targets.append("| 1,000,000 records, full guide (JSONL, 2 threads) in ≤ 10 s | not measured (no 1,000,000-record run) | — |")
elif not r["ok"]:
    targets.append("| 1,000,000 records, full guide (JSONL, 2 threads) in ≤ 10 s | %s | **not held** |" % r["note"])
else:
    targets.append("| 1,000,000 records, full guide (JSONL, 2 threads) in ≤ 10 s | %.2f s | %s |" % (r["wall"], held(r["wall"] <= 10)))
# 2. Peak memory under 200 MB, and flat from 100k to 1M.
ys = [r for r in rows if r["tool"].startswith("yardstick")]
done = [r for r in ys if r["ok"]]
if done:
    worst = max(done, key=lambda r: r["peak_kb"])
    stopped = [r for r in ys if r["state"] == "memory"]
    ok = worst["peak_kb"] < 200 * 1024 and not stopped
    targets.append("| yardstick's peak memory < 200 MB (every yardstick run) | largest %.0f MB (%s, %s, %s records)%s | %s |" % (
        worst["peak_kb"] / 1024, worst["tool"], worst["input"], format(worst["n"], ","),
        "; %d runs stopped over %d MB" % (len(stopped), max_rss_mb) if stopped else "", held(ok)))
a = {(r["tool"], r["input"]): r for r in done if r["n"] == 100_000}
b = {(r["tool"], r["input"]): r for r in done if r["n"] == 1_000_000}
pairs = [(a[k], b[k]) for k in a if k in b]
if pairs:
    growth = max(y["peak_kb"] / x["peak_kb"] for x, y in pairs)
    targets.append("| peak memory flat from 100,000 to 1,000,000 records (1M peak ≤ 1.25 × the 100k peak, same run) | largest growth × %.2f | %s |" % (growth, held(growth <= 1.25)))
else:
    targets.append("| peak memory flat from 100,000 to 1,000,000 records | not measured (needs both sizes) | — |")
# 3. Schema-only at least 2 × ajv-cli and 40 × check-jsonschema, on the largest size.
so = get("yardstick check, schema only", "jsonl", big)
for prefix, factor, name in (("ajv-cli", 2, "ajv-cli"), ("check-jsonschema", 40, "check-jsonschema")):
    other = get(prefix, "json", big)
    label = "| schema only (JSONL) ≥ %d × faster than %s (JSON array), %s records |" % (factor, name, format(big, ","))
    if so is None or not so["ok"] or other is None:
        targets.append(label + " not measured | — |")
    elif other["state"] == "timeout":
        ratio = timeout_s / so["wall"]
        targets.append(label + " ≥ × %.1f (%s timed out at %d s) | %s |" % (ratio, name, timeout_s, held(ratio >= factor) if ratio >= factor else "not known"))
    elif not other["ok"]:
        targets.append(label + " %s failed | — |" % name)
    else:
        ratio = other["wall"] / so["wall"]
        targets.append(label + " × %.2f (%.2f s against %.2f s) | %s |" % (ratio, so["wall"], other["wall"], held(ratio >= factor)))
# 4. Two threads at least 1.7 × one.
for form in ("jsonl", "yaml"):
    one, two = get("yardstick check, full guide, 1 thread", form, big), get("yardstick check, full guide, 2 threads", form, big)
    label = "| 2 threads ≥ 1.7 × one thread (full guide, %s, %s records) |" % (form.upper() if form == "jsonl" else "YAML", format(big, ","))
    if one and two and one["ok"] and two["ok"]:
        ratio = one["wall"] / two["wall"]
        targets.append(label + " × %.2f (%.2f s against %.2f s) | %s |" % (ratio, one["wall"], two["wall"], held(ratio >= 1.7)))
    else:
        targets.append(label + " not measured | — |")

cpu = "?"
try:
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
except OSError:
    pass
try:
    with open("/proc/meminfo") as f:
        mem = "%.0f GB" % (int(f.readline().split()[1]) / 1024 / 1024)
except OSError:
    mem = "?"
head = [
    "# yardstick benchmark%s" % (" (quick: 10,000 records, to check the script)" if quick == "1" else ""),
    "",
    "%s; %d cores (%s), %s of memory, %s; %s; load average %s before, %s after." % (
        datetime.date.today().isoformat(), os.cpu_count() or 0, cpu, mem, platform.platform(terse=True), commit, load_before, load_after),
    "%s, warm page cache, a timeout of %d s and a memory limit of %d MB a run; exit 1 from yardstick means it found what the generator put in, as it should." % (
        "Each run once" if os.environ.get("BENCH_REPEAT", "1") == "1" else "Each measurement the fastest of %s runs (its time and its peak memory)" % os.environ["BENCH_REPEAT"],
        timeout_s, max_rss_mb),
    "",
]
text = "\n".join(head + lines + ["", "| target | measured | |", "|---|---|---|"] + targets) + "\n"
with open(report, "w", encoding="utf-8") as f:
    f.write(text)
print(text)
print("(written to %s)" % os.path.relpath(report))
PY
if [[ $load_before != "?" ]] && awk -v l="$load_before" 'BEGIN { exit !(l > 0.5) }'; then
  log "run.sh: the load average was $load_before when the runs began: other work on the machine makes the times longer"
fi
