#!/usr/bin/env bash
# Mount tests of records read again after cache_ttl (issue 12): the records
# a listing brought expire together, and fetching each again alone costs a
# request a member. The mount fetches them one by one until as many
# requests went to them as a listing takes, then lists the roster again,
# which brings every record back (the ski-rental rule: never more than
# twice the better choice). One member read after expiry still costs one
# request. Counted with the fake's counters.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

N=120 PAGE=10
PAGES=$(((N + PAGE - 1) / PAGE))
# Long enough that, under valgrind on a loaded machine, the reads after
# the second listing all come within it; the test waits it out once.
TTL=20
fake_start --users "$N" --seed 7
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
ALL_EMAILS=$(jq -r '.users[].email' <<<"$STATE" | enc_lines)
M=$MNT

msfs_mount "page_size=$PAGE,cache_ttl=$TTL" || t_bail "cannot mount"

fake_reset
t_ok "cold ls users/ ($N members, page_size=$PAGE)" ls -A "$M/users"
printf '%s\n' "$T_OUT" >"$T_DIR/names"
t_cost "the listing costs its $PAGES pages" \
	"GET /v1/users/list=$PAGES" "total=$PAGES"
t_same_lines "$T_OUT" "$ALL_EMAILS" "users/ lists exactly the fake's members"

sleep $((TTL + 1))

# One member after expiry: its own request, no listing.
E1=$(head -n 1 "$T_DIR/names")
fake_reset
t_ok "cat users/E/user.json after cache_ttl" cat "$M/users/$E1/user.json"
t_cost "after cache_ttl, one member read again costs its 1 request, not a listing" \
	"GET /v1/users/find-by-mail=1" "total=1"

# Every member after expiry, in one process (the names kept from before,
# as a script or a backup holds them): E1 is fresh again; the next
# PAGES - 1 cost a request each, which with E1's makes as many as the
# listing's pages; the one after lists the roster again, and the rest
# come from that listing.
fake_reset
sed 's|$|/user.json|' "$T_DIR/names" >"$T_DIR/files"
t_ok "cat every users/E/user.json after cache_ttl" \
	sh -c 'cd "$1/users" && xargs -d "\n" cat <"$2" >"$3"' _ "$M" "$T_DIR/files" "$T_DIR/all.json"
t_cost "... costs $((PAGES - 1)) single requests, then one listing ($PAGES pages), not $((N - 1)) requests" \
	"GET /v1/users/find-by-mail=$((PAGES - 1))" "GET /v1/users/list=$PAGES" \
	"total=$((2 * PAGES - 1))"
t_is "$(jq -s length "$T_DIR/all.json")" "$N" "the cat yields $N JSON records"
t_same_lines "$(jq -r .email "$T_DIR/all.json" | enc_lines)" "$ALL_EMAILS" \
	"... one for each of the fake's members"
E=$(jq -r '.users[77].email' <<<"$STATE")
t_json_eq "$(jq -c --arg e "$E" 'select(.email == $e)' "$T_DIR/all.json")" \
	"$(fake_user_api "$E")" "a record the second listing brought equals the fake's (as the API answers it)"

fake_reset
t_ok "cat every users/E/user.json again" \
	sh -c 'cd "$1/users" && xargs -d "\n" cat <"$2" >/dev/null' _ "$M" "$T_DIR/files"
t_cost "... within cache_ttl of the second listing costs 0 requests" "total=0"
msfs_unmount

t_done
