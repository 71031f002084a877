#!/usr/bin/env bash
# -o dry_run (README "Options"): an admin runs a new script against a
# dry-run mount first and reads the journal. Reads work as usual; every
# change (grant lines, touch of an offer, offer and order state, a
# property file, properties.json, chapters, rmdir and rm -r of members)
# is validated as always, reported as done to the writer, and written to
# the journal as "outcome": "dry-run" with the exact request that would
# have been sent (method, path, body) -- and never sent: the fake gets no
# request but GETs, its state is unchanged, and the mount keeps showing
# the school as it is. Bad input is still refused; the deletion budget
# still counts, so a dry run shows where the real run would stop.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=200
fake_start --users "$NUSERS"
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

JOURNAL=$T_DIR/journal.jsonl
msfs_mount dry_run cache_ttl=3600 max_rps=0 "journal=$JOURNAL" || t_bail "cannot mount -o dry_run"
M=$MNT

# The member A: holds at least one offer and lacks another; D1, D2: to be
# deleted.
A=$(sj 'first(.users[] | select((.offers | length) >= 1 and (.offers | length) < 3)) | .email')
UA=$(jq -c --arg e "$A" 'first(.users[] | select(.email == $e))' <<<"$STATE")
O_HELD=$(jq -r '.offers[0].offerId' <<<"$UA")
ORDER=$(jq -r '.offers[0].orderId' <<<"$UA")
O_NEW=$(sj --argjson u "$UA" 'first(.offers[].id | select(. as $o | $u.offers | map(.offerId) | index($o) | not))')
COURSE=$(sj '.offers[0].courses[0].id')
P_COMPANY=$(sj 'first(.properties[] | select(.name == "Company")) | .id')
P_PHONE=$(sj 'first(.properties[] | select(.name == "Phone number")) | .id')
D1=$(sj '.users[10].email')
D2=$(sj '.users[11].email')
t_diag "A=$A holds $O_HELD (order $ORDER), not $O_NEW; D1=$D1 D2=$D2"
UD=$M/users/$(enc "$A")

# What the mount shows of the school, read before any change and compared
# after: the member's files, the listings a change would touch.
snapshot_views() {
	local o
	printf '== users\n'
	ls "$M/users"
	printf '== user.json\n'
	cat "$UD/user.json"
	printf '== offers/\n'
	ls "$UD/offers"
	for o in "$O_HELD" "$O_NEW"; do
		printf '== offers/%s\n' "$o"
		cat "$UD/offers/$(enc "$o")" 2>&1
	done
	printf '== orders/%s\n' "$ORDER"
	cat "$UD/orders/$(enc "$ORDER")" 2>&1
	printf '== properties/Company\n'
	cat "$UD/properties/Company"
	printf '== properties.json\n'
	cat "$UD/properties.json"
	for o in "$O_HELD" "$O_NEW"; do
		printf '== offers/%s/members\n' "$o"
		ls "$M/offers/$(enc "$o")/members"
	done
	printf '== by-status\n'
	ls "$M/by-status/active" "$M/by-status/inactive"
	printf '== new member\n'
	ls "$M/users/dry-new@example.com" 2>&1
}

VIEWS_BEFORE=$(snapshot_views)
FAKE_BEFORE=$(fake_state | jq -S .)
fake_reset
LOG0=$(fake_log | jq length)

# =====================================================================
# Every kind of change, as a script would make it
# =====================================================================

t_is "$(printf 'dry-new@example.com,Dry,Run\n' | write_once "$M/offers/$(enc "$O_NEW")/grant")" ok \
	"grant file, one line: close() succeeds"
t_like "$(printf 'dry-two@example.com\nbad@x.com,a,b,c,d\n' | write_once "$M/offers/$(enc "$O_NEW")/grant")" "EINVAL" \
	"grant file with a bad line: the bad line is still refused (EINVAL)"
t_ok "touch users/A/offers/NEW (a grant) succeeds" touch "$UD/offers/$(enc "$O_NEW")"
t_is "$(printf 'inactive\n' | write_once "$UD/offers/$(enc "$O_HELD")")" ok "offer state: close() succeeds"
t_is "$(printf 'inactive\n' | write_once "$UD/orders/$(enc "$ORDER")")" ok "order state: close() succeeds"
t_is "$(printf 'Dry Corp\n' | write_once "$UD/properties/Company")" ok "properties/Company: close() succeeds"
t_ok "properties.json through jq and mv succeeds" sh -c \
	'jq ".\"Phone number\" = \"+49 30 1234\"" "$1/properties.json" >"$1/props.tmp" && mv "$1/props.tmp" "$1/properties.json"' \
	_ "$UD"
t_is "$(printf '%s ch-2\n' "$COURSE" | write_once "$UD/chapters")" ok "chapters: close() succeeds"
t_ok "rmdir users/D1 succeeds" rmdir "$M/users/$(enc "$D1")"
t_ok "rm -r users/D2 succeeds" rm -r "$M/users/$(enc "$D2")"
t_like "$(printf 'bogus\n' | write_once "$UD/offers/$(enc "$O_HELD")")" "EINVAL" \
	"a bad state word is still refused (EINVAL)"
t_like "$(jq '.Nope = "x"' "$UD/properties.json" | write_once "$UD/properties.json")" "EINVAL" \
	"an unknown property in properties.json is still refused (EINVAL)"

# =====================================================================
# Nothing was sent, nothing changed
# =====================================================================

t_is "$(fake_log | jq -c --argjson m "$LOG0" '[.[$m:][] | select(.endpoint | startswith("GET ") | not) | .endpoint]')" "[]" \
	"the fake received no request but GETs"
t_cost "the fake's counters: no change request" \
	"POST /v1/users/grant-user-offer-by-mail=0" "POST /v1/users/set-offer-state=0" \
	"POST /v1/users/set-order-state=0" "POST /v1/users/set-custom-user-properties=0" \
	"DELETE /v1/users/delete-users=0" "POST /v1/users/delete-users=0" \
	"POST /v1/chapters/chapter-access/enable=0"
t_is "$(fake_state | jq -S .)" "$FAKE_BEFORE" "the fake's state is unchanged"
t_is "$(snapshot_views)" "$VIEWS_BEFORE" "the mount shows the school as it is (member files, listings, symlinks)"
# The kernel may keep the name touch created (names live for cache_ttl),
# but not its attributes: the daemon answers, and the file is not there.
t_fails "the offer touch granted does not exist afterwards, at once" test -e "$UD/offers/$(enc "$O_NEW")"

# =====================================================================
# The journal: each change, with the request it would have been
# =====================================================================

AN=$(jq -r '.firstname' <<<"$UA")
AL=$(jq -r '.name' <<<"$UA")
WANT=$(jq -nc --arg a "$A" --arg held "$O_HELD" --arg new "$O_NEW" --arg ord "$ORDER" \
	--arg pc "$P_COMPANY" --arg pp "$P_PHONE" --arg c "$COURSE" --arg d1 "$D1" --arg d2 "$D2" \
	--arg fn "$AN" --arg ln "$AL" '[
	{op: "grant", request: {method: "POST", path: "/v1/users/grant-user-offer-by-mail",
		body: {email: "dry-new@example.com", firstname: "Dry", name: "Run", grantOffer: $new}}},
	{op: "grant", request: {method: "POST", path: "/v1/users/grant-user-offer-by-mail",
		body: {email: "dry-two@example.com", grantOffer: $new}}},
	{op: "grant", request: {method: "POST", path: "/v1/users/grant-user-offer-by-mail",
		body: {email: $a, firstname: $fn, name: $ln, grantOffer: $new}}},
	{op: "set-offer-state", request: {method: "POST", path: "/v1/users/set-offer-state",
		body: {email: $a, offerId: $held, active: false}}},
	{op: "set-order-state", request: {method: "POST", path: "/v1/users/set-order-state",
		body: {email: $a, orderId: $ord, active: false}}},
	{op: "set-properties", request: {method: "POST", path: "/v1/users/set-custom-user-properties",
		body: {email: $a, properties: [{propertyId: $pc, value: "Dry Corp"}]}}},
	{op: "set-properties", request: {method: "POST", path: "/v1/users/set-custom-user-properties",
		body: {email: $a, properties: [{propertyId: $pp, value: "+49 30 1234"}]}}},
	{op: "enable-chapter", request: {method: "POST", path: "/v1/chapters/chapter-access/enable",
		body: {email: $a, courseId: $c, chapterId: "ch-2"}}},
	{op: "delete", request: {method: "DELETE", path: "/v1/users/delete-users", body: {emails: [$d1]}}},
	{op: "delete", request: {method: "DELETE", path: "/v1/users/delete-users", body: {emails: [$d2]}}}
	] | .[]')
t_same_lines "$(jq -c -S 'select(.outcome == "dry-run") | {op, request}' "$JOURNAL")" \
	"$(jq -c -S . <<<"$WANT")" "journal: one dry-run line per change, with the exact request"
t_is "$(jq -c 'select(.outcome == "dry-run") | select((.args | type) != "object" or (.time | type) != "string") | .op' "$JOURNAL")" "" \
	"journal: each dry-run line has its time and args"
t_is "$(jq -c 'select(.outcome == "ok" or .op == "delete-snapshot")' "$JOURNAL")" "" \
	"journal: nothing ok, no delete snapshot (nothing was sent, nothing lost)"
t_is "$(jq -r 'select(.op == "grant" and .outcome == "error") | .args.text' "$JOURNAL")" "bad@x.com,a,b,c,d" \
	"journal: the refused line is there as an error, as without dry_run"
t_is "$(cat "$M/.memberspot/journal")" "$(cat "$JOURNAL")" ".memberspot/journal shows the same lines"
t_is "$(journal_bad_line "$JOURNAL")" "" "the journal is valid JSON lines"

# =====================================================================
# The deletion budget counts in a dry run too (a fresh mount: a full one)
# =====================================================================

msfs_unmount
J2=$T_DIR/journal2.jsonl
msfs_mount dry_run cache_ttl=3600 max_rps=0 "journal=$J2" || t_bail "cannot mount -o dry_run again"
M=$MNT
mapfile -t E < <(sj '.users[20:31][].email')
fake_reset
t0=$EPOCHREALTIME
for ((i = 0; i < 10; i++)); do
	rmdir "$M/users/$(enc "${E[$i]}")" 2>"$T_DIR/rmdir.err" || break
done
secs=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%d", a - b }')
t_is "$i" 10 "rmdir of 10 members one by one: each reported done"
if [[ $secs -lt 50 ]]; then
	t_fails_with EPERM "the 11th rmdir within the minute: EPERM, as the real run would" \
		rmdir "$M/users/$(enc "${E[10]}")"
else
	t_skip "the 11th rmdir within the minute: EPERM" "the ten took ${secs}s (valgrind?): the budget refilled"
fi
t_is "$(jq -c 'select(.op == "delete" and .outcome == "dry-run")' "$J2" | wc -l)" 10 \
	"the journal has the 10 dry-run deletions, not the refused one"
t_cost "no delete request" "DELETE /v1/users/delete-users=0" "POST /v1/users/delete-users=0"
t_is "$(ls "$M/users" | wc -l)" "$NUSERS" "users/ still lists all $NUSERS members"
t_is "$(fake_state | jq '.users | length')" "$NUSERS" "the fake still has all $NUSERS"
if [[ $secs -lt 50 ]]; then
	t_like "$(cat "$M/.memberspot/errors")" "1 member deletion refused, nothing sent: .*-o max_deletes=N" \
		".memberspot/errors says the budget stopped it"
else
	t_skip ".memberspot/errors says the budget stopped it" "the budget refilled"
fi

msfs_unmount
t_done
