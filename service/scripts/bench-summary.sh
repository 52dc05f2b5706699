#!/usr/bin/env bash
# Summarises the RESULT lines of service/scripts/bench.sh: medians over the
# rounds and the ratios BENCHMARKS.md reports.
#   service/scripts/bench-summary.sh /tmp/tenantd-bench-.../results.txt
set -euo pipefail
f="${1:?usage: bench-summary.sh results.txt}"

# field LINE KEY: the value of KEY=value (units stripped); admitted_p99 and
# shed_p99 come from the latency groups.
field() {
  local line=$1 key=$2
  case "$key" in
    admitted_p99) sed -nE 's/.*admitted\[p50=[0-9.]+ms p95=[0-9.]+ms p99=([0-9.]+)ms.*/\1/p' <<<"$line" ;;
    admitted_p50) sed -nE 's/.*admitted\[p50=([0-9.]+)ms.*/\1/p' <<<"$line" ;;
    shed_p99) sed -nE 's/.*shed_latency\[p50=[0-9.]+ms p95=[0-9.]+ms p99=([0-9.]+)ms.*/\1/p' <<<"$line" ;;
    *) sed -nE "s/.*[ \[]$key=([^ {]+).*/\1/p" <<<"$line" | sed -E 's#/s$##' ;;
  esac
}
median() { sort -n | awk '{v[NR]=$1} END {if (NR==0) print "-"; else print v[int((NR+1)/2)]}'; }
# med LABEL_PREFIX SERVER KEY: median of KEY over the rounds
med() { grep -E "^$1[0-9]* $2 RESULT" "$f" | while read -r l; do field "$l" "$3"; done | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a/b }'; }
loads() { grep -E "^$1[0-9]* " "$f" | while read -r l; do field "$l" load_avg; done | tr '\n' ' '; }

echo
echo "## Summary ($(grep -c RESULT "$f") RESULT lines in $f)"
echo
grep -E 'onboarded .* directly' "$f" | sed 's/^/setup: /'
grep -E '^RESULT rolecache' "$f" | sed 's/^RESULT /finding: /'
echo
echo "### Tenant count: 1,000 closed-loop users over the same 1,000 tenants (medians; load averages: $(loads closed))"
printf '| build | tenants in DB | goodput req/s | admitted p99 ms | shed | CPU us/req tenantd | PG | all watched |\n|---|---|---|---|---|---|---|---|\n'
for s in before-1k before-10k after-1k after-10k noscope-1k; do
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "${s%-*}" "$(med closed "$s" tenants_in_db)" "$(med closed "$s" goodput)" "$(med closed "$s" admitted_p99)" \
    "$(med closed "$s" shed)" "$(med closed "$s" tenantd_cpu_us_per_req)" "$(med closed "$s" postgres_cpu_us_per_req)" "$(med closed "$s" watched_cpu_us_per_req)"
done
echo
for b in before after; do
  echo "$b: goodput 10k/1k = $(ratio "$(med closed "$b-10k" goodput)" "$(med closed "$b-1k" goodput)"), CPU/req 10k/1k = $(ratio "$(med closed "$b-10k" watched_cpu_us_per_req)" "$(med closed "$b-1k" watched_cpu_us_per_req)")"
done
echo "isolation: goodput with/without the tenant switch = $(ratio "$(med closed after-1k goodput)" "$(med closed noscope-1k goodput)"), CPU/req with/without = $(ratio "$(med closed after-1k watched_cpu_us_per_req)" "$(med closed noscope-1k watched_cpu_us_per_req)")"
echo
echo "### Overload (open loop, 10,000 tenants in the database)"
grep -E '^capacity' "$f" | while read -r l; do echo "$(awk '{print $1}' <<<"$l") (after-10k, closed loop, users = in-flight bound): goodput $(field "$l" goodput) req/s, admitted p99 $(field "$l" admitted_p99) ms, load $(field "$l" load_avg)"; done
cap="$(med capacity after-10k goodput)"
echo "capacity = median of the rounds = $cap req/s"
printf '| build | offered req/s | goodput req/s | goodput/capacity | admitted p50 / p99 ms | shed (without Retry-After) | other 5xx | net errors | tenantd peak RSS MB | load avg |\n|---|---|---|---|---|---|---|---|---|---|\n'
grep -E '^overload ' "$f" | while read -r l; do
  s="$(awk '{print $2}' <<<"$l")"
  printf '| %s | %s | %s | %s | %s / %s | %s (%s) | %s | %s | %s | %s |\n' "${s%-*}" "$(field "$l" offered)" "$(field "$l" goodput)" "$(ratio "$(field "$l" goodput)" "$cap")" \
    "$(field "$l" admitted_p50)" "$(field "$l" admitted_p99)" "$(field "$l" shed)" "$(field "$l" shed_without_retry_after)" "$(field "$l" other_5xx)" \
    "$(field "$l" net_errors)" "$(field "$l" tenantd_peak_rss_mb)" "$(field "$l" load_avg)"
done
if grep -qE '^active ' "$f"; then
  echo
  echo "### Working set: all tenants active (after)"
  grep -E '^active ' "$f" | while read -r l; do echo "$(awk '{print $2}' <<<"$l"): tenants driven $(field "$l" tenants), goodput $(field "$l" goodput), CPU/req PG $(field "$l" postgres_cpu_us_per_req) us, all $(field "$l" watched_cpu_us_per_req) us, load $(field "$l" load_avg)"; done
fi
echo
grep -E '^hwm ' "$f" | sed 's/^hwm /peak RSS (VmHWM) /'
