#!/usr/bin/env bash
# Browsing has no side effects: the tools that walk a tree (grep -r, find,
# tar, rsync -a, cp -r, du) cost a warm mount 0 API requests and mint no
# login token. users/E/login-token (a token on every read), progress.json
# and progress/ (rate-limited requests) are not returned by readdir; they
# still open and stat by name, and the README inside the mount says so.
#
# "Warm": users/ listed (the pages cache every record), every user.json
# read, the property definitions read, and one member's offers/ listed
# (in the evidence dialect, where records carry no offers, that is the one
# walk of the per-offer lists that derives every member's offers; nothing
# in the guessed dialect). Each tool's cost is the fake's request count
# while it ran; each has a control that it did read the tree.
#
# Control files (chapters) are write-only today, so tar, cp, rsync and
# grep report them as unreadable and exit non-zero: for exit statuses the
# checks demand only that every complaint names a control file.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=40
fake_start --users "$NUSERS" --seed 11
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }
ALL=$(sj '.users[].email' | enc_lines)
E=$(sj '.users[12].email')
ED=users/$(enc "$E")
TOKEN_EP="GET /v1/users/login-token"

msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT

# =====================================================================
# Warm up
# =====================================================================

t_ok "warm: ls users/" ls -A "$M/users"
t_same_lines "$T_OUT" "$ALL" "users/ lists the fake's $NUSERS members"
t_ok "warm: cat every users/E/user.json" sh -c 'cat "$1"/users/*/user.json >/dev/null' _ "$M"
t_ok "warm: properties.json and users/E/offers/" \
	sh -c 'cat "$1/properties.json" >/dev/null && ls "$1/$2/offers" >/dev/null' _ "$M" "$ED"

# =====================================================================
# What users/E/ lists
# =====================================================================

fake_reset
t_ok "ls -A users/E/" ls -A "$M/$ED"
t_same_lines "$T_OUT" "$(printf '%s\n' user.json offers orders properties properties.json chapters)" \
	"users/E/ lists no login-token, progress.json or progress/"
t_cost "ls -A users/E/ costs 0 requests" "total=0"

# =====================================================================
# The tools, one by one
# =====================================================================

TOKENS=0
B_OUT=$T_DIR/browse.out B_ERR=$T_DIR/browse.err
# complaints ERRFILE: the lines of a tool's stderr that are not about a
# control file (nor the summary line some tools add after such errors).
complaints() {
	grep -v -e '/chapters' -e '/grant' \
		-e '^rsync error: some files/attrs were not transferred' \
		-e '^tar: Exiting with failure status due to previous errors' "$1"
}
# browse DESC CMD...: runs CMD in $M (stdout in $B_OUT, stderr in
# $B_ERR, status in $STATUS) between a reset and a read of the
# fake's counters; two points: it costs 0 requests, and it exited 0 or
# complained only about control files.
browse() {
	local desc=$1
	shift
	fake_reset
	STATUS=0
	(cd "$M" && "$@") >"$B_OUT" 2>"$B_ERR" || STATUS=$?
	TOKENS=$((TOKENS + $(fake_count "$TOKEN_EP")))
	t_cost "$desc on a warm mount costs 0 API requests" "total=0"
	if [[ $STATUS -eq 0 ]] || [[ -s $B_ERR && -z $(complaints "$B_ERR") ]]; then
		t_pass "$desc: exit status $STATUS; any complaint is about a control file"
	else
		t_fail "$desc: exit status $STATUS; any complaint is about a control file" \
			"other complaints:" "$(complaints "$B_ERR" | head -n 10)"
	fi
}
# has_members LIST DESC: LIST (one path a line) holds users/E/user.json
# for every member, and no unlisted name.
has_members() {
	t_same_lines "$(grep -E '(^|/)users/[^/]+/user\.json$' <<<"$1" | sed -E 's|^(.*/)?users/([^/]+)/user\.json$|\2|')" \
		"$ALL" "$2: user.json of all $NUSERS members"
	t_is "$(grep -cE '/(login-token|progress\.json|progress)(/|$)' <<<"$1")" 0 \
		"$2: no login-token, progress.json or progress/"
}

# (every record holds an x: the emails are at example.com/.de/.org)
browse "grep -r x users/" grep -r x users/
has_members "$(cut -d: -f1 "$B_OUT" | sort -u)" "grep -r's matches"

browse "find users" find users
t_is "$STATUS" 0 "find users exits 0"
has_members "$(cat "$B_OUT")" "find users"

# GNU tar reads no file when the archive is /dev/null (it knows that
# device), so the archive is a real file here, as in a backup.
browse "tar cf ARCHIVE users" tar cf "$T_DIR/users.tar" users
has_members "$(tar tf "$T_DIR/users.tar")" "the tar archive"
t_ok "control: the archive holds E's user.json as the mount shows it" \
	sh -c 'tar xOf "$1" "$2/user.json" | cmp -s - "$3/$2/user.json"' _ "$T_DIR/users.tar" "$ED" "$M"

mkdir -p "$T_DIR/rsync"
browse "rsync -a users/ DIR/" rsync -a users/ "$T_DIR/rsync/"
has_members "$(cd "$T_DIR/rsync" && find . | sed 's|^\./|users/|')" "the rsync copy"
t_ok "control: rsync copied E's properties.json" cmp -s "$T_DIR/rsync/$(enc "$E")/properties.json" "$M/$ED/properties.json"

browse "cp -r users DIR" cp -r users "$T_DIR/cp"
has_members "$(cd "$T_DIR" && find cp | sed 's|^cp/|users/|')" "the cp -r copy"
t_ok "control: cp copied E's offers/" diff -r "$T_DIR/cp/$(enc "$E")/offers" "$M/$ED/offers"

browse "du -s users" du -s users
t_is "$STATUS" 0 "du -s users exits 0"
t_like "$(cat "$B_OUT")" '^[0-9]+[[:space:]]+users$' "du printed a size for users"

t_is "$TOKENS" 0 "no login token was minted by any of them ($TOKEN_EP)"

# =====================================================================
# The unlisted names still open and stat by name
# =====================================================================

fake_reset
t_ok "stat users/E/login-token" stat "$M/$ED/login-token"
t_ok "stat users/E/progress.json" stat "$M/$ED/progress.json"
t_ok "stat users/E/progress/" stat "$M/$ED/progress"
t_cost "those stats cost 0 requests (no token, no progress)" "total=0"
fake_reset
t_ok "ls users/E/progress/ lists the member's courses" ls -A "$M/$ED/progress"
COURSES=$T_OUT
t_like "$COURSES" '\.json' "... as COURSE.json files"
t_cost "... without a token or a progress request" "$TOKEN_EP=0" \
	"GET /v1/users/course-progress/list=0" "GET /v1/users/course-progress=0"
fake_reset
t_ok "cat users/E/login-token" cat "$M/$ED/login-token"
t_cost "control: reading login-token by name mints exactly one token" "$TOKEN_EP=1" "total=1"
fake_reset
t_ok "cat users/E/progress.json" jq -e 'type == "array"' "$M/$ED/progress.json"
t_cost "control: reading progress.json by name costs one progress request" \
	"GET /v1/users/course-progress/list=1" "total=1"
c=$(head -n 1 <<<"$COURSES")
if [[ -n $c ]]; then
	t_ok "cat users/E/progress/$c" jq -e .courseId "$M/$ED/progress/$c"
fi

t_ok "the README inside the mount names the unlisted files" \
	sh -c 'grep -q "login-token.*(\*)" "$1" && grep -q "progress.json.*(\*)" "$1" && grep -q "^(\*) not listed" "$1"' _ "$M/README"

msfs_unmount
t_done
