#!/usr/bin/env bash
# The command line (LAYOUT.md "Command line"): --help, --version, the key's
# sources and checks, start-up failures (one clear line on stderr, non-zero
# exit, nothing mounted, within the timeout), daemonizing, and the key never
# showing in ps or the daemon's log; uid=, gid=, umask= that name nothing;
# plain http:// refused unless to this machine or with -o insecure.
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

fake_start --users 10
URL_OPT="api_url=$FAKE_URL"
FINDINGS=
# time allowed beyond -o timeout= for start-up and exit (valgrind is slow)
SLACK=5
[[ $MSFS_VALGRIND != 1 ]] || SLACK=20

# t_start_refused DESC: the last msfs_try failed cleanly at start-up: a
# non-zero exit (not a hang), exactly one line on stderr, nothing mounted.
t_start_refused() {
	local desc=$1 lines
	FINDINGS+=$TRY_FINDINGS
	if [[ $TRY_STATUS == timeout ]]; then
		t_fail "$desc: exits" "still running after the time limit"
	elif [[ $TRY_STATUS -eq 0 ]]; then
		t_fail "$desc: exits non-zero" "exit status 0"
	else
		t_pass "$desc: exits non-zero ($TRY_STATUS)"
	fi
	t_is "$TRY_MOUNTED" 0 "$desc: nothing mounted"
	lines=$(printf '%s' "$TRY_ERR" | grep -c '')
	t_is "$lines" 1 "$desc: one line on stderr" || t_diag "stderr:" "$TRY_ERR"
}

# key file helper: KEY MODE -> path
keyfile() {
	local f=$T_DIR/key.$RANDOM
	(umask 077 && printf '%s\n' "$1" >"$f")
	chmod "$2" "$f"
	printf '%s' "$f"
}

# =====================================================================
# --help, --version
# =====================================================================

msfs_try --help
t_is "$TRY_STATUS" 0 "--help exits 0"
t_like "$TRY_OUT$TRY_ERR" 'api_key_file' "--help mentions api_key_file"
t_is "$TRY_MOUNTED" 0 "--help mounts nothing"

msfs_try --version
t_is "$TRY_STATUS" 0 "--version exits 0"
if [[ -n ${MSFS_VERSION:-} ]]; then
	t_like "$TRY_OUT$TRY_ERR" "${MSFS_VERSION//./\\.}" "--version prints the project version ($MSFS_VERSION)"
else
	t_like "$TRY_OUT$TRY_ERR" '[0-9]+\.[0-9]+' "--version prints a version"
fi

# =====================================================================
# Start-up failures
# =====================================================================

fake_reset
msfs_try -f -o "$URL_OPT" "$MNT"
t_start_refused "no key at all"
t_like "$TRY_ERR" '[Kk][Ee][Yy]' "no key at all: the message is about the key"

msfs_try -f -o "$URL_OPT,api_key_file=$T_DIR/no-such-file" "$MNT"
t_start_refused "api_key_file that does not exist"

f=$(keyfile "wrong-$RANDOM$RANDOM" 600)
fake_reset
msfs_try -f -o "$URL_OPT,api_key_file=$f" "$MNT"
t_start_refused "a key the API rejects"
t_like "$TRY_ERR" '[Kk][Ee][Yy].*([Rr]eject|[Ii]nvalid|[Uu]nauthori[sz]ed|[Dd]enied|401|403)|([Rr]eject|[Ii]nvalid|[Uu]nauthori[sz]ed|[Dd]enied|401|403).*[Kk][Ee][Yy]' \
	"a key the API rejects: stderr says the key was rejected"
t_ok "a key the API rejects: the API was asked (a 401 in the fake's stats)" \
	sh -c '[ "$(curl -sS "$1/_fake/stats" | jq ".by_status[\"401\"] // 0")" -ge 1 ]' _ "$FAKE_URL"

for mode in 644 640 604; do
	f=$(keyfile "$T_KEY" "$mode")
	fake_reset
	msfs_try -f -o "$URL_OPT,api_key_file=$f" "$MNT"
	t_start_refused "api_key_file with mode $mode"
	t_cost "api_key_file with mode $mode: no request sent with it" "total=0"
done

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
msfs_try -t 30 -f -o "api_url=http://127.0.0.1:$port,api_key_file=$KEYFILE,timeout=5" "$MNT"
t_start_refused "an unreachable api_url (closed port)"
t_ok "an unreachable api_url: gives up within the 5 s timeout (took ${TRY_SECS}s)" \
	awk -v s="$TRY_SECS" -v max=$((5 + SLACK)) 'BEGIN { exit !(s < max) }'

fake_config '{"hang_ms": 60000}'
msfs_try -t 40 -f -o "$URL_OPT,api_key_file=$KEYFILE,timeout=3" "$MNT"
fake_config '{"hang_ms": 0}'
t_start_refused "an API that does not answer"
t_ok "an API that does not answer: gives up within the 3 s timeout (took ${TRY_SECS}s)" \
	awk -v s="$TRY_SECS" -v max=$((3 + SLACK)) 'BEGIN { exit !(s < max) }'

msfs_try -f -o "$URL_OPT,api_key_file=$KEYFILE,no_such_option=1" "$MNT"
t_start_refused "an unknown option"

msfs_try -f -o "$URL_OPT,api_key_file=$KEYFILE" "$T_DIR/no-such-dir"
t_start_refused "a mountpoint that does not exist"

# -o uid=,gid=,umask= that name nobody, or no mask: refused before a
# request is sent.
fake_reset
for opt in uid=no-such-user-$RANDOM gid=no-such-group-$RANDOM uid= umask=0999 umask=abc umask=1000 umask=-1; do
	msfs_try -f -o "$URL_OPT,api_key_file=$KEYFILE,$opt" "$MNT"
	t_start_refused "-o $opt"
	t_like "$TRY_ERR" "${opt%%=*}" "-o $opt: the line names ${opt%%=*}" || t_diag "stderr: $TRY_ERR"
done
t_cost "bad uid=, gid= or umask=: no request sent" "total=0"

# =====================================================================
# Plain http:// only to this machine: the key would travel in clear
# =====================================================================

FAKE_PORT=${FAKE_URL##*:}
# Refused before anything is sent, whatever the host. Should that ever
# break, still no packet may leave this machine: the daemon runs in a
# network namespace of its own, with no network at all (unshare -n; not
# under valgrind, which would trace the wrapper's shell instead).
OFFLINE_BIN=$T_DIR/memberspotfs-offline
printf '#!/bin/sh\nexec unshare -n "%s" "$@"\n' "$MSFS_BIN" >"$OFFLINE_BIN"
chmod 755 "$OFFLINE_BIN"
if ! unshare -n true 2>/dev/null; then
	t_skip "api_url=http://OTHER-HOST is refused" "needs unshare -n (root), so that no test can reach another host"
else
	for url in "http://192.0.2.1:$port" "http://example.com" "http://api.memberspot.de" \
		"http://127.0.0.1.example.com:$port" "http://localhost.example.com:$port" \
		"http://127.0.0.1:$port@192.0.2.1:$port" "http://[2001:db8::1]:$port"; do
		MSFS_VALGRIND=0 MSFS_BIN=$OFFLINE_BIN msfs_try -f -o "api_url=$url,api_key_file=$KEYFILE,timeout=5" "$MNT"
		t_start_refused "api_url=$url"
		t_like "$TRY_ERR" "http://.*unencrypted.*https://.*-o insecure" \
			"api_url=$url: the line says the key would go unencrypted, names https:// and -o insecure" ||
			t_diag "stderr: $TRY_ERR"
		t_ok "api_url=$url: refused at once (${TRY_SECS}s)" \
			awk -v s="$TRY_SECS" -v max=$((1 + SLACK)) 'BEGIN { exit !(s < max) }'
	done
	MSFS_VALGRIND=0 MSFS_BIN=$OFFLINE_BIN msfs_try --probe -o "api_url=http://192.0.2.1:$port,api_key_file=$KEYFILE,timeout=5"
	t_is "$TRY_STATUS" 2 "--probe with api_url=http://192.0.2.1: exit status 2 (bad usage)"
	t_like "$TRY_ERR" "unencrypted" "--probe with api_url=http://192.0.2.1: the same line"
fi

# Loopback hosts pass the check: they mount, or fail for another reason.
msfs_try -f -o "api_url=http://localhost:$FAKE_PORT,api_key_file=$KEYFILE" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_MOUNTED" 1 "api_url=http://localhost:PORT mounts" || t_diag "stderr: $TRY_ERR"
t_is "$TRY_ERR" "" "api_url=http://localhost:PORT: no warning"
for url in "http://127.0.0.2:$port" "http://127.255.255.254:$port" "http://[::1]:$port" "http://LOCALHOST:$port"; do
	msfs_try -f -o "api_url=$url,api_key_file=$KEYFILE,timeout=5" "$MNT"
	t_start_refused "api_url=$url (closed port)"
	t_like "$TRY_ERR" "cannot reach" "api_url=$url: loopback, so the http:// check passes; the port is closed" ||
		t_diag "stderr: $TRY_ERR"
done

# -o insecure lets http:// go elsewhere, with a warning. The host is a
# v4-mapped IPv6 address: not one the check takes for loopback, yet it
# reaches the fake on 127.0.0.1, so no packet leaves this machine.
MAPPED_URL="http://[::ffff:127.0.0.1]:$FAKE_PORT"
msfs_try -f -o "api_url=$MAPPED_URL,api_key_file=$KEYFILE" "$MNT"
t_start_refused "api_url=$MAPPED_URL without -o insecure"
t_like "$TRY_ERR" "unencrypted" "api_url=$MAPPED_URL without -o insecure: says why"
msfs_try -f -o "api_url=$MAPPED_URL,api_key_file=$KEYFILE,insecure" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_MOUNTED" 1 "api_url=$MAPPED_URL with -o insecure mounts" || t_diag "stderr: $TRY_ERR"
t_like "$TRY_ERR" '[Ww]arning.*unencrypted.*http://' "with -o insecure: a warning on stderr that the key goes unencrypted"
t_is "$(printf '%s' "$TRY_ERR" | grep -c '')" 1 "with -o insecure: one warning line"

# A key on the command line is never accepted, and not repeated back.
fake_reset
msfs_try -f -o "$URL_OPT,api_key=$T_KEY" "$MNT"
t_start_refused "-o api_key=KEY on the command line"
# (grep -f: the key is never put on a command line by the test itself)
if printf '%s\n%s\n' "$TRY_OUT" "$TRY_ERR" | grep -qF -f "$KEYFILE"; then
	t_fail "-o api_key=KEY: the key is not echoed"
else
	t_pass "-o api_key=KEY: the key is not echoed"
fi
t_cost "-o api_key=KEY: no request was sent with it" "total=0"

# =====================================================================
# Ways that work
# =====================================================================

f=$(keyfile "$T_KEY" 400)
msfs_try -f -o "$URL_OPT,api_key_file=$f" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_MOUNTED" 1 "api_key_file with mode 0400 is accepted" || t_diag "$TRY_ERR"

TRY_ENV_KEY=$T_KEY msfs_try -f -o "$URL_OPT" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_MOUNTED" 1 "the key from MEMBERSPOT_API_KEY is accepted" || t_diag "$TRY_ERR"
t_is "$TRY_STATUS" 0 "foreground daemon exits 0 after fusermount3 -u"

# Without -f: returns 0 once mounted (fstab, scripts), the daemon goes on.
msfs_try -o "$URL_OPT,api_key_file=$KEYFILE" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_STATUS" 0 "without -f: exits 0" || t_diag "$TRY_ERR"
t_is "$TRY_MOUNTED" 1 "without -f: the mount is there when it returns"
left=
for _ in $(seq 50); do
	left=$(pgrep -f -- "$MNT" || true)
	[[ -n $left ]] || break
	sleep 0.2
done
t_is "$left" "" "without -f: the daemon exits after fusermount3 -u"
# shellcheck disable=SC2086 # one or more pids
[[ -z $left ]] || kill $left 2>/dev/null

# The key is in no process's arguments while mounted, nor in the log.
msfs_mount || t_bail "cannot mount"
t_ok "ls the mount" ls "$MNT/offers"
if ps -eww -o args | grep -F -f "$KEYFILE"; then
	t_fail "the key is not in ps output"
else
	t_pass "the key is not in ps output"
fi
msfs_unmount

# =====================================================================
# Mount hygiene: a mount point in use, a journal in use, a dead mount
# =====================================================================

# mounts_at DIR: how many mounts /proc/self/mountinfo lists at DIR.
mounts_at() {
	awk -v m="$1" '$5 == m { n++ } END { print n + 0 }' /proc/self/mountinfo
}

# other_daemon DIR OPTS: starts one more daemon on DIR, as a user would
# (no -f: it returns once mounted, or fails), while the test's own mount
# may be up. Waits at most 30 s. Sets O_STATUS (exit status or
# "timeout"), O_ERR (stderr) and O_ADDED (mounts it added at DIR); a
# mount it added is undone again. Adds no test point.
other_daemon() {
	local dir=$1 opts=$2 before i pid limit=300
	local -a cmd san
	[[ $MSFS_VALGRIND != 1 ]] || limit=1200
	_T_MOUNTS=$((_T_MOUNTS + 1))
	local err=$T_DIR/other.$_T_MOUNTS.err vglog=$T_DIR/valgrind.$_T_MOUNTS.log
	mkdir -p "$dir"
	before=$(mounts_at "$dir")
	mapfile -t cmd < <(_t_daemon_cmd "$vglog")
	env -u MEMBERSPOT_API_KEY "${cmd[@]}" -o "$opts" "$dir" </dev/null \
		>/dev/null 2>"$err" &
	pid=$!
	O_STATUS=timeout
	if _t_wait_exit "$pid" "$limit"; then
		O_STATUS=$_T_EXIT
	fi
	O_ERR=$(cat "$err")
	O_ADDED=$(($(mounts_at "$dir") - before))
	for ((i = 0; i < O_ADDED; i++)); do
		# the topmost mount at DIR: the one just added
		fusermount3 -u "$dir" 2>/dev/null || fusermount3 -u -z "$dir"
	done
	mapfile -t san < <(_t_sanitizer_logs)
	FINDINGS+=$(_t_log_findings "$err" "$vglog" "${san[@]}")
}

# t_other_refused DESC: the last other_daemon failed cleanly at start-up:
# a non-zero exit, nothing mounted, one line on stderr.
t_other_refused() {
	local desc=$1
	if [[ $O_STATUS == timeout || $O_STATUS -eq 0 ]]; then
		t_fail "$desc: exits non-zero" "exit status: $O_STATUS" \
			"stderr: $O_ERR"
	else
		t_pass "$desc: exits non-zero ($O_STATUS)"
	fi
	t_is "$O_ADDED" 0 "$desc: nothing mounted"
	t_is "$(printf '%s' "$O_ERR" | grep -c '')" 1 \
		"$desc: one line on stderr" || t_diag "stderr:" "$O_ERR"
}

JOURNAL_A=$T_DIR/journal-a.jsonl
msfs_mount "journal=$JOURNAL_A" || t_bail "cannot mount"

# A second mount on the same directory (its own journal): refused, and the
# first goes on serving.
other_daemon "$MNT" "$URL_OPT,api_key_file=$KEYFILE,journal=$T_DIR/journal-b.jsonl"
t_other_refused "a second mount on a mount point"
t_like "$O_ERR" "$MNT: it is already a mount point \\(fuse\\.memberspotfs\\)" \
	"a second mount on a mount point: the line names the directory and what is mounted there"
t_ok "a second mount on a mount point: the first mount still serves" ls "$MNT/offers"

# A second daemon with the same journal (on a directory of its own): refused
# and the line names the journal.
other_daemon "$T_DIR/mnt2" "$URL_OPT,api_key_file=$KEYFILE,journal=$JOURNAL_A"
t_other_refused "a second daemon with the same journal"
t_like "$O_ERR" "journal $JOURNAL_A is in use.*-o journal=PATH" \
	"a second daemon with the same journal: the line names the journal and the way out"
t_ok "a second daemon with the same journal: the first mount still serves" \
	ls "$MNT/users"
msfs_unmount

# Once the first daemon exited, its journal takes a mount again.
msfs_try -f -o "$URL_OPT,api_key_file=$KEYFILE,journal=$JOURNAL_A" "$MNT"
FINDINGS+=$TRY_FINDINGS
t_is "$TRY_MOUNTED" 1 "the journal takes a new daemon once the old one exited" ||
	t_diag "$TRY_ERR"

# A mount whose daemon died (SIGKILL): stat gives ENOTCONN; a new mount on
# it says how to clear it, and after fusermount3 -u mounting works.
msfs_mount || t_bail "cannot mount"
kill -KILL "$MSFS_PID"
wait "$MSFS_PID" 2>/dev/null
MSFS_PID=
t_fails_with ENOTCONN "after kill -9 of the daemon, stat of the mount point fails" \
	stat "$MNT"
other_daemon "$MNT" "$URL_OPT,api_key_file=$KEYFILE"
t_other_refused "a mount on a dead mount"
t_like "$O_ERR" "run \`fusermount3 -u $MNT\` first" \
	"a mount on a dead mount: the line says to run fusermount3 -u MOUNTPOINT"
t_ok "fusermount3 -u clears the dead mount" fusermount3 -u "$MNT"
msfs_mount || t_bail "cannot mount after fusermount3 -u"
t_ok "after fusermount3 -u the new mount serves" ls "$MNT/offers"
msfs_unmount

t_is "$FINDINGS" "" "no sanitizer or valgrind findings in any start-up"
t_done
