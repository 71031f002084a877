#!/usr/bin/env bash
# Whole-school files: users.jsonl (one compact record per member),
# users.csv (email, names, active, created, one column per property,
# offers as ID:state;...) and offers/O/members.csv, read with real tools
# (grep, jq, python3's csv module) and held against the fake's state.
# They are built from the member list at no request beyond it: a warm
# read costs 0 requests. A change through the mount shows at the next
# read, and `stat -c %s` agrees with `wc -c` after a read. They are
# streamed in 64 KiB pieces (an open holds a piece, not the file): with
# NUSERS members users.jsonl spans several pieces, and grep, wc, head,
# tail (which seeks near the end), dd skip=, cp and cmp of two reads see
# one file, also while grants run through the mount.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=400
fake_start --users "$NUSERS" --seed 5
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT

t_ok "ls / lists users.jsonl and users.csv" ls "$M"
t_like "$T_OUT" $'users.csv\nusers.jsonl' "the root lists both files"
O=$(sj '[.offers[] | select(.id | test("^[a-z0-9-]+$"))][0].id')
t_ok "ls offers/$O/ lists members.csv" ls "$M/offers/$O"
t_like "$T_OUT" "members.csv" "offers/O/ lists members.csv"

# ---------------------------------------------------------------------
# users.jsonl
# ---------------------------------------------------------------------
t_ok "jq -c .email users.jsonl" jq -r .email "$M/users.jsonl"
t_same_lines "$T_OUT" "$(sj '.users[].email')" "users.jsonl holds every member once"
t_is "$(jq -c .email "$M/users.jsonl" | wc -l)" "$NUSERS" "one line per member ($NUSERS)"
got=$(grep ACME "$M/users.jsonl" | jq -r .email)
want=$(sj '.users[] | select((.customProperties["p-company"] // "") | test("ACME")) | .email')
t_same_lines "$got" "$want" "grep ACME users.jsonl finds exactly the members holding ACME"
t_ok "some member holds ACME" test -n "$want"
E=$(sj '.users[3].email')
ED=users/$(enc "$E")
t_is "$(grep -F "\"email\":$(jq -n --arg e "$E" '$e')" "$M/users.jsonl")" \
	"$(jq -c . "$M/$ED/user.json")" "a member's line is its user.json, compact"

# ---------------------------------------------------------------------
# users.csv
# ---------------------------------------------------------------------
# csvrows FILE: each row as a JSON object keyed by the header (one a line).
csvrows() {
	python3 -c 'import csv, json, sys
for row in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")):
    print(json.dumps(row, ensure_ascii=False))' "$1"
}
t_ok "python3's csv module parses users.csv" csvrows "$M/users.csv"
ROWS=$T_OUT
t_is "$(head -n 1 "$M/users.csv")" \
	"email,firstname,name,active,created,$(sj '[.properties[].name] | join(",")'),offers" \
	"the header: the fixed columns, one per property by name, offers"
t_same_lines "$(jq -r .email <<<"$ROWS")" "$(sj '.users[].email')" "one row per member"
want=$(sj '.users[] | select(.customProperties["p-kdnr"]) | "\(.email) \(.customProperties["p-kdnr"])"')
t_same_lines "$(jq -r 'select(.Kundennummer != "") | "\(.email) \(.Kundennummer)"' <<<"$ROWS")" \
	"$want" "the Kundennummer column holds each member's value"
# (in the order the record has them; derived grants come by offer)
want=$(sj '.users[] | "\(.email) \([.offers[] | "\(.offerId):\(if .active then "active" else "inactive" end)"] | sort | join(";"))"')
t_same_lines "$(jq -r '"\(.email) \(.offers | split(";") | sort | join(";"))"' <<<"$ROWS")" "$want" \
	"the offers column: ID:state joined by ; as the fake holds them"
want=$(sj '.users[] | "\(.email) \(.firstname) \(.name) \(.active)"')
t_same_lines "$(jq -r '"\(.email) \(.firstname) \(.name) \(.active)"' <<<"$ROWS")" \
	"$want" "names and active as the fake holds them"

# ---------------------------------------------------------------------
# offers/O/members.csv
# ---------------------------------------------------------------------
t_ok "python3 parses offers/$O/members.csv" csvrows "$M/offers/$O/members.csv"
t_same_lines "$(jq -r .email <<<"$T_OUT")" "$(ls "$M/offers/$O/members")" \
	"members.csv has exactly the members offers/O/members/ lists"
t_same_lines "$(jq -r .email <<<"$T_OUT")" \
	"$(sj --arg o "$O" '.users[] | select(any(.offers[]; .offerId == $o)) | .email')" \
	"... who are the members holding the offer"

# ---------------------------------------------------------------------
# Sizes and cost
# ---------------------------------------------------------------------
for f in users.jsonl users.csv "offers/$O/members.csv"; do
	t_is "$(stat -c %s "$M/$f")" "$(wc -c <"$M/$f")" "stat -c %s of $f equals wc -c"
done
fake_reset
t_ok "warm: cat users.jsonl users.csv members.csv, grep, stat" sh -c \
	'cat "$1/users.jsonl" "$1/users.csv" "$1/offers/$2/members.csv" >/dev/null &&
	grep -c ACME "$1/users.jsonl" >/dev/null && stat "$1/users.jsonl" "$1/users.csv" >/dev/null' _ "$M" "$O"
t_cost "a warm read of the whole-school files costs 0 requests" "total=0"

# ---------------------------------------------------------------------
# Streamed: the tools that read in pieces, skip and seek
# ---------------------------------------------------------------------
J=$M/users.jsonl
t_ok "cp users.jsonl (a copy to compare with)" cp "$J" "$T_DIR/users.jsonl"
size=$(stat -c %s "$T_DIR/users.jsonl")
t_ok "users.jsonl spans more than two 64 KiB pieces ($size bytes)" test "$size" -gt $((2 * 65536))
t_ok "cmp of two reads of users.jsonl" cmp "$J" "$J"
t_ok "cmp of a read and the copy" cmp "$J" "$T_DIR/users.jsonl"
t_is "$(wc -l <"$J")" "$NUSERS" "wc -l users.jsonl"
t_is "$(head -n 1 "$J")" "$(head -n 1 "$T_DIR/users.jsonl")" "head -n 1 users.jsonl"
t_is "$(tail -n 1 "$J")" "$(tail -n 1 "$T_DIR/users.jsonl")" "tail -n 1 users.jsonl (seeks near the end)"
t_is "$(tail -n 1 "$J" | jq -r .email)" "$(sj '.users[-1].email')" "... the last member listed"
t_is "$(dd if="$J" bs=1000 skip=150 count=7 status=none | md5sum)" \
	"$(dd if="$T_DIR/users.jsonl" bs=1000 skip=150 count=7 status=none | md5sum)" \
	"dd skip=150 (reads from 150000 on)"
t_is "$(dd if="$J" bs=4096 skip=10 count=1 status=none | md5sum)" \
	"$(dd if="$T_DIR/users.jsonl" bs=4096 skip=10 count=1 status=none | md5sum)" \
	"dd bs=4096 skip=10 (a second pass, started again)"
t_is "$(grep -c '"email"' "$J")" "$NUSERS" "grep -c finds every line"
t_same_lines "$(jq -cS . "$T_DIR/users.jsonl")" "$(fake_state_api | jq -cS '.users[]')" \
	"every line of the copy is the member's record as the API answers it"
fake_reset
t_ok "warm: wc, head, tail, dd skip=, cmp" sh -c \
	'wc -l "$1" && head -n 1 "$1" && tail -n 1 "$1" &&
	dd if="$1" bs=1000 skip=150 count=7 status=none && cmp "$1" "$1"' _ "$J"
t_cost "... cost 0 requests" "total=0"

# Reads while grants run through the mount: each read is a whole file
# (every line a record), whatever the grants did to it meanwhile.
G=$(sj '.offers[-1].id')
sj '.users[].email' | head -n 40 >"$T_DIR/grants"
(cat "$T_DIR/grants" >"$M/offers/$(enc "$G")/grant") 2>"$T_DIR/grant.err" &
GPID=$!
broken=0
for _ in 1 2 3 4 5; do
	n=$(jq -c .email "$J" 2>>"$T_DIR/jq.err" | wc -l)
	[[ $n == "$NUSERS" ]] || broken=$((broken + 1))
	n=$(csvrows "$M/users.csv" 2>>"$T_DIR/jq.err" | wc -l)
	[[ $n == "$NUSERS" ]] || broken=$((broken + 1))
done
wait "$GPID"
t_is "$?" 0 "40 grants through offers/$G/grant while reading"
t_is "$broken" 0 "10 reads during the grants: each is every member, every line whole"
t_same_lines "$(jq -r .email <(csvrows "$M/offers/$(enc "$G")/members.csv"))" \
	"$(sort -u "$T_DIR/grants" <(fake_state | jq -r --arg o "$G" '.users[] | select(any(.offers[]; .offerId == $o)) | .email'))" \
	"offers/$G/members.csv after the grants: the members holding it"

# ---------------------------------------------------------------------
# Changes through the mount show; the formula rule
# ---------------------------------------------------------------------
t_ok "echo '=HYPERLINK(1)' > users/E/properties/Company" \
	sh -c 'echo "=HYPERLINK(1)" > "$1"' _ "$M/$ED/properties/Company"
t_ok "csv after the change" csvrows "$M/users.csv"
t_is "$(jq -r --arg e "$E" 'select(.email == $e) | .Company' <<<"$T_OUT")" "'=HYPERLINK(1)" \
	"users.csv: the new value, with a leading ' (a formula is not run)"
t_like "$(grep -F "$E" "$M/users.csv")" ",'=HYPERLINK\(1\)," "the raw cell starts with '="
t_is "$(jq -r --arg e "$E" 'select(.email == $e) | .customProperties["p-company"] // .customUserProperties.Company' "$M/users.jsonl")" \
	"=HYPERLINK(1)" "users.jsonl shows the new value as it is"
t_is "$(stat -c %s "$M/users.csv")" "$(wc -c <"$M/users.csv")" "after the change: stat -c %s equals wc -c"

O2=$(sj --arg e "$E" '[.offers[].id] - [.users[] | select(.email == $e) | .offers[].offerId] | .[0]')
t_ok "touch users/E/offers/$O2 (a grant)" touch "$M/$ED/offers/$(enc "$O2")"
t_like "$(jq -r --arg e "$E" 'select(.email == $e) | .offers' < <(csvrows "$M/users.csv"))" \
	"(^|;)$(printf '%s' "$O2" | sed 's/[].[*^$()+?{|\\]/\\&/g'):active(;|$)" \
	"users.csv shows the new grant"
t_ok "csvrows offers/$O2/members.csv" csvrows "$M/offers/$(enc "$O2")/members.csv"
t_like "$(jq -r .email <<<"$T_OUT")" "$(printf '%s' "$E" | sed 's/[].[*^$()+?{|\\]/\\&/g')" \
	"offers/O2/members.csv lists the member granted"
t_is "$(stat -c %s "$M/users.jsonl")" "$(wc -c <"$M/users.jsonl")" "after the grant: stat -c %s equals wc -c"

msfs_unmount
t_done
