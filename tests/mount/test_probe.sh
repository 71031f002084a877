#!/usr/bin/env bash
# memberspotfs --probe (LAYOUT.md "Command line"): one GET of each read
# endpoint, the shape of each answer and the reading the model chose for
# each fact, against both dialects of the fake; "not ready" naming what
# will not work; no value of the school and never the key in the output
# or in the --probe-save files; the saved files served back by the fake's
# --serve-dir give the same report; bad usage is exit status 2.
# shellcheck source=tests/mount/lib.sh
source "$(dirname "$0")/lib.sh"

# Each section names its dialect: the test is the same whatever
# MSFS_DIALECT the suite runs with (an explicit --dialect wins).

# The eight endpoints a full probe reads, as api.c and the fake name them.
PROBE_EPS=("GET /api-auth" "GET /v1/offers"
	"GET /v1/custom-user-properties/list" "GET /v1/users/list"
	"GET /v1/users/find-by-mail" "GET /v1/users/course-progress/list"
	"GET /v1/users/login-token" "GET /v1/exams/results")

# fake_restart ARGS...: stops the running fake, starts another.
fake_restart() {
	if [[ -n $FAKE_PID ]]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
	fake_start "$@"
}

# probe ARGS...: the probe against the running fake (msfs_try's TRY_*).
probe() {
	msfs_try -t 60 --probe -o "api_url=$FAKE_URL,api_key_file=$KEYFILE" "$@"
}

# The report without its latencies, to compare two runs.
normalized() {
	sed -E 's/  [0-9]+ ms$/  N ms/' <<<"$1"
}

# t_probe_ran DESC WANT_STATUS: exit status, stdout's last line is the only
# verdict line, stderr empty, no sanitizer finding. Four points.
t_probe_ran() {
	local desc=$1 want=$2 verdicts
	t_is "$TRY_STATUS" "$want" "$desc: exit status $want" ||
		t_diag "stdout:" "$TRY_OUT" "stderr:" "$TRY_ERR"
	verdicts=$(grep -cE '^(ready|not ready: .*)$' <<<"$TRY_OUT")
	if [[ $verdicts -eq 1 ]] && tail -n 1 <<<"$TRY_OUT" | grep -qE '^(ready$|not ready: )'; then
		t_pass "$desc: one verdict, on the last line"
	else
		t_fail "$desc: one verdict, on the last line" "$TRY_OUT"
	fi
	t_is "$TRY_ERR" "" "$desc: nothing on stderr"
	t_is "$TRY_FINDINGS" "" "$desc: no sanitizer or valgrind finding"
}

# t_lines DESC LINE...: every LINE is a whole line of $TRY_OUT.
t_lines() {
	local desc=$1 line
	local -a missing=()
	shift
	for line in "$@"; do
		grep -qxF -- "$line" <<<"$TRY_OUT" || missing+=("missing: '$line'")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		t_pass "$desc"
	else
		t_fail "$desc" "${missing[@]}" "output:" "$TRY_OUT"
	fi
}

# The school's values, one a line, from the fake's state: emails, uids,
# names, creation times, property values, offer and course ids and names.
# Only values of 5 bytes or more (a shorter one could be part of a key).
school_values() {
	fake_state | jq -r '
		(.users[:30][] | (.email, .uid, .firstname, .name, .createdAt,
			(.customProperties | .[]?))),
		(.offers[] | (.id, .name, (.courses[]? | .id, .name)))
		| strings | select(length >= 5)' | sort -u
}

# t_no_values DESC VALUES_FILE [FILE...]: no value of VALUES_FILE and not
# the key in $TRY_OUT, $TRY_ERR or any FILE.
t_no_values() {
	local desc=$1 values=$2 found
	shift 2
	if [[ ! -s $values ]] || [[ $(wc -l <"$values") -lt 20 ]]; then
		t_fail "$desc" "too few school values to look for: $(wc -l <"$values")"
		return 1
	fi
	found=$({
		printf '%s\n' "$TRY_OUT" "$TRY_ERR"
		[[ $# -eq 0 ]] || cat -- "$@"
	} | grep -F -f "$values" | head -n 5)
	if [[ -n $found ]]; then
		t_fail "$desc" "a school value shows in:" "$found"
		return 1
	fi
	if { printf '%s\n' "$TRY_OUT" "$TRY_ERR"; [[ $# -eq 0 ]] || cat -- "$@"; } |
		grep -qF -- "$T_KEY"; then
		t_fail "$desc" "the API key shows"
		return 1
	fi
	t_pass "$desc"
}

# t_saved DESC DIR N: N files NN-NAME.json, mode 0600, in a 0700 DIR,
# each {endpoint, status, content_type, body|text} naming one of
# PROBE_EPS, and every string in a body a placeholder, "" or a key that
# occurs in the saved answers (a property id or name keying the values).
t_saved() {
	local desc=$1 dir=$2 n=$3 f bad=() eps
	local -a files
	mapfile -t files < <(find "$dir" -maxdepth 1 -type f -name '*.json' | sort)
	[[ ${#files[@]} -eq $n ]] || bad+=("${#files[@]} files, want $n")
	[[ $(stat -c %a "$dir") == 700 ]] || bad+=("$dir: mode $(stat -c %a "$dir")")
	for f in "${files[@]}"; do
		[[ ${f##*/} =~ ^[0-9][0-9]-[a-z-]+\.json$ ]] || bad+=("name ${f##*/}")
		[[ $(stat -c %a "$f") == 600 ]] || bad+=("${f##*/}: mode $(stat -c %a "$f")")
		jq -e 'type == "object" and (.endpoint | type == "string") and
			(.status | type == "number") and (.content_type | type == "string")
			and ((has("body")) != (has("text")))' "$f" >/dev/null ||
			bad+=("${f##*/}: not {endpoint, status, content_type, body|text}")
	done
	eps=$(printf '%s\n' "${PROBE_EPS[@]}" | jq -R . | jq -s .)
	if [[ ${#files[@]} -gt 0 ]]; then
		f=$(jq -s --argjson eps "$eps" '
			([.[].body | .. | objects | keys[]] | unique) as $keys
			| [.[] | select(.endpoint as $e | $eps | index($e) | not) | .endpoint]
			+ [.[].body | .. | strings
			   | select(test("^string-[0-9]+$") or . == "" or
				(. as $s | $keys | index($s)) | not)]' "${files[@]}")
		[[ $f == "[]" ]] || bad+=("unknown endpoint or unredacted string: $f")
	fi
	if [[ ${#bad[@]} -eq 0 ]]; then
		t_pass "$desc"
	else
		t_fail "$desc" "${bad[@]}"
	fi
}

# =====================================================================
# --help
# =====================================================================

msfs_try --help
t_like "$TRY_OUT" '--probe .*--probe-token.*--probe-exam ID.*--probe-save DIR' \
	"--help shows the probe's usage line"
t_like "$TRY_OUT" $'\n    --probe-save DIR ' "--help explains --probe-save"

# =====================================================================
# The guessed dialect (the fake's default)
# =====================================================================

fake_start --dialect guessed --users 20
school_values >"$T_DIR/values.guessed"
fake_reset
probe --probe-token --probe-exam exam-1 --probe-save "$T_DIR/save-guessed"
t_probe_ran "guessed" 0
t_is "$(tail -n 1 <<<"$TRY_OUT")" ready "guessed: ready"
t_lines "guessed: the readings named" \
	"  list envelope: users" \
	"  cursor: nextPage" \
	"  property definitions: bare array" \
	"  offer courses: courses" \
	"  member email/uid: email, uid" \
	"  member created: createdAt" \
	"  member properties: customProperties (keyed by id)" \
	"  member offers: offers" \
	"  member progress: absent" \
	"  login token: token + expiresAt (no loginUrl)"
t_is "$(grep -cE '^[a-z-]+ +GET /[^ ]+  200  [0-9]+ ms$' <<<"$TRY_OUT")" 8 \
	"guessed: eight calls, each answered 200"
t_like "$TRY_OUT" $'\noffers +GET /v1/offers  200  [0-9]+ ms\n  shape: \\[\\{id: string, name: string, courses: \\[\\{id: string, name: string\\}\\]' \
	"guessed: the offers' shape, keys and types"
t_cost "guessed: one request to each read endpoint" \
	"${PROBE_EPS[@]/%/=1}" "total=8"
t_is "$(fake_log | jq -c '[.[] | select(.method != "GET") | .endpoint]')" "[]" \
	"guessed: GETs only"
t_no_values "guessed: no value of the school and not the key, in the report or the files" \
	"$T_DIR/values.guessed" "$T_DIR"/save-guessed/*.json
t_saved "guessed: eight redacted files, 0600 in a 0700 directory" "$T_DIR/save-guessed" 8
t_is "$(jq -r '.body.users[0].uid' "$T_DIR"/save-guessed/04-users-list.json)" \
	"$(jq -r '.body.uid' "$T_DIR"/save-guessed/05-find-by-mail.json)" \
	"guessed: the member's uid has one placeholder in the list and in find-by-mail"
GUESSED_OUT=$(normalized "$TRY_OUT")

fake_restart --serve-dir "$T_DIR/save-guessed"
probe --probe-token --probe-exam exam-1
t_probe_ran "guessed, served back from the saved files" 0
t_is "$(normalized "$TRY_OUT")" "$GUESSED_OUT" \
	"guessed, served back: the same report (latencies aside)"

# =====================================================================
# The evidence dialect
# =====================================================================

fake_restart --dialect evidence --users 20
school_values >"$T_DIR/values.evidence"
probe --probe-token --probe-save "$T_DIR/save-evidence"
t_probe_ran "evidence" 0
t_is "$(tail -n 1 <<<"$TRY_OUT")" ready "evidence: ready"
t_lines "evidence: the readings named" \
	"  list envelope: data" \
	"  cursor: nextPage" \
	"  property definitions: properties" \
	"  offer courses: hasCourseIds" \
	"  member email/uid: email, uid" \
	"  member created: created" \
	"  member properties: customUserProperties (keyed by name)" \
	"  member offers: absent -> derived from offer lists" \
	"  member progress: progress" \
	"  login token: token + loginUrl (no expiresAt)"
t_no_values "evidence: no value of the school and not the key, in the report or the files" \
	"$T_DIR/values.evidence" "$T_DIR"/save-evidence/*.json
t_saved "evidence: seven redacted files" "$T_DIR/save-evidence" 7
EVIDENCE_OUT=$(normalized "$TRY_OUT")

fake_restart --serve-dir "$T_DIR/save-evidence"
probe --probe-token
t_probe_ran "evidence, served back from the saved files" 0
t_is "$(normalized "$TRY_OUT")" "$EVIDENCE_OUT" \
	"evidence, served back: the same report (latencies aside)"

# =====================================================================
# Not ready
# =====================================================================

fake_restart --list-shape items --users 5
probe
t_probe_ran "an unknown list envelope" 1
t_like "$(tail -n 1 <<<"$TRY_OUT")" \
	'^not ready: cannot find the member list in GET /v1/users/list \(keys: items, nextPage\); users/' \
	"an unknown list envelope: not ready, naming the member list and its keys"
t_like "$TRY_OUT" $'\nfind-by-mail +GET /v1/users/find-by-mail  skipped: ' \
	"an unknown list envelope: find-by-mail skipped, the probe went on"

printf 'wrong-%s\n' "$RANDOM$RANDOM" >"$T_DIR/wrong.key"
chmod 600 "$T_DIR/wrong.key"
msfs_try -t 60 --probe -o "api_url=$FAKE_URL,api_key_file=$T_DIR/wrong.key"
t_probe_ran "a rejected key" 1
t_is "$(tail -n 1 <<<"$TRY_OUT")" \
	"not ready: the API rejected the key (HTTP 401); nothing would work" \
	"a rejected key: not ready, said once"
t_like "$TRY_OUT" $'^auth +GET /api-auth  401  [0-9]+ ms\n  failed: HTTP 401: Permission denied\n' \
	"a rejected key: the status and errno text, not the server's message"

# A hostile server: keys with terminal escapes and direction overrides,
# deep nesting, a body that is not JSON, a 404 whose message quotes an
# email back. Keys are shown (escaped), values never.
HOSTILE=$T_DIR/hostile
mkdir -p "$HOSTILE"
printf '%s\n' '{"endpoint": "GET /api-auth", "status": 200, "body": {}}' >"$HOSTILE/01.json"
printf '%s\n' '{"endpoint": "GET /v1/offers", "status": 200, "text": "<html>SECRET-OFFERS</html>"}' >"$HOSTILE/02.json"
printf '%s\n' '{"endpoint": "GET /v1/custom-user-properties/list", "status": 200,
	"body": [{"id": "p1", "name": "Firma", "note": "SECRET-NOTE"}]}' >"$HOSTILE/03.json"
printf '%s\n' '{"endpoint": "GET /v1/users/list", "status": 200, "body": {"users": [
	{"uid": "SECRET-UID", "email": "secret@example.com", "\u001b]0;title\u0007x": "SECRET-ESC",
	 "bidi\u202etxt": 1, "new\nline": [[[[[[[["SECRET-DEEP"]]]]]]]],
	 "customProperties": {"Firma": "SECRET-PROP", "zz-unknown": 3.25}}],
	"nextPage": null}}' >"$HOSTILE/04.json"
printf '%s\n' '{"endpoint": "GET /v1/users/find-by-mail", "status": 404,
	"body": {"statusCode": 404, "message": "User secret@example.com not found"}}' >"$HOSTILE/05.json"
fake_restart --serve-dir "$HOSTILE"
probe --probe-save "$T_DIR/save-hostile"
t_probe_ran "a hostile server" 1
if grep -qP '[\x00-\x08\x0b-\x1f\x7f]|\xe2\x80\xae' <<<"$TRY_OUT"; then
	t_fail "a hostile server: no control character or direction override in the report" \
		"$(cat -A <<<"$TRY_OUT" | grep -P '\^|M-' | head -n 5)"
else
	t_pass "a hostile server: no control character or direction override in the report"
fi
found=$(printf '%s\n' "$TRY_OUT" "$TRY_ERR" |
	grep -F -e SECRET -e secret@ - "$T_DIR"/save-hostile/*.json)
t_is "$found" "" "a hostile server: no value in the report or the files, the 404's message included"
t_lines "a hostile server: what it sent is described, not shown" \
	"  shape: text (26 bytes)" \
	"  failed: HTTP 404: No such file or directory" \
	"  member properties: customProperties (keyed by name; some keys name no property)"
t_like "$TRY_OUT" 'shape: \{users: \[\{uid: string, email: string, "\\u001b\]0;title\\u0007x": string, "bidi\\u202etxt": number, "new\\u000aline": \[\[\[\[\.\.\.\]\]\]\]' \
	"a hostile server: keys escaped and quoted, nesting cut"
t_like "$(tail -n 1 <<<"$TRY_OUT")" \
	'^not ready: GET /v1/offers is not an array of offers \(not JSON\).*; GET /v1/users/find-by-mail answered HTTP 404' \
	"a hostile server: not ready, naming offers and find-by-mail"
t_is "$(jq -r .text "$T_DIR"/save-hostile/02-offers.json)" \
	"xxxxxxxxxxxxxxxxxxxxxxxxxx" "a hostile server: a text answer is saved as x of its length"

# =====================================================================
# Bad usage: exit status 2, one line on stderr, nothing sent
# =====================================================================

# t_usage DESC ARGS...
t_usage() {
	local desc=$1
	shift
	msfs_try "$@"
	t_is "$TRY_STATUS" 2 "$desc: exit status 2"
	t_is "$(printf '%s' "$TRY_ERR" | grep -c '')" 1 "$desc: one line on stderr" ||
		t_diag "$TRY_ERR"
	t_is "$TRY_OUT$TRY_MOUNTED" 0 "$desc: nothing on stdout, nothing mounted"
	t_is "$TRY_FINDINGS" "" "$desc: no sanitizer or valgrind finding"
}

fake_reset
t_usage "--probe with a mountpoint" --probe -o "api_url=$FAKE_URL,api_key_file=$KEYFILE" "$MNT"
t_like "$TRY_ERR" 'mountpoint' "--probe with a mountpoint: says so"
t_usage "an unknown option" --probe --probe-bogus -o "api_url=$FAKE_URL,api_key_file=$KEYFILE"
t_like "$TRY_ERR" 'unknown option.*--probe-bogus' "an unknown option: named"
t_usage "--probe-save without --probe" --probe-save "$T_DIR/x" -o "api_url=$FAKE_URL,api_key_file=$KEYFILE" "$MNT"
t_usage "--probe-exam without its value" --probe -o "api_url=$FAKE_URL,api_key_file=$KEYFILE" --probe-exam
t_cost "bad usage: nothing was sent" "total=0"
[[ ! -e $T_DIR/x ]] && t_pass "bad usage: no save directory made" ||
	t_fail "bad usage: no save directory made"

t_done
