#!/usr/bin/env bash
# Backups and copies of the tree (LAYOUT.md "Rules": control files 0600 and
# read as empty; a file's mtime and ctime are when its content last changed
# as the mount saw it, a directory's when its listing changed), with the
# real tools: rsync -a, find -newer, grep -r, tar, cp -r.
#
# The heart of it: rsync -a the members to a local directory, change a
# value on the server to another of the same length (so only the mtime can
# tell rsync), refresh, rsync -a again: the new value is copied.
#
# Both response dialects of the fake (MSFS_DIALECT). Every expected value
# comes from the fake, never from the code under test.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

for tool in rsync tar find grep cp stat; do
	command -v "$tool" >/dev/null || t_bail "missing tool: $tool"
done

fake_start --users 6 --seed 14
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

# The member whose Company changes: one with an offer (so its directory has
# offers, progress files and courses), and another member, unchanged.
E=$(sj 'first(.users[] | select((.offers | length) >= 1) | .email)')
F=$(sj --arg e "$E" 'first(.users[] | select(.email != $e and (.offers | length) >= 1) | .email)')
[[ -n $E && -n $F ]] || t_bail "no suitable members in the fake's data"
PID=$(sj 'first(.properties[] | select(.name == "Company") | .id)')
O=$(sj '.offers[0].id')
[[ -n $PID && -n $O ]] || t_bail "no Company property or no offer in the fake's data"
company() { fake_user "$E" | jq -r --arg p "$PID" '.customProperties[$p] // empty'; }

fake_set_property "$E" "$PID" "AAAA GmbH" || t_bail "cannot set Company through the fake's API"
[[ $(company) == "AAAA GmbH" ]] || t_bail "the fake did not take Company"

T0=$(date +%s.%N)
msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT
D=$M/users/$(enc "$E")
DF=$M/users/$(enc "$F")
COPY=$T_DIR/copy
mkdir -p "$COPY"

# ns since 1970 of a file's mtime / ctime
mtime() { stat -c '%.9Y' -- "$1" | tr -d .; }
ctime() { stat -c '%.9Z' -- "$1" | tr -d .; }
ns() { printf '%s' "${1/./}"; }

# =====================================================================
# 1. Control files: 0600, read as empty, reading costs nothing
# =====================================================================

CONTROL=("offers/$(enc "$O")/grant" "users/$(enc "$E")/chapters" .memberspot/refresh)
# the member and the offers are cached: their files cost nothing now
ls -l "$D" "$M/offers/$(enc "$O")" >/dev/null
fake_reset
for f in "${CONTROL[@]}"; do
	t_is "$(stat -c '%a %s' "$M/$f")" "600 0" "$f: mode 0600, size 0"
	t_ok "$f: cat exits 0" cat "$M/$f"
	t_is "$T_OUT" "" "$f: reads as empty"
done
t_cost "reading the control files sends nothing" "total=0"
res=$(python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.write(fd, b"/users/nobody")  # a line not finished yet
print(repr(os.read(fd, 100)), os.fstat(fd).st_size, oct(os.fstat(fd).st_mode & 0o777))
os.close(fd)
' "$M/.memberspot/refresh" 2>&1)
t_is "$res" "b'' 0 0o600" \
	".memberspot/refresh opened read-write: an unfinished line is not read back, size 0, mode 0600"
t_like "$(cat "$M/README")" "grant, chapters and .memberspot/refresh only take writes: they read" \
	"the README inside the mount says control files read as empty"

# =====================================================================
# 2. Times: first sightings show the mount's start, and stay
# =====================================================================

# The mount started after T0 and before T1 (it answers nothing before its
# start); a stat at T1 that gave "now" would be later.
sleep 1.1
T1=$(date +%s.%N)
m1=$(mtime "$DF/user.json")
t_ok "a member's user.json first seen: mtime at the mount's start, not at the stat ($T0 .. $T1, got $m1)" \
	test "$m1" -ge "$(ns "$T0")" -a "$m1" -le "$(ns "$T1")"
t_is "$(ctime "$DF/user.json")" "$m1" "its ctime is its mtime"
t_is "$(mtime "$M/users")" "$m1" "users/: the same time (a directory first seen)"
sleep 1.1
t_is "$(mtime "$DF/user.json")" "$m1" "a second stat a second later: the same mtime"
cat "$DF/user.json" >/dev/null
t_is "$(mtime "$DF/user.json")" "$m1" "and after a read (unchanged content): the same"
ls "$M/users" >/dev/null
t_is "$(mtime "$M/users")" "$m1" "a listing of users/ that did not change: the same"

# =====================================================================
# 3. rsync -a, a change of the same length on the server, rsync -a again
# =====================================================================

t_ok "rsync -a users/ to a local directory exits 0" rsync -a "$M/users/" "$COPY/"
C=$COPY/$(enc "$E")
t_file_is "$C/properties/Company" $'AAAA GmbH\n' "the copy holds Company AAAA GmbH"
t_is "$(find "$COPY" -name chapters -type f -size 0 | wc -l)" \
	"$(sj '.users | length')" "every member's chapters is copied, empty"
t_is "$(find "$COPY" -mindepth 1 -maxdepth 1 -type d | wc -l)" \
	"$(sj '.users | length')" "one directory per member copied"

touch "$T_DIR/marker"
fake_set_property "$E" "$PID" "BBBB GmbH" || t_fail "Company changed through the fake's API"
t_is "$(company)" "BBBB GmbH" "the server holds BBBB GmbH (same length)"
t_file_is "$D/properties/Company" $'AAAA GmbH\n' "the mount still shows its cached AAAA GmbH"
echo / >"$M/.memberspot/refresh"
t_file_is "$D/properties/Company" $'BBBB GmbH\n' "after refresh the mount shows BBBB GmbH"
t_ok "rsync -a again exits 0" rsync -a "$M/users/" "$COPY/"
t_file_is "$C/properties/Company" $'BBBB GmbH\n' \
	"rsync -a copied the new value (same size: only the mtime tells)"
t_ok "the copied user.json is the mount's" cmp "$C/user.json" "$D/user.json"
t_ok "the copied properties.json is the mount's" cmp "$C/properties.json" "$D/properties.json"
t_is "$(stat -c %Y "$C/properties/Company")" "$(stat -c %Y "$D/properties/Company")" \
	"the copy's mtime is the mount's"

got=$(cd "$M/users" && find . -newer "$T_DIR/marker" | sort)
want=$(printf './%s\n' "$(enc "$E")/user.json" "$(enc "$E")/properties.json" \
	"$(enc "$E")/properties/Company" | sort)
t_is "$got" "$want" "find -newer: exactly the three files whose content changed"
f=$D/properties/Company
t_is "$(ctime "$f")" "$(mtime "$f")" "the changed file's ctime is its mtime"
t_ok "its mtime is after the change was made" test "$(mtime "$f")" -gt "$(mtime "$T_DIR/marker")"
sleep 1.1
t_is "$(mtime "$f")" "$(mtime "$f")" "and it stays"
m2=$(mtime "$f")
echo / >"$M/.memberspot/refresh"
t_is "$(mtime "$f")" "$m2" "a refresh that fetches the same content does not move it"
t_ok "a third rsync -a exits 0" rsync -a --itemize-changes "$M/users/" "$COPY/"
# progress files (still listed in users/E/, LAYOUT.md wants them unlisted)
# show size 0 until their rate-limited content is fetched, and the refresh
# dropped it: rsync sees another size and copies them. Not asserted here.
t_is "$(grep '^>f' "$T_DIR/out" | grep -cv '/progress[./]')" 0 \
	"and copies no other file: nothing changed" || t_diag "$(cat "$T_DIR/out")"

# =====================================================================
# 4. Directory mtimes move when their listing changes
# =====================================================================

touch "$T_DIR/marker2"
NEW=backup-new@example.com
fake_api POST /v1/users/grant-user-offer-by-mail -H 'Content-Type: application/json' \
	--data-binary "$(jq -nc --arg e "$NEW" --arg o "$O" '{email: $e, grantOffer: $o, firstname: "N", name: "N"}')" \
	>/dev/null || t_fail "a member created through the fake's API"
echo / >"$M/.memberspot/refresh"
t_is "$(cd "$M" && find . -maxdepth 1 -newer "$T_DIR/marker2")" "" \
	"before anything is listed, no directory looks changed"
ls "$M/users" "$M/offers" >/dev/null
t_is "$(cd "$M" && find . -maxdepth 1 -newer "$T_DIR/marker2")" "./users" \
	"after listing: users/ (a member more) is newer, offers/ and the root are not"
t_ok "rsync -a exits 0 and copies the new member" rsync -a "$M/users/" "$COPY/"
t_ok "the new member's user.json is in the copy" cmp "$COPY/$(enc "$NEW")/user.json" \
	"$M/users/$(enc "$NEW")/user.json"

# =====================================================================
# 5. A change made through the mount: now, without waiting for a listing
# =====================================================================

touch "$T_DIR/marker3"
t_is "$(write_once "$D/properties/Company" <<<"CCCC GmbH")" ok "Company written through the mount"
t_is "$(company)" "CCCC GmbH" "the server holds it"
t_ok "properties/Company is newer than before the write" \
	test "$(mtime "$D/properties/Company")" -gt "$(mtime "$T_DIR/marker3")"
got=$(cd "$D" && find . -newer "$T_DIR/marker3" | sort)
t_is "$got" "$(printf '%s\n' ./properties.json ./properties/Company ./user.json)" \
	"find -newer: Company and the two files that show it"
t_is "$(cd "$DF" && find . -newer "$T_DIR/marker3")" "" "another member: nothing newer"
t_is "$(cd "$M" && find users by-status/active "offers/$(enc "$O")/members" \
	-maxdepth 0 -newer "$T_DIR/marker3")" "" \
	"the listings that show the member: not newer (a value is no name more or less)"

# Created through the mount: a scratch file and a pending member are new
# now, and so are their directories, before anything lists them.
sleep 0.1
touch "$T_DIR/marker4"
t_ok "a scratch file created in users/E/" touch "$D/notes.txt"
t_ok "notes.txt: mtime after its creation" \
	test "$(mtime "$D/notes.txt")" -gt "$(mtime "$T_DIR/marker4")"
t_ok "users/E/: mtime after it (a name more), with no listing" \
	test "$(mtime "$D")" -gt "$(mtime "$T_DIR/marker4")"
m3=$(mtime "$D/notes.txt")
sleep 0.1
printf 'x\n' >>"$D/notes.txt"
t_ok "written to: its mtime moves again" test "$(mtime "$D/notes.txt")" -gt "$m3"
t_ok "rm notes.txt" rm "$D/notes.txt"
P=$M/users/backup-pending@example.com
t_ok "mkdir users/PENDING (a pending member)" mkdir "$P"
t_ok "users/PENDING: mtime after its creation" \
	test "$(mtime "$P")" -gt "$(mtime "$T_DIR/marker4")"
t_ok "users/: mtime after it, with no listing" \
	test "$(mtime "$M/users")" -gt "$(mtime "$T_DIR/marker4")"
t_ok "rmdir users/PENDING" rmdir "$P"

# =====================================================================
# 6. grep -r, tar, cp -r of a member's directory
# =====================================================================

MARK=$(fake_log | jq length)
t_ok "grep -r over a member's directory exits 0" grep -r -- "CCCC GmbH" "$D"
t_like "$T_OUT" "properties/Company:CCCC GmbH" "grep -r finds the value in properties/Company"
t_ok "grep -r '' (every line of every file) of a member's directory exits 0" grep -r -- '' "$D"
t_ok "tar cf of a member's directory exits 0" tar cf "$T_DIR/m.tar" -C "$M/users" "$(enc "$E")"
t_is "$(tar tvf "$T_DIR/m.tar" | awk '$NF ~ /\/chapters$/ { print $1, $3 }')" "-rw------- 0" \
	"the archive holds chapters: 0600, empty"
t_ok "tar xf of that archive exits 0" tar xf "$T_DIR/m.tar" -C "$T_DIR"
t_ok "tar's properties.json is the mount's" cmp "$T_DIR/$(enc "$E")/properties.json" \
	"$D/properties.json"
t_ok "cp -r of a member's directory exits 0" cp -r "$D" "$T_DIR/cp"
t_ok "cp's user.json is the mount's" cmp "$T_DIR/cp/user.json" "$D/user.json"
t_is "$(stat -c %s "$T_DIR/cp/chapters")" 0 "cp's chapters is empty"
t_ok "cp -a of the member (times kept) exits 0" cp -a "$D" "$T_DIR/cpa"
t_is "$(stat -c %Y "$T_DIR/cpa/properties/Company")" "$(stat -c %Y "$D/properties/Company")" \
	"cp -a keeps the content-change time"

t_is "$(fake_changes_since "$MARK")" "[]" "grep -r, tar, cp -r: no change request"

# =====================================================================
# 7. Members added or removed through the mount: the listings that show
#    them move at the change, so a walk that starts after it is stable
# =====================================================================

# tar_ok DESC DIR...: tar of DIRs (relative to the mount) exits 0 and never
# says "changed as we read it" (it compares a directory's times before and
# after reading it).
tar_ok() {
	local desc=$1
	shift
	t_ok "$desc" tar cf "$T_DIR/walk.tar" -C "$M" "$@" &&
		t_is "$(grep -c 'changed as we read it' "$T_DIR/err")" 0 \
			"$desc: no \"changed as we read it\""
}
OD=offers/$(enc "$O")/members
NEW2=backup-grant@example.com
# Every listing walked below is known (listed) before the change.
ls "$M/users" "$M/$OD" "$M/by-status/active" >/dev/null
sleep 1.1 # the kernel's cached attributes (1 s) of the listings expire
touch "$T_DIR/marker5"
sleep 0.1
t_ok "a grant through the mount creates a member" \
	sh -c 'printf "%s,Ada,Lovelace\n" "$2" >>"$1"' _ "$M/offers/$(enc "$O")/grant" "$NEW2"
t_ok "users/: mtime after the grant, with no listing since" \
	test "$(mtime "$M/users")" -gt "$(mtime "$T_DIR/marker5")"
t_same_lines "$(cd "$M" && find . users "$OD" offers by-status by-status/active \
	-maxdepth 0 -newer "$T_DIR/marker5")" \
	"$(printf '%s\n' users "$OD" by-status/active)" \
	"find -newer: users/, offers/O/members and by-status/active (a member more), not offers/, by-status/ nor the root"
tar_ok "tar cf users after the grant exits 0" users
tar_ok "tar cf offers/O/members after the grant exits 0" "$OD"
tar_ok "tar cf by-status after the grant exits 0" by-status
m5=$(mtime "$M/users")
ls "$M/users" >/dev/null
t_is "$(mtime "$M/users")" "$m5" "a listing after the grant keeps the time the grant gave"

sleep 0.1
touch "$T_DIR/marker6"
sleep 0.1
t_ok "rm -r users/NEW deletes the member" rm -r "$M/users/$(enc "$NEW2")"
t_ok "users/: mtime after the deletion, with no listing since" \
	test "$(mtime "$M/users")" -gt "$(mtime "$T_DIR/marker6")"
t_ok "offers/O/members: mtime after the deletion, with no listing since" \
	test "$(mtime "$M/$OD")" -gt "$(mtime "$T_DIR/marker6")"
tar_ok "tar cf users after the deletion exits 0" users
tar_ok "tar cf offers after the deletion exits 0" offers
tar_ok "tar cf by-status after the deletion exits 0" by-status

msfs_unmount
t_done
