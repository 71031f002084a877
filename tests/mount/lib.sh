# shellcheck shell=bash disable=SC2034
# Mount-test harness: sourced by tests/mount/test_*.sh (bash).
#
# Each test script gets its own temporary directory ($T_DIR), its own fake
# API on a free port and its own mountpoint ($MNT), so scripts can run in
# parallel. Output is TAP; diagnostics are "# " lines. An EXIT trap always
# unmounts (lazily) and stops the daemon and the fake, so nothing stays
# mounted when a script fails or is killed.
#
# Environment (set by tests/mount/meson.build; fallbacks for running a
# script by hand from the source tree):
#   SRC            source root            (default: two levels above this file)
#   BUILD          build root             (default: $SRC/build)
#   MSFS_BIN       the daemon             (default: $BUILD/memberspotfs)
#   MSFS_VALGRIND  1: run the daemon under valgrind
#   MSFS_ASAN      1: the daemon is built with ASan+UBSan (set by
#                  scripts/test): its RSS and speed are not the real ones
#   ASAN_OPTIONS, UBSAN_OPTIONS  passed on, with log_path added (below)
#   MSFS_KEEP_TMP  1: keep $T_DIR (logs, key file) after the script ends
#
# The API key is random per script, lives only in a 0600 file ($KEYFILE),
# in the fake's environment and in $T_KEY (never exported, never printed).

set -uo pipefail
export LC_ALL=C.UTF-8

SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$SRC/build}
MSFS_BIN=${MSFS_BIN:-$BUILD/memberspotfs}
MSFS_VALGRIND=${MSFS_VALGRIND:-0}
MSFS_ASAN=${MSFS_ASAN:-0}

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/msfs-test.XXXXXX")
T_DIR=$(cd "$T_DIR" && pwd -P)
# Sanitizer reports (ASan, LeakSanitizer, UBSan) go to files
# $T_DIR/sanitizer.PID rather than to stderr: a daemon started without -f
# has no stderr after fuse_daemonize, and its leak report comes at exit,
# after its test point. Each report is scanned once (_t_sanitizer_logs).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_DIR/sanitizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_DIR/sanitizer
MNT=$T_DIR/mnt
KEYFILE=$T_DIR/api.key
# The default journal ($XDG_STATE_HOME/memberspotfs/journal.jsonl) is
# locked by the daemon that uses it: each script gets its own, so scripts
# run in parallel and nothing is written to the real user's state.
export XDG_STATE_HOME=$T_DIR/state
T_KEY=
FAKE_URL=
FAKE_PID=
MSFS_PID=
MSFS_LOG=
MSFS_VGLOG=
_T_MOUNTS=0
_T_N=0
_T_FAILED=0
_T_DONE=0

# =====================================================================
# TAP
# =====================================================================

# Prints each argument's lines as "# " diagnostics (at most 40 lines each).
t_diag() {
	local text
	for text in "$@"; do
		printf '%s\n' "$text" | head -n 40 | sed 's/^/# /'
	done
}

# Prints a file as diagnostics, at most its last N lines (default 40).
t_diag_file() {
	local file=$1 lines=${2:-40}
	[[ -s $file ]] || return 0
	tail -n "$lines" -- "$file" | sed 's/^/#   /'
}

t_pass() {
	_T_N=$((_T_N + 1))
	printf 'ok %d - %s\n' "$_T_N" "$1"
}

# t_fail DESC [DIAG...]
t_fail() {
	_T_N=$((_T_N + 1))
	_T_FAILED=$((_T_FAILED + 1))
	printf 'not ok %d - %s%s\n' "$_T_N" "$1" \
		"${MSFS_DIALECT:+ [dialect $MSFS_DIALECT]}"
	shift
	[[ $# -eq 0 ]] || t_diag "$@"
}

t_skip() {
	_T_N=$((_T_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_T_N" "$1" "${2:-}"
}

# Runs CMD quietly (stdout and stderr kept in $T_OUT / $T_ERR).
_t_run() {
	"$@" >"$T_DIR/out" 2>"$T_DIR/err"
}
T_OUT=
T_ERR=

# t_ok DESC CMD...: ok when CMD exits 0.
t_ok() {
	local desc=$1 status=0
	shift
	_t_run "$@" || status=$?
	T_OUT=$(cat "$T_DIR/out")
	T_ERR=$(cat "$T_DIR/err")
	if [[ $status -eq 0 ]]; then
		t_pass "$desc"
		return 0
	fi
	t_fail "$desc" "command: $*" "exit status: $status"
	t_diag_file "$T_DIR/err" 20
	return 1
}

# t_fails DESC CMD...: ok when CMD exits non-zero (any reason).
t_fails() {
	local desc=$1 status=0
	shift
	_t_run "$@" || status=$?
	T_OUT=$(cat "$T_DIR/out")
	T_ERR=$(cat "$T_DIR/err")
	if [[ $status -ne 0 ]]; then
		t_pass "$desc"
		return 0
	fi
	t_fail "$desc" "command: $*" "expected failure, exit status 0"
	return 1
}

# strerror text of an errno name: EINVAL -> "Invalid argument".
t_strerror() {
	python3 -c 'import errno, os, sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$1"
}

# t_fails_with ERRNO_NAME DESC CMD...: ok when CMD fails and its stderr
# contains the strerror text of ERRNO_NAME.
t_fails_with() {
	local name=$1 desc=$2 status=0 text
	shift 2
	text=$(t_strerror "$name") || {
		t_fail "$desc" "unknown errno name $name"
		return 1
	}
	_t_run "$@" || status=$?
	T_OUT=$(cat "$T_DIR/out")
	T_ERR=$(cat "$T_DIR/err")
	if [[ $status -ne 0 ]] && grep -qF -- "$text" "$T_DIR/err"; then
		t_pass "$desc"
		return 0
	fi
	t_fail "$desc" "command: $*" "exit status: $status" \
		"expected failure with: $text ($name)" "stderr:"
	t_diag_file "$T_DIR/err" 20
	return 1
}

# t_is GOT WANT DESC: exact string equality.
t_is() {
	if [[ $1 == "$2" ]]; then
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "got:  $(printf '%s' "$1" | head -c 2000)" \
		"want: $(printf '%s' "$2" | head -c 2000)"
	return 1
}

# t_like GOT REGEX DESC: bash extended regular expression match.
t_like() {
	if [[ $1 =~ $2 ]]; then
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "got:  $(printf '%s' "$1" | head -c 2000)" "want match: $2"
	return 1
}

# t_same_lines GOT WANT DESC: equal as sorted line sets; on failure shows
# the difference (at most 40 lines).
t_same_lines() {
	local got want
	got=$(printf '%s\n' "$1" | sed '/^$/d' | sort)
	want=$(printf '%s\n' "$2" | sed '/^$/d' | sort)
	if [[ $got == "$want" ]]; then
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "diff (- want, + got):" \
		"$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
			grep '^[<>]' | sed 's/^</-/; s/^>/+/' | head -n 40)"
	return 1
}

# t_json_eq GOT_JSON WANT_JSON DESC: equal after jq -S (key order and
# formatting ignored).
t_json_eq() {
	local got want
	got=$(printf '%s' "$1" | jq -S . 2>&1) || {
		t_fail "$3" "got is not JSON: $got" "got: $(printf '%s' "$1" | head -c 500)"
		return 1
	}
	want=$(printf '%s' "$2" | jq -S .)
	if [[ $got == "$want" ]]; then
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "diff (- want, + got):" \
		"$(diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") |
			grep '^[<>]' | sed 's/^</-/; s/^>/+/' | head -n 40)"
	return 1
}

# t_file_is PATH WANT DESC: the file's exact bytes (trailing newlines
# included) equal WANT.
t_file_is() {
	local got
	got=$(cat -- "$1" 2>&1; printf x)
	got=${got%x}
	if [[ $got == "$2" ]]; then
		t_pass "$3"
		return 0
	fi
	t_fail "$3" "got:  $(printf '%q' "$got" | head -c 2000)" \
		"want: $(printf '%q' "$2" | head -c 2000)"
	return 1
}

# t_cost DESC SPEC...: checks the fake's request counters since the last
# fake_reset. SPEC is "ENDPOINT=N", "ENDPOINT<=N", "total=N" or
# "total<=N", e.g. t_cost "cold ls" "GET /v1/users/list=3" "total=3".
t_cost() {
	local desc=$1 stats spec ep op want got
	local re='^(.*[^<=])(<=|=)([0-9]+)$'
	local -a bad=()
	shift
	stats=$(fake_stats) || {
		t_fail "$desc" "cannot read the fake's stats"
		return 1
	}
	for spec in "$@"; do
		if [[ ! $spec =~ $re ]]; then
			bad+=("bad spec: $spec")
			continue
		fi
		ep=${BASH_REMATCH[1]} op=${BASH_REMATCH[2]} want=${BASH_REMATCH[3]}
		if [[ $ep == total ]]; then
			got=$(jq -r '.total // 0' <<<"$stats")
		else
			got=$(jq -r --arg e "$ep" '.by_endpoint[$e] // 0' <<<"$stats")
		fi
		if [[ $op == "=" && $got -ne $want ]] ||
			[[ $op == "<=" && $got -gt $want ]]; then
			bad+=("$ep: $got requests, want $op $want")
		fi
	done
	if [[ ${#bad[@]} -eq 0 ]]; then
		t_pass "$desc"
		return 0
	fi
	# The requests themselves (path with query, status, time), so that a
	# failure that happens only now and then shows what was asked.
	t_fail "$desc" "${bad[@]}" \
		"requests: $(jq -c '.by_endpoint | with_entries(select(.value > 0))' <<<"$stats")" \
		"the last of them:" \
		"$(fake_log | jq -r --argjson n "$(jq -r '.total // 0' <<<"$stats")" \
			'.[-$n:][-30:][] | "\(.t) \(.status) \(.method) \(.path)"' 2>/dev/null)"
	t_diag_status
	return 1
}

# status_count NAME: a counter of the mount's .memberspot/status (0 when
# absent).
status_count() {
	awk -v k="$1:" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' \
		"$MNT/.memberspot/status"
}

# t_diag_status: what the daemon's caches did (hits, misses, renders,
# reads, expiries, the kernel's forgets), as diagnostics of a failure.
t_diag_status() {
	[[ -n ${MNT-} && -r $MNT/.memberspot/status ]] || return 0
	t_diag "daemon status: $(grep -E '^(cache|expired_forgotten|renders|fuse_reads|kernel_forgets)' \
		"$MNT/.memberspot/status" 2>/dev/null | tr '\n' ' ')"
}

# Stops the script with a TAP bail-out (cleanup still runs).
t_bail() {
	printf 'Bail out! %s\n' "$1"
	_T_DONE=1
	exit 1
}

# Prints the plan. Returns the number of failures (at most 254). A
# sanitizer report no test point has looked at yet (a daemon that went on
# after its point) fails one more point here.
t_done() {
	local -a san
	local findings f
	mapfile -t san < <(_t_sanitizer_logs)
	if [[ ${#san[@]} -gt 0 ]] && ! findings=$(_t_log_findings "${san[@]}"); then
		t_fail "no late sanitizer reports" "$findings"
		for f in "${san[@]}"; do
			t_diag_file "$f" 60
		done
	fi
	_T_DONE=1
	printf '1..%d\n' "$_T_N"
	[[ $_T_FAILED -le 254 ]] || return 254
	return "$_T_FAILED"
}

# =====================================================================
# Writing as a program does
# =====================================================================

# write_once PATH < DATA: open(O_WRONLY|O_TRUNC), one write() of all of
# stdin, close(). Prints "ok", or "open|write|close ENAME" for the first
# call that failed (a shell's redirection would hide close() errors);
# exit status 0 only when all succeeded.
write_once() {
	python3 -c '
import errno, os, sys
data = sys.stdin.buffer.read()
name = lambda e: errno.errorcode.get(e.errno, e.errno)
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
except OSError as e:
    print("open", name(e)); sys.exit(1)
failed = None
try:
    os.write(fd, data)
except OSError as e:
    failed = "write %s" % name(e)
try:
    os.close(fd)
except OSError as e:
    failed = failed or "close %s" % name(e)
print(failed or "ok")
sys.exit(1 if failed else 0)
' "$1"
}

# journal_bad_line FILE [FROM]: the first line (from line FROM on) of a
# journal that is not UTF-8 JSON, described; nothing when all are.
journal_bad_line() {
	tail -n +"${2:-1}" "$1" | python3 -c '
import json, sys
for i, line in enumerate(sys.stdin.buffer):
    try:
        json.loads(line.decode("utf-8"))
    except Exception as e:
        print("journal line %d: %s" % (i + 1, e)); break
'
}

# =====================================================================
# Names
# =====================================================================

# The file name of an identifier (LAYOUT.md "Names"): % -> %25,
# / -> %2F, a leading . -> %2E, a control character (0x01-0x1F, 0x7F)
# -> %XX (uppercase hex).
enc() {
	local s=${1//%/%25} c out= i
	local ctl=$'[\x01-\x1f\x7f]'
	s=${s//\//%2F}
	[[ $s != .* ]] || s="%2E${s#.}"
	if [[ $s =~ $ctl ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			[[ ! $c =~ $ctl ]] || printf -v c '%%%02X' "'$c"
			out+=$c
		done
		s=$out
	fi
	printf '%s' "$s"
}

# enc for each line of stdin.
enc_lines() {
	local line
	while IFS= read -r line; do
		enc "$line"
		printf '\n'
	done
}

# =====================================================================
# The fake API
# =====================================================================

_t_curl() {
	curl -sS --fail-with-body --max-time 20 "$@"
}

# fake_start [fake_api.py args...]: starts the fake with a fresh random key,
# speaking the response dialect MSFS_DIALECT ("guessed", the default, or
# "evidence": API.md, "Evidence and dialects"; an explicit --dialect in the
# arguments wins). Bails out when it does not come up within 10 s.
fake_start() {
	local portfile=$T_DIR/fake.port i
	T_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && printf '%s\n' "$T_KEY" >"$KEYFILE")
	# a curl header file, so the key is never on a command line
	(umask 077 && printf 'X-API-KEY: %s\n' "$T_KEY" >"$T_DIR/api.header")
	rm -f "$portfile"
	FAKE_API_KEY=$T_KEY python3 "$SRC/scripts/fake_api.py" --port 0 \
		--port-file "$portfile" --quiet \
		${MSFS_DIALECT:+--dialect "$MSFS_DIALECT"} "$@" \
		</dev/null >"$T_DIR/fake.log" 2>&1 &
	FAKE_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -s $portfile ]] && break
		kill -0 "$FAKE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [[ ! -s $portfile ]]; then
		t_fail "fake API started" "no port file after 10 s (args: $*)"
		t_diag_file "$T_DIR/fake.log"
		t_bail "the fake API did not start"
	fi
	FAKE_URL=http://127.0.0.1:$(cat "$portfile")
}

fake_stats() { _t_curl "$FAKE_URL/_fake/stats"; }
# fake_state_api / fake_user_api EMAIL: like fake_state / fake_user, but
# users, offers and property definitions as the API answers them in the
# fake's dialect (what user.json, offer.json and properties.json show);
# fake_state and fake_user always give the stored ("guessed") shapes, the
# ground truth for what a member holds.
fake_state_api() { _t_curl "$FAKE_URL/_fake/state?view=api"; }
fake_user_api() {
	_t_curl -G --data-urlencode "email=$1" --data-urlencode view=api \
		"$FAKE_URL/_fake/user"
}
# dialect_evidence: true when the fake speaks the evidence dialect.
dialect_evidence() { [[ ${MSFS_DIALECT:-guessed} == evidence ]]; }
fake_reset() { _t_curl -X POST "$FAKE_URL/_fake/reset-stats" >/dev/null; }
fake_log() { _t_curl "$FAKE_URL/_fake/log"; }
fake_state() { _t_curl "$FAKE_URL/_fake/state"; }

# fake_count "GET /v1/users/list": requests to that endpoint (0 when absent).
fake_count() {
	fake_stats | jq -r --arg e "$1" '.by_endpoint[$e] // 0'
}

fake_total() { fake_stats | jq -r '.total // 0'; }

# The endpoints that change the school, as the fake names them.
CHANGE_EPS='["POST /v1/users/grant-user-offer-by-mail",
	"POST /v1/users/set-offer-state", "POST /v1/users/set-order-state",
	"POST /v1/users/set-custom-user-properties",
	"DELETE /v1/users/delete-users", "POST /v1/users/delete-users",
	"POST /v1/chapters/chapter-access/enable"]'

# fake_changes_since N: the change requests (any status) the fake logged
# after its first N log entries: [{"endpoint","status","body"}].
fake_changes_since() {
	fake_log | jq -c --argjson m "$1" --argjson eps "$CHANGE_EPS" '[.[$m:][]
		| select(.endpoint as $e | $eps | index($e)) | {endpoint, status, body}]'
}

# fake_config '{"latency_ms":20}': updates the fake's switches.
fake_config() {
	_t_curl -X POST -H 'Content-Type: application/json' --data-binary "$1" \
		"$FAKE_URL/_fake/config" >/dev/null
}

# fake_user EMAIL: the fake's record of one member (fails when unknown).
fake_user() {
	_t_curl -G --data-urlencode "email=$1" "$FAKE_URL/_fake/user"
}

# fake_api METHOD PATH [curl args...]: a real API call to the fake with the
# key (from the header file, never on the command line). It counts in the
# fake's stats like any request. Retries 429s a few times.
fake_api() {
	local method=$1 path=$2 i out
	shift 2
	for ((i = 0; i < 10; i++)); do
		out=$(curl -sS --max-time 20 -w '\n%{http_code}' -X "$method" \
			-H @"$T_DIR/api.header" -H 'Accept: application/json' \
			"$@" "$FAKE_URL$path") || return 1
		if [[ ${out##*$'\n'} == 429 ]]; then
			sleep 1
			continue
		fi
		printf '%s\n' "${out%$'\n'*}"
		[[ ${out##*$'\n'} == 2* ]]
		return
	done
	return 1
}

# fake_set_property EMAIL PROPERTY_ID VALUE: sets a member's custom
# property through the fake's API (not the mount), with the property-id
# field of the fake's dialect (the evidence dialect refuses propertyId,
# API.md "Evidence and dialects").
fake_set_property() {
	local key=propertyId
	! dialect_evidence || key=id
	fake_api POST /v1/users/set-custom-user-properties \
		-H 'Content-Type: application/json' --data-binary "$(jq -nc \
			--arg e "$1" --arg k "$key" --arg p "$2" --arg v "$3" \
			'{email: $e, properties: [{($k): $p, value: $v}]}')" >/dev/null
}

# URL path segment encoding (every byte but unreserved ones).
urlenc() {
	jq -rn --arg s "$1" '$s | @uri'
}

# =====================================================================
# The daemon
# =====================================================================

_t_mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# The command prefix that runs the daemon (valgrind when asked); its own
# report goes to the file named by $1.
_t_daemon_cmd() {
	if [[ $MSFS_VALGRIND == 1 ]]; then
		# not --quiet: _t_log_findings reads its summary lines
		printf '%s\n' valgrind --leak-check=full \
			--errors-for-leak-kinds=definite --error-exitcode=99 \
			--log-file="$1"
	fi
	printf '%s\n' "$MSFS_BIN"
}

# The sanitizer output written since the last call (see ASAN_OPTIONS at
# the top), one file a line: for each $T_DIR/sanitizer.PID, a copy of its
# bytes not handed out before. A process keeps appending to its file (a
# UBSan report at start-up, a leak report at exit), so the offsets already
# seen are kept in $T_DIR/sanitizer-seen/ (this runs in a subshell).
_t_sanitizer_logs() {
	local f base size off seen=$T_DIR/sanitizer-seen
	mkdir -p "$seen"
	for f in "$T_DIR"/sanitizer.*; do
		[[ -f $f ]] || continue
		base=${f##*/}
		size=$(stat -c %s -- "$f") || continue
		off=$(cat -- "$seen/$base" 2>/dev/null || echo 0)
		[[ $size -gt $off ]] || continue
		tail -c +"$((off + 1))" -- "$f" | head -c "$((size - off))" \
			>"$seen/$base.$off"
		printf '%s\n' "$size" >"$seen/$base"
		printf '%s\n' "$seen/$base.$off"
	done
}

# Findings in a daemon log (sanitizers, valgrind): prints them, returns 1
# when there is any.
_t_log_findings() {
	local file found=0
	for file in "$@"; do
		[[ -s $file ]] || continue
		if grep -nE 'AddressSanitizer|LeakSanitizer|runtime error|ThreadSanitizer' \
			"$file" | head -n 10 | grep .; then
			found=1
		fi
		if grep -nE 'definitely lost: [1-9][0-9,]* bytes' "$file" | grep .; then
			found=1
		fi
		if grep -nE 'ERROR SUMMARY: [1-9][0-9,]* errors' "$file" | grep .; then
			found=1
		fi
	done
	[[ $found -eq 0 ]]
}

# _t_wait_exit PID TENTHS: waits at most TENTHS tenths of a second for
# PID (a child of this shell) to exit, then kills it (SIGKILL). Sets
# _T_EXIT to its exit status; returns 1 when it had to be killed.
_t_wait_exit() {
	local pid=$1 limit=$2 i
	for ((i = 0; i < limit; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	_T_EXIT=0
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || _T_EXIT=$?
		return 1
	fi
	wait "$pid" || _T_EXIT=$?
	return 0
}

# msfs_mount [OPT|-FLAG...]: mounts $MNT in the foreground daemon, in the
# background. Arguments starting with "-" are passed as they are, others
# are added to the -o list after api_url and api_key_file. One test point.
msfs_mount() {
	local opts="api_url=$FAKE_URL,api_key_file=$KEYFILE" flags=() a i limit
	local -a cmd
	for a in "$@"; do
		if [[ $a == -* ]]; then flags+=("$a"); else opts+=",$a"; fi
	done
	_t_require_bin
	_T_MOUNTS=$((_T_MOUNTS + 1))
	MSFS_LOG=$T_DIR/daemon.$_T_MOUNTS.log
	MSFS_VGLOG=$T_DIR/valgrind.$_T_MOUNTS.log
	mkdir -p "$MNT"
	mapfile -t cmd < <(_t_daemon_cmd "$MSFS_VGLOG")
	"${cmd[@]}" -f "${flags[@]}" -o "$opts" "$MNT" </dev/null \
		>"$MSFS_LOG" 2>&1 &
	MSFS_PID=$!
	limit=150
	[[ $MSFS_VALGRIND != 1 ]] || limit=600
	for ((i = 0; i < limit; i++)); do
		_t_mounted "$MNT" && break
		kill -0 "$MSFS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if _t_mounted "$MNT" && kill -0 "$MSFS_PID" 2>/dev/null; then
		t_pass "mounted ($*)"
		return 0
	fi
	if kill -0 "$MSFS_PID" 2>/dev/null; then
		t_fail "mounted ($*)" "not mounted after $((limit / 10)) s"
		kill "$MSFS_PID" 2>/dev/null
	else
		local status=0
		wait "$MSFS_PID" || status=$?
		t_fail "mounted ($*)" "the daemon exited with status $status; its log:"
	fi
	t_diag_file "$MSFS_LOG"
	t_diag_file "$MSFS_VGLOG"
	_t_mounted "$MNT" && fusermount3 -u -z "$MNT" 2>/dev/null
	MSFS_PID=
	return 1
}

# msfs_unmount: unmounts, waits for the daemon and checks how it ended.
# Three test points: exit status 0, log clean (sanitizers, valgrind), and
# the API key absent from the log.
msfs_unmount() {
	local i status=0 limit=100 findings f
	local -a san
	[[ $MSFS_VALGRIND != 1 ]] || limit=600
	if _t_mounted "$MNT"; then
		for ((i = 0; i < 20; i++)); do
			fusermount3 -u "$MNT" 2>/dev/null && break
			sleep 0.25
		done
		_t_mounted "$MNT" && fusermount3 -u -z "$MNT"
	fi
	if [[ -n $MSFS_PID ]]; then
		_t_wait_exit "$MSFS_PID" "$limit" ||
			t_diag "daemon still running $((limit / 10)) s after unmount: SIGKILL"
		status=$_T_EXIT
		MSFS_PID=
	fi
	if [[ $status -eq 0 ]]; then
		t_pass "daemon exited with status 0"
	else
		t_fail "daemon exited with status 0" "exit status: $status"
		t_diag_file "$MSFS_LOG"
	fi
	mapfile -t san < <(_t_sanitizer_logs)
	if findings=$(_t_log_findings "$MSFS_LOG" "$MSFS_VGLOG" "${san[@]}"); then
		t_pass "daemon log clean"
	else
		t_fail "daemon log clean" "$findings"
		for f in "$MSFS_LOG" "$MSFS_VGLOG" "${san[@]}"; do
			t_diag_file "$f" 60
		done
	fi
	if [[ -n $T_KEY ]] && grep -qF -- "$T_KEY" "$MSFS_LOG" 2>/dev/null; then
		t_fail "API key not in the daemon log"
	else
		t_pass "API key not in the daemon log"
	fi
}

# msfs_try [-t SECONDS] ARGS...: runs "$MSFS_BIN ARGS..." and waits at
# most SECONDS (default 20) for it to exit or to mount $MNT. A mount it
# made is undone at once (fusermount3 -u, then the daemon gets 10 s to
# exit). MEMBERSPOT_API_KEY is removed from its environment unless
# TRY_ENV_KEY is set (then it holds that key). Sets
#   TRY_STATUS   exit status, or "timeout" when it neither exited nor mounted
#   TRY_OUT      stdout text      TRY_ERR  stderr text
#   TRY_SECS     seconds until it exited or mounted
#   TRY_MOUNTED  1 when $MNT got mounted
#   TRY_FINDINGS sanitizer/valgrind findings (empty when clean)
# Adds no test point.
msfs_try() {
	local limit=20 i t0 pid status=0
	local -a cmd san envs=(-u MEMBERSPOT_API_KEY)
	if [[ ${1:-} == -t ]]; then
		limit=$2
		shift 2
	fi
	[[ $MSFS_VALGRIND != 1 ]] || limit=$((limit * 4))
	[[ -z ${TRY_ENV_KEY:-} ]] || envs=(MEMBERSPOT_API_KEY="$TRY_ENV_KEY")
	_t_require_bin
	mkdir -p "$MNT"
	_T_MOUNTS=$((_T_MOUNTS + 1))
	local out=$T_DIR/try.$_T_MOUNTS.out err=$T_DIR/try.$_T_MOUNTS.err
	local vglog=$T_DIR/valgrind.$_T_MOUNTS.log
	mapfile -t cmd < <(_t_daemon_cmd "$vglog")
	TRY_MOUNTED=0
	TRY_STATUS=timeout
	t0=$EPOCHREALTIME
	env "${envs[@]}" "${cmd[@]}" "$@" </dev/null >"$out" 2>"$err" &
	pid=$!
	for ((i = 0; i < limit * 10; i++)); do
		_t_mounted "$MNT" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	TRY_SECS=$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
	if ! _t_mounted "$MNT" && ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || status=$?
		TRY_STATUS=$status
		# a daemonizing parent may exit just before the mount shows
		if [[ $status -eq 0 ]]; then
			for ((i = 0; i < 10; i++)); do
				_t_mounted "$MNT" && break
				sleep 0.1
			done
		fi
	fi
	if _t_mounted "$MNT"; then
		TRY_MOUNTED=1
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT"
	fi
	if [[ $TRY_STATUS == timeout ]]; then
		# mounted (then unmounted above: it should exit now) or hung
		if _t_wait_exit "$pid" "$((TRY_MOUNTED * 100))"; then
			TRY_STATUS=$_T_EXIT
		fi
	fi
	TRY_OUT=$(cat "$out")
	TRY_ERR=$(cat "$err")
	mapfile -t san < <(_t_sanitizer_logs)
	TRY_FINDINGS=$(_t_log_findings "$err" "$vglog" "${san[@]}")
}

# =====================================================================
# Cleanup
# =====================================================================

_t_cleanup() {
	local status=$?
	set +e
	if [[ $_T_DONE -eq 0 ]]; then
		t_fail "the test script ran to its end" \
			"it stopped early (exit status $status)"
		printf '1..%d\n' "$_T_N"
		[[ $status -ne 0 ]] || status=1
	fi
	if [[ -d $MNT ]] && _t_mounted "$MNT"; then
		fusermount3 -u -z "$MNT" 2>/dev/null
	fi
	local pid
	for pid in $MSFS_PID $FAKE_PID; do
		kill "$pid" 2>/dev/null || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	if [[ ${MSFS_KEEP_TMP:-0} == 1 ]]; then
		echo "# kept $T_DIR"
	elif [[ -d $MNT ]] && _t_mounted "$MNT"; then
		echo "# $MNT is still mounted: $T_DIR left in place"
	else
		rm -rf --one-file-system -- "$T_DIR"
	fi
	exit "$status"
}
trap _t_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# Every script needs these; say clearly what is missing.
_t_require() {
	local tool
	for tool in python3 curl jq fusermount3; do
		command -v "$tool" >/dev/null || t_bail "missing tool: $tool"
	done
	[[ -f $SRC/scripts/fake_api.py ]] || t_bail "missing $SRC/scripts/fake_api.py"
	[[ -c /dev/fuse ]] || t_bail "no /dev/fuse"
	if [[ $MSFS_VALGRIND == 1 ]]; then
		command -v valgrind >/dev/null || t_bail "MSFS_VALGRIND=1 but no valgrind"
	fi
}
_t_require

# Checked when the daemon is first needed, so the harness itself can be
# exercised without a build.
_t_require_bin() {
	[[ -x $MSFS_BIN ]] || t_bail "no daemon at $MSFS_BIN (build first)"
}
