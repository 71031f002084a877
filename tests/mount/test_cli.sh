#!/usr/bin/env bash
# The command line (LAYOUT.md "Command line"): --help, --version, the key's
# sources and checks, start-up failures (one clear line on stderr, non-zero
# exit, nothing mounted, within the timeout), daemonizing, and the key never
# showing in ps or the daemon's log.
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

t_is "$FINDINGS" "" "no sanitizer or valgrind findings in any start-up"
t_done
