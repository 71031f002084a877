#!/usr/bin/env bash
# Deleting members (LAYOUT.md "Rules": removing users/EMAIL deletes the
# member; at most max_deletes per rolling minute; the snapshot first).
#
#   - The budget, with the tools people really run over a whole users/
#     directory: rsync -a --delete, find -exec rm -r {} +, rm -rf users/*.
#     On a 200-member school (a fresh fake and mount for each tool) each
#     deletes exactly 10 members (the fake's state and its DELETE count),
#     exits non-zero, the journal holds exactly those 10 snapshots, and
#     .memberspot/errors has one line for the whole burst that counts the
#     refusals and names the option. max_deletes=0: no budget.
#   - The snapshot first: with the journal on a full filesystem (a tiny
#     tmpfs, as root) a deletion fails with EIO and sends nothing; once
#     there is room it goes through, snapshot before delete.
#   - The journal file: a symlink, a FIFO, or an existing file that group
#     or others may read is refused at start-up with one line; journal=
#     /dev/null (no file) mounts, and refuses deletion.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=200
BUDGET=10
mkdir -p "$T_DIR/empty"

# A fresh fake of NUSERS members (the previous one stopped), its state kept
# in $STATE and its members, as the API shows them, in $API_USERS.
fresh_fake() {
	if [[ -n $FAKE_PID ]]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
	fake_start --users "$NUSERS" "$@"
	STATE=$(fake_state) || t_bail "cannot read /_fake/state"
	API_USERS=$(fake_state_api | jq -c '.users') || t_bail "cannot read /_fake/state?view=api"
}

# The emails the fake received in delete requests since the last reset
# (fake_log keeps every request; $LOG0 entries were there before).
deleted_by_requests() {
	fake_log | jq -r --argjson m "$LOG0" '.[$m:][]
		| select(.endpoint | test("delete-users")) | .body.emails[]' | sort
}

# Members the fake no longer has, of those it had.
gone_from_fake() {
	jq -r --argjson now "$(fake_state | jq '[.users[].email]')" \
		'.users[].email | select(. as $e | $now | index($e) | not)' <<<"$STATE" | sort
}

# check_round TOOL JOURNAL WANT: what one run over users/ left behind,
# WANT members deleted (exactly: the fake, its requests, the journal).
# WANT "window": a run that outlasted the rolling minute (the daemon under
# valgrind), where the budget rightly refilled: then no 60 s hold more
# than the budget, and the counts of the errors lines add up.
check_round() {
	local tool=$1 j=$2 want=$3 gone sent snaps dels errs refused
	gone=$(gone_from_fake)
	if [[ $want == window ]]; then
		want=$(grep -c . <<<"$gone")
		t_diag "$tool outlasted the rolling minute: $want deleted"
		t_is "$(fake_log | jq -r --argjson m "$LOG0" --argjson b "$BUDGET" '[.[$m:][]
			| select(.endpoint | test("delete-users")) | .t] as $t
			| [range($b; $t | length) | select($t[.] - $t[. - $b] < 55)] | length')" 0 \
			"$tool: no $((BUDGET + 1)) delete requests within a minute"
		t_ok "$tool: at least the budget was deleted" test "$want" -ge "$BUDGET"
	else
		t_is "$(grep -c . <<<"$gone")" "$want" "$tool: the fake lost exactly $want members"
	fi
	t_cost "$tool: exactly $want delete requests" \
		"DELETE /v1/users/delete-users=$want" "POST /v1/users/delete-users=0"
	sent=$(deleted_by_requests)
	t_same_lines "$sent" "$gone" "$tool: the members sent to delete-users are the ones gone"
	snaps=$(jq -r 'select(.op == "delete-snapshot") | .user.email' "$j" | sort)
	t_same_lines "$snaps" "$gone" "$tool: the journal holds exactly their $want snapshots"
	t_is "$(jq -c --argjson api "$API_USERS" 'select(.op == "delete-snapshot")
		| .user as $u | select(($api | map(select(.email == $u.email)) | .[0]) != $u) | $u.email' "$j" | head -n 5)" "" \
		"$tool: each snapshot is the member's record as the API had it"
	dels=$(jq -r 'select(.op == "delete" and .outcome == "ok") | .args.emails[]' "$j" | sort)
	t_same_lines "$dels" "$gone" "$tool: one delete line (ok) per member deleted"
	t_is "$(jq -sr '. as $l | [range(length)] as $ix | $ix[] | select($l[.].op == "delete") | . as $d
		| $l[$d].args.emails[0] as $e
		| select([$ix[] | select(. < $d and $l[.].op == "delete-snapshot" and $l[.].user.email == $e)] == [])
		| $e' "$j" | head -n 5)" "" \
		"$tool: each member's snapshot comes before its delete line"
	t_is "$(ls "$MNT/users" | wc -l)" "$((NUSERS - want))" "$tool: users/ lists the $((NUSERS - want)) members left"
	errs=$(grep -F 'max_deletes' "$MNT/.memberspot/errors")
	if [[ $want -eq $BUDGET ]]; then
		t_is "$(grep -c . <<<"$errs")" 1 "$tool: one line in .memberspot/errors for the whole burst" ||
			t_diag_file "$MNT/.memberspot/errors" 10
		t_like "$errs" " $((NUSERS - want)) member deletions refused, nothing sent: .*-o max_deletes=N raises the budget" \
			"$tool: it counts the $((NUSERS - want)) refused and names the option"
	elif [[ $want -lt $NUSERS ]]; then
		refused=$(sed -n 's/.* \([0-9][0-9]*\) member deletions\{0,1\} refused, nothing sent: .*-o max_deletes=N raises the budget.*/\1/p' <<<"$errs" |
			awk '{ n += $1 } END { print n + 0 }')
		t_is "$refused" "$((NUSERS - want))" "$tool: the errors lines (one per burst) count the $((NUSERS - want)) refused" ||
			t_diag_file "$MNT/.memberspot/errors" 10
	else
		t_is "$errs" "" "$tool: no budget line in .memberspot/errors"
	fi
}

# run_round NAME CMD...: a fresh fake and mount (default budget), users/
# listed once, then CMD run inside the mount; it must fail (refusals).
run_round() {
	local name=$1 j=$T_DIR/journal.$1.jsonl t0 secs
	shift
	fresh_fake
	msfs_mount cache_ttl=3600 max_rps=0 "journal=$j" || t_bail "cannot mount ($name)"
	ls "$MNT/users" >/dev/null
	fake_reset
	LOG0=$(fake_log | jq length)
	cd "$MNT" || t_bail "cannot cd to $MNT"
	t0=$EPOCHREALTIME
	t_fails "$name: exits non-zero (the members past the budget are refused)" "$@"
	secs=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%d", a - b }')
	cd "$T_DIR" || t_bail "cannot cd to $T_DIR"
	t_like "$T_ERR" "Operation not permitted" "$name: says why (EPERM)"
	# A minute after the first deletion the budget refills, rightly.
	if [[ $secs -lt 50 ]]; then
		check_round "$name" "$j" "$BUDGET"
	else
		check_round "$name" "$j" window
	fi
	msfs_unmount
}

# =====================================================================
# The budget, with real tools (each on a fresh school and mount)
# =====================================================================

if command -v rsync >/dev/null; then
	run_round "rsync -a --delete empty/ users/" rsync -a --delete "$T_DIR/empty/" users/
else
	t_skip "rsync -a --delete empty/ users/" "rsync is not installed"
fi
run_round "find users -mindepth 1 -maxdepth 1 -exec rm -r {} +" \
	find users -mindepth 1 -maxdepth 1 -exec rm -r {} +
run_round "rm -rf users/*" sh -c 'rm -rf users/*'

# max_deletes=0: no budget; all 200 go, and rm succeeds.
fresh_fake
J0=$T_DIR/journal.unlimited.jsonl
msfs_mount cache_ttl=3600 max_rps=0 max_deletes=0 "journal=$J0" || t_bail "cannot mount max_deletes=0"
ls "$MNT/users" >/dev/null
fake_reset
LOG0=$(fake_log | jq length)
cd "$MNT" || t_bail "cannot cd to $MNT"
t_ok "max_deletes=0: rm -rf users/* succeeds" sh -c 'rm -rf users/*'
cd "$T_DIR" || t_bail "cannot cd to $T_DIR"
check_round "max_deletes=0: rm -rf users/*" "$J0" "$NUSERS"
msfs_unmount

# A smaller budget, one rmdir at a time: the refusals after the budget are
# one burst, one line, counted; a refused rmdir sends nothing.
fresh_fake
J3=$T_DIR/journal.three.jsonl
msfs_mount cache_ttl=3600 max_rps=0 max_deletes=3 "journal=$J3" || t_bail "cannot mount max_deletes=3"
mapfile -t E < <(jq -r '.users[].email' <<<"$STATE")
fake_reset
for i in 0 1 2; do
	t_ok "max_deletes=3: rmdir of member $((i + 1)) succeeds" rmdir "$MNT/users/$(enc "${E[$i]}")"
done
for i in 3 4; do
	t_fails_with EPERM "max_deletes=3: rmdir of member $((i + 1)) fails with EPERM" rmdir "$MNT/users/$(enc "${E[$i]}")"
done
t_cost "max_deletes=3: three delete requests, none for the refused" "DELETE /v1/users/delete-users=3"
t_ok "max_deletes=3: a refused member is still there" fake_user "${E[4]}"
t_ok "max_deletes=3: ... and still in the mount" test -f "$MNT/users/$(enc "${E[4]}")/user.json"
t_is "$(grep -F max_deletes "$MNT/.memberspot/errors" | sed 's/^[^ ]* //')" \
	"delete 0 2 member deletions refused, nothing sent: at most 3 members are deleted per rolling minute (-o max_deletes=N raises the budget; 0: no budget)" \
	"max_deletes=3: one errors line counts the 2 refused"
t_is "$(jq -r 'select(.op == "delete-snapshot") | .user.email' "$J3" | sort)" \
	"$(printf '%s\n' "${E[@]:0:3}" | sort)" "max_deletes=3: snapshots of the three deleted only"
msfs_unmount

# =====================================================================
# The snapshot first: a journal on a full filesystem
# =====================================================================

JFS=$T_DIR/jfs
if [[ $(id -u) -eq 0 ]] && mkdir -p "$JFS" && mount -t tmpfs -o size=64k,mode=0700 msfs-test "$JFS" 2>/dev/null; then
	# unmount it however the script ends
	trap 'st=$?; umount -l "$JFS" 2>/dev/null; (exit $st); _t_cleanup' EXIT
	JF=$JFS/journal.jsonl
	# One line padded to a page: the next line needs a page of its own,
	# so a full tmpfs cannot take it.
	(umask 077 && python3 -c 'import json
line = lambda pad: json.dumps({"op": "padding", "pad": pad}, separators=(",", ":"))
print(line("x" * (4096 - len(line("")) - 1)))' >"$JF")
	t_is "$(stat -c %s "$JF")" 4096 "the journal starts as one line of 4096 bytes"
	fresh_fake
	msfs_mount cache_ttl=3600 max_rps=0 "journal=$JF" || t_bail "cannot mount (journal on tmpfs)"
	mapfile -t E < <(jq -r '.users[].email' <<<"$STATE")
	cat "$MNT/users/$(enc "${E[0]}")/user.json" >/dev/null
	dd if=/dev/zero of="$JFS/fill" bs=4096 2>/dev/null
	t_is "$(df --output=avail -B1 "$JFS" | tail -n 1 | tr -d ' ')" 0 "the journal's filesystem is full"
	fake_reset
	t_fails_with EIO "full journal: rmdir users/E fails with EIO" rmdir "$MNT/users/$(enc "${E[0]}")"
	t_cost "full journal: no delete request was sent" "DELETE /v1/users/delete-users=0" \
		"POST /v1/users/delete-users=0"
	t_ok "full journal: the member is still on the server" fake_user "${E[0]}"
	t_ok "full journal: ... and in the mount" test -f "$MNT/users/$(enc "${E[0]}")/user.json"
	t_ok "full journal: .memberspot/errors says why" grep -qF \
		"${E[0]} not deleted, nothing sent: its record could not be written to the journal first" \
		"$MNT/.memberspot/errors"
	t_is "$(journal_bad_line "$JF")" "" "full journal: the file holds whole JSON lines only"
	t_is "$(grep -c delete-snapshot "$JF")" 0 "full journal: no snapshot in the file"
	t_is "$(grep -c delete-snapshot "$MNT/.memberspot/journal")" 0 "full journal: nor in .memberspot/journal"
	rm -f "$JFS/fill"
	t_ok "with room again: rmdir users/E succeeds" rmdir "$MNT/users/$(enc "${E[0]}")"
	t_cost "with room again: one delete request" "DELETE /v1/users/delete-users=1"
	t_is "$(jq -r 'select(.op != "padding") | "\(.op) \(.user.email // .args.emails[0])"' "$JF")" \
		"delete-snapshot ${E[0]}"$'\n'"delete ${E[0]}" "with room again: the journal file has the snapshot, then the delete"
	msfs_unmount
	umount "$JFS" || umount -l "$JFS"
	trap _t_cleanup EXIT
else
	t_skip "the snapshot first on a full filesystem" "needs root to mount a tmpfs"
fi

# =====================================================================
# The journal file itself
# =====================================================================

fresh_fake
OPTS="api_url=$FAKE_URL,api_key_file=$KEYFILE"

# t_refused DESC WANT_REGEX: the last msfs_try refused to start: non-zero,
# nothing mounted, one line on stderr matching WANT_REGEX.
t_refused() {
	if [[ $TRY_STATUS != timeout && $TRY_STATUS -ne 0 && $TRY_MOUNTED -eq 0 ]]; then
		t_pass "$1: exits non-zero ($TRY_STATUS), nothing mounted"
	else
		t_fail "$1: exits non-zero, nothing mounted" "status $TRY_STATUS, mounted $TRY_MOUNTED"
	fi
	t_is "$(printf '%s' "$TRY_ERR" | grep -c '')" 1 "$1: one line on stderr" || t_diag "$TRY_ERR"
	t_like "$TRY_ERR" "$2" "$1: the line says why"
	t_is "$TRY_FINDINGS" "" "$1: clean exit"
}

ln -s "$T_DIR/target.jsonl" "$T_DIR/link.jsonl"
msfs_try -f -o "$OPTS,journal=$T_DIR/link.jsonl" "$MNT"
t_refused "journal is a symlink" "refusing the journal .*link.jsonl: it is a symbolic link"
t_ok "journal is a symlink: its target was not created" test ! -e "$T_DIR/target.jsonl"

(umask 022 && echo '{"op":"old"}' >"$T_DIR/open.jsonl")
msfs_try -f -o "$OPTS,journal=$T_DIR/open.jsonl" "$MNT"
t_refused "journal readable by others (0644)" "refusing the journal .*open.jsonl: it is readable or writable by group or others \\(mode 0644; run: chmod 600 "
t_is "$(cat "$T_DIR/open.jsonl")" '{"op":"old"}' "journal readable by others: left as it was"
chmod 0640 "$T_DIR/open.jsonl"
msfs_try -f -o "$OPTS,journal=$T_DIR/open.jsonl" "$MNT"
t_refused "journal readable by the group (0640)" "mode 0640"

mkfifo -m 0600 "$T_DIR/fifo.jsonl"
msfs_try -t 10 -f -o "$OPTS,journal=$T_DIR/fifo.jsonl" "$MNT"
t_refused "journal is a FIFO (refused, not waited on)" "refusing the journal .*fifo.jsonl: it is not a regular file"

# No file at all: mounts; deletion is refused, as the snapshot has nowhere
# to go.
msfs_mount cache_ttl=3600 journal=/dev/null || t_bail "cannot mount journal=/dev/null"
E0=$(jq -r '.users[0].email' <<<"$STATE")
fake_reset
t_fails_with EPERM "journal=/dev/null: rmdir users/E fails with EPERM" rmdir "$MNT/users/$(enc "$E0")"
t_cost "journal=/dev/null: nothing sent" "DELETE /v1/users/delete-users=0" "POST /v1/users/delete-users=0"
t_like "$(cat "$MNT/.memberspot/errors")" "no journal file to keep the member's record first" \
	"journal=/dev/null: .memberspot/errors says why"
msfs_unmount

t_done
