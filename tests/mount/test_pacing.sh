#!/usr/bin/env bash
# Adaptive pacing through the mount (issue 12): with the default options no
# rate is fixed; a server that answers 429 lowers the learned rate of that
# endpoint class, every read still succeeds (Retry-After honoured), and once
# the server stops refusing the rate climbs again. .memberspot/status shows
# the learned rate per class. Asserts behaviour (counts, status lines), not
# timings.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

fake_start --users 200 --seed 7
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
mapfile -t MEMBERS < <(jq -r '.users[20:180][].email' <<<"$STATE")
M=$MNT

fake_429() { fake_stats | jq -r '.by_status["429"] // 0'; }
# The status line of the general class, without its label.
general() { sed -n 's/^pacing general: //p' "$M/.memberspot/status"; }
# The learned rate in that line (empty when the class is unlimited).
rate_of() { sed -nE 's#^([0-9.]+)/s \(learned.*#\1#p' <<<"$1"; }
# lookups FROM COUNT: cold user.json reads, 8 at a time; failures listed.
lookups() {
	printf '%s\n' "${MEMBERS[@]:$1:$2}" | enc_lines |
		xargs -P 8 -I{} sh -c 'cat "$1/$3/user.json" >/dev/null || echo "$3" >>"$2/fail"' \
			_ "$M/users" "$T_DIR" {}
}

msfs_mount cache_ttl=600 || t_bail "cannot mount"

line=$(general)
t_is "$line" "unlimited" "default options: the general class starts unlimited (no fixed max_rps)"
t_ok "the progress class starts at its known ceiling of 4/s" \
	grep -qx 'pacing progress: 4.00/s (the ceiling)' "$M/.memberspot/status"

# Control: without a server limit, 40 parallel lookups draw no 429 and
# leave the rate unlimited.
fake_reset
lookups 0 40
t_is "$(fake_429)" 0 "control: no server limit, no 429"
t_is "$(general)" "unlimited" "control: no 429, the rate stays unlimited"

# A server that allows 5 requests/s: the mount is refused at first, learns.
fake_config '{"global_rps": 5}'
fake_reset
lookups 40 60
n429=$(fake_429)
t_ok "a limited server refuses some requests (got $n429 429s)" test "$n429" -gt 0
t_is "$(cat "$T_DIR/fail" 2>/dev/null)" "" "every lookup still succeeds (Retry-After honoured)"
t_cost "each of the 60 members was found once, plus one retry per refusal" \
	"GET /v1/users/find-by-mail=$((60 + n429))"
line=$(general)
low=$(rate_of "$line")
t_ok "the status shows a learned rate after the refusals ($line)" test -n "$low"
t_ok "the learned rate is at most the server's 5/s ($low)" \
	awk -v r="${low:-99}" 'BEGIN { exit !(r <= 5) }'

# Learned, the next lookups draw few or no refusals.
fake_reset
lookups 100 30
t_is "$(cat "$T_DIR/fail" 2>/dev/null)" "" "the next 30 lookups succeed"
later=$(fake_429)
t_ok "paced at the learned rate, far fewer refusals ($later of 30, were $n429 of 60)" \
	test "$later" -le 3

# The server stops refusing: the rate climbs again. Probing above the
# learned rate starts some 30 s after the last cut (pacer.h), so this
# polls the status once a second, for at most 90 s.
fake_config '{"global_rps": 0}'
high=$low
for ((i = 0; i < 90; i++)); do
	line=$(general)
	high=$(rate_of "$line")
	awk -v a="${high:-1e9}" -v b="${low:-0}" 'BEGIN { exit !(a > b) }' && break
	sleep 1
done
t_ok "the rate recovers: now $line, was ${low}/s" \
	awk -v a="${high:-1e9}" -v b="${low:-0}" 'BEGIN { exit !(a > b) }'
msfs_unmount

# A ceiling stays a ceiling: max_rps=3 is shown and never exceeded.
msfs_mount max_rps=3 || t_bail "cannot mount (max_rps=3)"
t_ok "max_rps=3 is shown as the ceiling" \
	grep -qx 'pacing general: 3.00/s (the ceiling)' "$M/.memberspot/status"
msfs_unmount

t_done
