#!/usr/bin/env bash
# Self-test of scripts/fake_api.py, the fake Memberspot API.
#
# Starts the fake on a free port (--port 0 --port-file), exercises every API
# endpoint and every /_fake/ control endpoint with curl + jq, and prints TAP
# ("ok N - ..." / "not ok N - ...", plan line at the end).  Exits non-zero on
# any failure.  Every server it starts is stopped on exit (trap).
#
# The API key is random per run, handed to the server through FAKE_API_KEY
# and to curl through a header file (-H @file), so it never shows in argv or
# in the output.
#
# Usage: tests/fake_api_selftest.sh      (FAKE_API=path overrides the script;
#                                         SKIP_BIG=1 skips the 100k-user checks)
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
FAKE=${FAKE_API:-$HERE/../scripts/fake_api.py}
for tool in curl jq python3; do
    command -v "$tool" >/dev/null || { echo "Bail out! $tool is not installed"; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fake_api_selftest.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf 'X-API-KEY: %s\n' "$KEY" >"$WORK/keyhdr"
printf 'X-API-KEY: wrong-%s\n' "$RANDOM" >"$WORK/badkeyhdr"

# ---- TAP ---------------------------------------------------------------

N=0
FAILED=0
pass() { N=$((N + 1)); echo "ok $N - $1"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; }
check() { # check DESC COMMAND...: pass when COMMAND succeeds
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# ---- HTTP helpers --------------------------------------------------------

# start_server NAME ARGS...: starts a fake, sets $BASE_<NAME>-style globals
# via SERVER_PID / SERVER_BASE; its stderr goes to $WORK/NAME.err.
start_server() {
    local name=$1 i
    shift
    rm -f "$WORK/$name.port"
    FAKE_API_KEY="$KEY" python3 "$FAKE" --port 0 --port-file "$WORK/$name.port" \
        "$@" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for i in $(seq 200); do
        [ -s "$WORK/$name.port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    [ -s "$WORK/$name.port" ] || return 1
    SERVER_BASE="http://127.0.0.1:$(cat "$WORK/$name.port")"
}

# req METHOD PATH [JSON]: API request with the key. Sets ST (HTTP status) and
# RC (curl exit code); body in $WORK/body, headers in $WORK/hdr.
req() { _curl "$WORK/keyhdr" "$@"; }
# noauth METHOD PATH [JSON]: the same without a key.
noauth() { _curl "" "$@"; }
# ctl METHOD PATH [JSON]: a control request (no key).
ctl() { _curl "" "$@"; }
_curl() {
    local hdrfile=$1 method=$2 path=$3 data=${4-}
    local args=(-sS -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$method"
        --max-time "${MAXTIME:-10}")
    [ -n "$hdrfile" ] && args+=(-H @"$hdrfile")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    : >"$WORK/body"
    ST=$(curl "${args[@]}" "$BASE$path" 2>"$WORK/curlerr")
    RC=$?
}

# multi FORMAT URL...: fetch every URL in one curl (one connection, with the
# key), printing FORMAT (a curl -w format) after each, space-separated.
multi() {
    local format=$1 args=() url
    shift
    for url in "$@"; do args+=(-o /dev/null "$url"); done
    curl -sS -H @"$WORK/keyhdr" -w "$format " "${args[@]}"
}

jb() { jq -e "$@" "$WORK/body" >/dev/null 2>&1; }  # jq filter on the body is truthy
enc() { jq -rn --arg s "$1" '$s|@uri'; }           # percent-encode one segment

# expect STATUS DESC [JQ-FILTER [JQ ARGS...]]
expect() {
    local want=$1 desc=$2
    shift 2
    if [ "$ST" != "$want" ]; then
        fail "$desc (status $ST, want $want; $(head -c 200 "$WORK/body"))"
    elif [ $# -gt 0 ] && ! jq -e "$@" "$WORK/body" >/dev/null 2>&1; then
        fail "$desc (body: $(head -c 300 "$WORK/body"))"
    else
        pass "$desc"
    fi
}

# nest_error STATUS KIND: NestJS error shape; KIND string|array for message
nest_error() {
    local status=$1 kind=$2
    jb --argjson s "$status" --arg k "$kind" \
        '.statusCode == $s and (.message|type) == $k and (.error|type) == "string"'
}

# walk SHAPE PAGELEN QUERY: follows the cursor through users/list, uids to
# $WORK/walk; returns non-zero on any non-200 page.
walk() {
    local shape=$1 pl=$2 query=$3 cursor="" pages=0 path count
    : >"$WORK/walk"
    while [ $pages -lt 100000 ]; do
        path="/v1/users/list?pageLength=$pl$query"
        [ -n "$cursor" ] && path+="&lastLoadedId=$(enc "$cursor")"
        req GET "$path"
        [ "$ST" = 200 ] || return 1
        pages=$((pages + 1))
        case $shape in
        users) jq -r '.users[].uid' "$WORK/body" >>"$WORK/walk"
            cursor=$(jq -r '.nextPage // empty' "$WORK/body") ;;
        next_page) jq -r '.users[].uid' "$WORK/body" >>"$WORK/walk"
            cursor=$(jq -r '.next_page // empty' "$WORK/body") ;;
        array) jq -r '.[].uid' "$WORK/body" >>"$WORK/walk"
            count=$(jq length "$WORK/body")
            cursor=$( [ "$count" -lt "$pl" ] || jq -r '.[-1].uid // empty' "$WORK/body") ;;
        esac
        [ -z "$cursor" ] && return 0
    done
    return 1
}

# expected JQ-SELECT [ARGS...]: uids of /_fake/state users passing a select
expected() {
    local filter=$1
    shift
    curl -sS "$BASE/_fake/state" | jq -r "$@" ".users[] | select($filter) | .uid"
}

same_walk() { diff -q "$WORK/walk" "$WORK/expected" >/dev/null; }

# ---- start ------------------------------------------------------------------

check "fake_api.py --help exits 0 and prints usage" \
    bash -c "python3 '$FAKE' --help | grep -q -- '--port-file'"
check "a non-loopback --host is refused" \
    bash -c "! python3 '$FAKE' --host 0.0.0.0 --port 0 2>/dev/null"

if ! start_server main --users 200 --seed 1 --verbose; then
    echo "Bail out! the fake API did not start: $(head -c 500 "$WORK/main.err")"
    exit 1
fi
MAIN_PID=$SERVER_PID
BASE=$SERVER_BASE
pass "server started on a free port and wrote the port file"

# ---- auth, routing ------------------------------------------------------------

req GET /api-auth
expect 200 "GET /api-auth with the key -> {ok:true}" '.ok == true'
noauth GET /api-auth
expect 401 "GET /api-auth without a key -> 401 NestJS error" \
    '.statusCode == 401 and (.message|type) == "string" and .error == "Unauthorized"'
_curl "$WORK/badkeyhdr" GET /v1/offers
expect 401 "wrong key -> 401" '.statusCode == 401'
noauth GET "/v1/users/list"
expect 401 "users/list without a key -> 401"
req GET /v1/no-such-thing
expect 404 "unknown path -> 404 NestJS error" \
    '.statusCode == 404 and (.message|type) == "string" and .error == "Not Found"'
req PUT /v1/offers
expect 404 "wrong method on a known path -> 404"

# ---- offers, properties -------------------------------------------------------

req GET /v1/offers
expect 200 "offers: array of >= 5 with awkward ids" \
    '(type == "array") and length >= 5 and
     ([.[].id] | index("bundle/2026") and index("100%-kurs") and index(".hidden-offer"))'
expect 200 "offers: non-ASCII name, courses {id,name}, extra price, no chapters" \
    'any(.[]; .name == "Grundkurs Führung")
     and all(.[]; (.courses | length >= 1 and length <= 3)
                  and all(.courses[]; (.id|type) == "string" and (.name|type) == "string"
                                       and (has("chapters") | not))
                  and has("price"))'
req GET /v1/custom-user-properties/list
expect 200 "property definitions: p-company, 'Phone number', 'Notes/internal', type text" \
    'length == 4 and any(.[]; .id == "p-phone" and .name == "Phone number")
     and any(.[]; .id == "p-note" and .name == "Notes/internal")
     and any(.[]; .id == "p-company" and .name == "Company") and all(.[]; .type == "text")'

# ---- users/list ---------------------------------------------------------------

req GET /v1/users/list
expect 200 "users/list default page: 10 users, nextPage = last uid" \
    '(.users | length) == 10 and .nextPage == .users[-1].uid'
expect 200 "users/list: User shape" \
    'all(.users[]; (.uid|type) == "string" and (.email|type) == "string"
        and has("firstname") and has("name") and (.active|type) == "boolean"
        and has("createdAt") and (.offers|type) == "array"
        and (.customProperties|type) == "object" and has("lastLogin")
        and all(.offers[]; has("offerId") and has("orderId")
                           and (.active|type) == "boolean" and has("grantedAt")))'
expect 200 "the awkward users come first" \
    '[.users[:5][].email] == ["anna+test@example.com", "o'"'"'brien@example.org",
       "jürgen.müller@example.de", "zoe/sales?@example.net", "UPPER.Case@Example.com"]
     and any(.users[]; .firstname == "Zoë")'
expect 200 "user.active == any grant active" \
    'all(.users[]; .active == any(.offers[]; .active))'
for pl in 101 0 abc -5 10.0 ""; do
    req GET "/v1/users/list?pageLength=$pl"
    expect 400 "pageLength='$pl' -> 400 NestJS error" \
        '.statusCode == 400 and (.message|type) == "string" and .error == "Bad Request"'
done
req GET "/v1/users/list?pageLength=100"
expect 200 "pageLength=100 -> 100 users" '(.users | length) == 100'

expected true >"$WORK/expected"
check "seeded 200 users" bash -c "[ \$(wc -l <'$WORK/expected') = 200 ]"
walk users 100 "" && same_walk
check "walk pageLength=100: all 200 users in uid order, last nextPage null" same_walk
walk users 7 "" && same_walk
check "walk pageLength=7: same users, same order" same_walk
check "uids are strictly increasing" bash -c "sort -C -u '$WORK/walk'"

req GET "/v1/users/list?pageLength=5&lastLoadedId=u-000010"
expect 200 "cursor need not be an existing uid (uid > cursor)" \
    '.users[0].uid > "u-000010" and .users[0].uid < "u-000012"'
LAST=$(tail -n 1 "$WORK/expected")
req GET "/v1/users/list?lastLoadedId=$(enc "$LAST")"
expect 200 "cursor at the last uid: empty page, nextPage null" '.users == [] and .nextPage == null'

walk users 9 "&offerId=$(enc bundle/2026)"
expected 'any(.offers[]; .offerId == "bundle/2026")' >"$WORK/expected"
check "filter offerId=bundle/2026 (encoded '/'): exactly the users holding it" \
    bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"
walk users 50 "&offerId=$(enc 100%-kurs)"
expected 'any(.offers[]; .offerId == "100%-kurs")' >"$WORK/expected"
check "filter offerId=100%-kurs (encoded '%')" same_walk
walk users 13 "&courseId=$(enc c-safety/2026)"
expected '. as $u | any($u.offers[]; .offerId == "bundle/2026")' >"$WORK/expected"
check "filter courseId=c-safety/2026: users with an offer containing it" \
    bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"
walk users 100 "&courseId=c-excel"
expected 'any(.offers[]; .offerId == "bundle/2026" or .offerId == "100%-kurs")' >"$WORK/expected"
check "filter courseId=c-excel (course shared by two offers)" same_walk
walk users 30 "&active=true"
cp "$WORK/walk" "$WORK/walk_true"
expected '.active' >"$WORK/expected"
check "filter active=true" same_walk
walk users 30 "&active=false"
expected '.active | not' >"$WORK/expected"
check "filter active=false" bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"
check "active=true + active=false = all users" \
    bash -c "[ \$(cat '$WORK/walk' '$WORK/walk_true' | sort -u | wc -l) = 200 ]"
walk users 4 "&active=false&offerId=bundle%2F2026"
expected '(.active | not) and any(.offers[]; .offerId == "bundle/2026")' >"$WORK/expected"
check "filters combine (active=false & offerId)" same_walk
req GET "/v1/users/list?active=maybe"
expect 400 "active=maybe -> 400"
req GET "/v1/users/list?offerId=no-such-offer"
expect 200 "unknown offerId filter -> empty page" '.users == [] and .nextPage == null'

ctl POST /_fake/config '{"list_shape":"next_page"}'
expect 200 "config list_shape=next_page" '.list_shape == "next_page"'
req GET /v1/users/list
expect 200 "next_page shape: key next_page, no nextPage" 'has("next_page") and (has("nextPage") | not) and (.users | length) == 10'
walk next_page 33 "" && expected true >"$WORK/expected"
check "walk with next_page shape: all users" same_walk
ctl POST /_fake/config '{"list_shape":"array"}'
req GET "/v1/users/list?pageLength=3"
expect 200 "array shape: a bare array" 'type == "array" and length == 3'
walk array 20 "" && expected true >"$WORK/expected"
check "walk array shape (page length divides the total; ends on an empty page)" same_walk
walk array 30 ""
check "walk array shape (ends on a short page)" same_walk
ctl POST /_fake/config '{"list_shape":"users"}'
ctl GET /_fake/config
expect 200 "config back to list_shape=users" '.list_shape == "users"'

# ---- find-by-mail -----------------------------------------------------------

for email in "anna+test@example.com" "o'brien@example.org" "jürgen.müller@example.de" \
    "zoe/sales?@example.net" "user00001@example.com" "user00195@example.com"; do
    req GET "/v1/users/find-by-mail/$(enc "$email")"
    expect 200 "find-by-mail $email" '.email == $e and (.uid|type) == "string"' --arg e "$email"
done
req GET "/v1/users/find-by-mail/nobody%40example.com"
expect 404 "find-by-mail unknown -> 404 NestJS error" '.statusCode == 404 and (.message|type) == "string"'
req GET "/v1/users/find-by-mail/$(enc upper.case@example.com)"
expect 404 "find-by-mail is an exact (case-sensitive) match"
ANNA_UID=$(curl -sS "$BASE/_fake/user?email=anna%2Btest%40example.com" | jq -r .uid)

# ---- grant ------------------------------------------------------------------

NEW=neu.kunde+fs@example.com
req POST /v1/users/grant-user-offer-by-mail \
    "{\"email\":\"$NEW\",\"firstname\":\"Zoë\",\"name\":\"Neu\",\"grantOffer\":\"bundle/2026\",\"orderId\":\"ord-x1\"}"
expect 201 "grant to a new email creates the user (201, created:true)" \
    '.created == true and .email == $e and (.uid|type) == "string"' --arg e "$NEW"
NEW_UID=$(jq -r .uid "$WORK/body")
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 200 "created user: names from the body, active grant with the given orderId" \
    '.firstname == "Zoë" and .name == "Neu" and .active == true and .uid == $u
     and .offers == [.offers[0]] and .offers[0].offerId == "bundle/2026"
     and .offers[0].orderId == "ord-x1" and .offers[0].active == true
     and (.offers[0].grantedAt|type) == "string"' --arg u "$NEW_UID"
walk users 100 "" && expected true >"$WORK/expected"
check "the new user shows up in users/list (201 users)" \
    bash -c "[ \$(wc -l <'$WORK/walk') = 201 ] && grep -qx '$NEW_UID' '$WORK/walk'"
req POST /v1/users/grant-user-offer-by-mail "{\"email\":\"$NEW\",\"grantOffer\":\"100%-kurs\"}"
expect 201 "grant to an existing user: created:false" '.created == false and .uid == $u' --arg u "$NEW_UID"
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 200 "second grant without orderId gets a generated ord-<n>" \
    '(.offers | length) == 2 and (.offers[1].orderId | startswith("ord-")) and .firstname == "Zoë"'
req POST /v1/users/grant-user-offer-by-mail '{"email":"bare@example.com","grantOffer":"sales-2026"}'
expect 201 "grant without names: firstname/name default to empty" '.created == true'
req GET "/v1/users/find-by-mail/bare%40example.com"
expect 200 "... and they are empty strings" '.firstname == "" and .name == ""'
for bad in 'a@@example.com' 'no-at.example.com' '@example.com' 'a@localhost' 'a b@example.com' \
    'tab\t@example.com'; do
    req POST /v1/users/grant-user-offer-by-mail "{\"email\":\"$bad\",\"grantOffer\":\"sales-2026\"}"
    check "grant with invalid email '$bad' -> 400 with a message array" nest_error 400 array
done
req POST /v1/users/grant-user-offer-by-mail '{"email":"x@example.com"}'
expect 400 "grant without grantOffer -> 400 message array" '(.message|type) == "array"'
req POST /v1/users/grant-user-offer-by-mail '{"email":"ghost@example.com","grantOffer":"nope"}'
expect 404 "grant of an unknown offer -> 404" '.statusCode == 404'
req GET /v1/users/find-by-mail/ghost%40example.com
expect 404 "... and no user was created"
req POST /v1/users/grant-user-offer-by-mail '{"email":'
expect 400 "bad JSON body -> 400 with a string message" '(.message|type) == "string"'

# ---- set-offer-state, set-order-state ------------------------------------------

req POST /v1/users/set-offer-state "{\"email\":\"$NEW\",\"offerId\":\"bundle/2026\",\"active\":false}"
expect 200 "set-offer-state false -> echo" '.email == $e and .offerId == "bundle/2026" and .active == false' --arg e "$NEW"
req POST /v1/users/set-offer-state "{\"email\":\"$NEW\",\"offerId\":\"100%-kurs\",\"active\":false}"
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 200 "all grants inactive -> user.active false" '.active == false and all(.offers[]; .active == false)'
req POST /v1/users/grant-user-offer-by-mail "{\"email\":\"$NEW\",\"grantOffer\":\"bundle/2026\",\"orderId\":\"ord-x2\"}"
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 200 "re-grant reactivates the grant, sets the new orderId, user active again" \
    '.active == true and ([.offers[] | select(.offerId == "bundle/2026")] | length == 1 and .[0].active and .[0].orderId == "ord-x2")'
req POST /v1/users/set-offer-state "{\"email\":\"$NEW\",\"offerId\":\"bundle/2026\",\"active\":\"yes\"}"
expect 400 "set-offer-state active not a bool -> 400 message array" '(.message|type) == "array"'
req POST /v1/users/set-offer-state '{"email":"nobody@example.com","offerId":"bundle/2026","active":true}'
expect 404 "set-offer-state unknown user -> 404"
req POST /v1/users/set-offer-state "{\"email\":\"$NEW\",\"offerId\":\".hidden-offer\",\"active\":true}"
expect 404 "set-offer-state offer the user lacks -> 404"
req POST /v1/users/set-order-state "{\"email\":\"$NEW\",\"orderId\":\"ord-x2\",\"active\":false}"
expect 200 "set-order-state -> echo" '.orderId == "ord-x2" and .active == false'
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 200 "... the grant with that order is inactive" \
    'any(.offers[]; .orderId == "ord-x2" and .active == false)'
req POST /v1/users/set-order-state "{\"email\":\"$NEW\",\"orderId\":\"ord-none\",\"active\":true}"
expect 404 "set-order-state unknown order -> 404"
req POST /v1/users/set-order-state "{\"email\":\"$NEW\",\"orderId\":\"ord-x2\",\"active\":1}"
expect 400 "set-order-state active=1 (not a bool) -> 400"

# ---- custom properties -------------------------------------------------------

req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$NEW\",\"properties\":[{\"propertyId\":\"p-company\",\"value\":\"Müller & Söhne\"},{\"propertyId\":\"p-note\",\"value\":\"a/b\"},{\"propertyId\":\"p-kdnr\",\"value\":42}]}"
expect 200 "set-custom-user-properties -> the user with the values" \
    '.email == $e and .customProperties == {"p-company":"Müller & Söhne","p-note":"a/b","p-kdnr":42}' --arg e "$NEW"
curl -sS "$BASE/_fake/user?email=$(enc "$NEW")" | jq -S .customProperties >"$WORK/props_before"
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$NEW\",\"properties\":[{\"propertyId\":\"p-company\",\"value\":\"CHANGED\"},{\"propertyId\":\"p-bogus\",\"value\":\"x\"}]}"
expect 400 "unknown propertyId -> 400 message array" '(.message|type) == "array"'
curl -sS "$BASE/_fake/user?email=$(enc "$NEW")" | jq -S .customProperties >"$WORK/props_after"
check "... and nothing changed" diff -q "$WORK/props_before" "$WORK/props_after"
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$NEW\",\"properties\":[{\"propertyId\":\"p-company\",\"value\":{\"x\":1}}]}"
expect 400 "object value -> 400"
req POST /v1/users/set-custom-user-properties "{\"email\":\"$NEW\",\"properties\":{}}"
expect 400 "properties not an array -> 400"
req POST /v1/users/set-custom-user-properties \
    '{"email":"nobody@example.com","properties":[{"propertyId":"p-company","value":"x"}]}'
expect 404 "set-custom-user-properties unknown user -> 404"
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$NEW\",\"properties\":[{\"propertyId\":\"p-note\",\"value\":null}]}"
expect 200 "null value accepted" '.customProperties["p-note"] == null'

# ---- course progress (and its rate limit) ----------------------------------------

sleep 1.1   # an empty progress window
req GET "/v1/users/course-progress/list/$(enc anna+test@example.com)"
expect 200 "course-progress/list: one summary per course of the user's offers" \
    '([.[].courseId] | sort) == (["c-excel","c-leadership","c-safety/2026"])
     and all(.[]; (.courseName|type) == "string" and .progress >= 0 and .progress <= 100)'
cp "$WORK/body" "$WORK/summary1"
req GET "/v1/users/course-progress/list/$(enc anna+test@example.com)"
check "progress is deterministic" diff -q "$WORK/summary1" "$WORK/body"
req GET "/v1/users/course-progress/$(enc c-safety/2026)/$(enc anna+test@example.com)"
expect 200 "course-progress/{courseId '/'}/{email '+'}" \
    '.courseId == "c-safety/2026" and .email == "anna+test@example.com"
     and (.progress|type) == "number" and (.completedPosts|type) == "array"
     and (.activePosts|type) == "array"'
req GET "/v1/users/course-progress/list/nobody%40example.com"
expect 404 "course-progress/list unknown user -> 404"
sleep 1.1
req GET "/v1/users/course-progress/no-such-course/$(enc anna+test@example.com)"
expect 404 "course-progress unknown course -> 404"
req GET "/v1/users/course-progress/c-excel/nobody%40example.com"
expect 404 "course-progress unknown user -> 404"

sleep 1.1
URL="$BASE/v1/users/course-progress/list/$(enc anna+test@example.com)"
BURST=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL" "$URL" "$URL" "$URL" "$URL")
check "8 progress requests in a burst: 4 answered, the rest 429 ($BURST)" \
    test "$BURST" = "200 200 200 200 429 429 429 429 "
req GET "/v1/users/course-progress/c-excel/$(enc anna+test@example.com)"
expect 429 "the two progress endpoints share the limit; 429 is the throttler body" \
    '. == {"statusCode":429,"message":"ThrottlerException: Too Many Requests","error":"Too Many Requests"}'
check "429 carries Retry-After: 1" grep -qix 'retry-after: 1.\?' "$WORK/hdr"
req GET /v1/offers
expect 200 "other endpoints are not limited by the progress limit"
sleep 1.1
req GET "/v1/users/course-progress/c-excel/$(enc anna+test@example.com)"
expect 200 "after waiting Retry-After, progress answers again"

# ---- login token, chapter access, exams --------------------------------------------

req GET "/v1/users/login-token/$(enc "$ANNA_UID")"
expect 200 "login-token: hex token and expiresAt" \
    '(.token | test("^[0-9a-f]{32,}$")) and (.expiresAt|type) == "string"'
T1=$(jq -r .token "$WORK/body")
EXP=$(jq -r '.expiresAt | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' "$WORK/body")
req GET "/v1/users/login-token/$(enc "$ANNA_UID")"
T2=$(jq -r .token "$WORK/body")
check "login-token: a new token every call" test "$T1" != "$T2"
check "login-token: expires in about one hour" \
    bash -c "d=\$(( $EXP - \$(date +%s) )); [ \$d -ge 3590 ] && [ \$d -le 3610 ]"
req GET /v1/users/login-token/u-999999-0000
expect 404 "login-token unknown uid -> 404"
req GET "/v1/users/login-token/$(enc anna+test@example.com)"
expect 404 "login-token takes the uid, not the email"

req POST /v1/chapters/chapter-access/enable \
    '{"email":"anna+test@example.com","courseId":"c-safety/2026","chapterId":"ch-2"}'
expect 201 "chapter-access/enable -> 201 enabled:true" \
    '. == {"email":"anna+test@example.com","courseId":"c-safety/2026","chapterId":"ch-2","enabled":true}'
for bad in '"email":"nobody@example.com","courseId":"c-excel","chapterId":"ch-1"' \
    '"email":"anna+test@example.com","courseId":"c-nope","chapterId":"ch-1"' \
    '"email":"anna+test@example.com","courseId":"c-excel","chapterId":"ch-99"'; do
    req POST /v1/chapters/chapter-access/enable "{$bad}"
    expect 404 "chapter-access/enable unknown user/course/chapter -> 404 ($bad)"
done
req POST /v1/chapters/chapter-access/enable '{"email":"anna+test@example.com"}'
expect 400 "chapter-access/enable missing fields -> 400 message array" '(.message|type) == "array"'
ctl GET /_fake/state
expect 200 "/_fake/state records the chapter access" \
    'any(.chapter_access[]; .email == "anna+test@example.com" and .courseId == "c-safety/2026" and .chapterId == "ch-2")'

req GET /v1/exams/exam-1/results
expect 200 "exams/exam-1/results: ExamResult array" \
    'length > 0 and all(.[]; has("uid") and has("email") and (.score|type) == "number"
                             and (.passed|type) == "boolean" and has("submittedAt") and has("attempt"))'
req GET "/v1/exams/$(enc "final exam/2026")/results"
expect 200 "exam id with a space and '/'" 'length > 0'
req GET /v1/exams/nope/results
expect 404 "unknown exam -> 404"

# ---- delete --------------------------------------------------------------------

req DELETE /v1/users/delete-users "{\"emails\":[\"$NEW\",\"never@example.com\"]}"
expect 200 "DELETE delete-users: only existing emails are reported" \
    '.deleted == [$e]' --arg e "$NEW"
req GET "/v1/users/find-by-mail/$(enc "$NEW")"
expect 404 "deleted user is gone"
req POST /v1/users/delete-users '{"emails":["bare@example.com","bare@example.com"]}'
expect 200 "POST delete-users works too (and reports an email once)" '.deleted == ["bare@example.com"]'
req DELETE /v1/users/delete-users '{"emails":["bare@example.com"]}'
expect 200 "deleting again -> deleted:[]" '.deleted == []'
req DELETE /v1/users/delete-users '{"emails":"x@example.com"}'
expect 400 "emails not an array -> 400 message array" '(.message|type) == "array"'
walk users 100 "" && expected true >"$WORK/expected"
check "users/list after deletes: 200 users, consistent with state" \
    bash -c "[ \$(wc -l <'$WORK/walk') = 200 ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"

# ---- control: stats, log, config, state, user ---------------------------------------

ctl GET /_fake/stats
expect 200 "stats: every endpoint template was counted" \
    '.total > 0 and ([.by_endpoint | to_entries[] | select(.key != "other" and .value == 0)] == [])
     and .by_status["429"] >= 4 and .by_status["401"] >= 1'
ctl POST /_fake/reset-stats
ctl GET /_fake/stats
expect 200 "reset-stats zeroes the counters" '.total == 0 and .by_status == {} and ([.by_endpoint[]] | add) == 0'
ctl GET /_fake/log
expect 200 "reset-stats empties the log" '. == []'
req GET "/v1/users/list?pageLength=2"
req GET "/v1/users/list?pageLength=3"
noauth GET /v1/users/list
req GET /nowhere
req POST /v1/users/set-offer-state '{"email":"nobody@example.com","offerId":"x","active":true}'
ctl GET /_fake/stats
expect 200 "stats count by endpoint and status (control requests not counted)" \
    '.total == 5 and .by_endpoint["GET /v1/users/list"] == 3 and .by_endpoint.other == 1
     and .by_endpoint["POST /v1/users/set-offer-state"] == 1
     and .by_status == {"200":2,"401":1,"404":2}'
ctl GET /_fake/log
expect 200 "log: newest last, raw path, endpoint, status, parsed body" \
    'length == 5 and .[0].path == "/v1/users/list?pageLength=2" and .[0].method == "GET"
     and .[0].endpoint == "GET /v1/users/list" and .[0].status == 200 and .[0].body == null
     and (.[0].t|type) == "number" and .[2].status == 401 and .[3].endpoint == "other"
     and .[4].body == {"email":"nobody@example.com","offerId":"x","active":true}'
ctl GET /_fake/log
check "log never holds headers or the key" \
    bash -c "! grep -qi -e 'x-api-key' -e '$KEY' '$WORK/body'"
ctl GET /_fake/config
expect 200 "config: every switch with its default" \
    '. == {"latency_ms":0,"error_rate":0,"error_status":500,"progress_rps":4,"global_rps":0,
           "malformed_rate":0,"drop_rate":0,"down":false,"hang_ms":0,"list_shape":"users",
           "retry_after":1,"list_reply_ms":0}'
ctl POST /_fake/config '{"error_rate":2,"bogus":1,"down":"yes"}'
expect 400 "invalid config -> 400 message array" '(.message|length) == 3'
ctl GET /_fake/config
expect 200 "... and nothing changed" '.error_rate == 0 and .down == false'
ctl GET /_fake/state
expect 200 "state: users, offers, properties, chapter_access, exams" \
    '(.users|length) == 200 and (.offers|length) >= 5 and (.properties|length) == 4
     and (.chapter_access|type) == "array" and (.exams | has("exam-1") and has("final exam/2026"))'
ctl GET "/_fake/user?email=$(enc "jürgen.müller@example.de")"
expect 200 "/_fake/user?email=..." '.firstname == "Jürgen"'
ctl GET "/_fake/user?email=nobody%40example.com"
expect 404 "/_fake/user unknown -> 404"
ctl GET /_fake/nothing
expect 404 "unknown control path -> 404"

# ---- faults -----------------------------------------------------------------------

ctl POST /_fake/reset-stats
ctl POST /_fake/config '{"malformed_rate":1}'
for i in 1 2 3 4; do
    req GET /v1/offers
    [ "$ST" = 200 ] && ! jq -e . "$WORK/body" >/dev/null 2>&1 && echo ok
done >"$WORK/malformed"
check "malformed_rate=1: 200 with a body that is not JSON" \
    bash -c "[ \$(grep -c ok '$WORK/malformed') = 4 ]"
ctl GET /_fake/stats
expect 200 "control endpoints are never faulted" '.total == 4'
ctl POST /_fake/config '{"malformed_rate":0,"down":true}'
req GET /api-auth
check "down=true: connection closed without an answer (curl exit 52)" test "$RC" = 52
ctl GET /_fake/stats
expect 200 "... still counted (status 0), control still answers" '.total == 5 and .by_status["0"] == 1'
ctl POST /_fake/config '{"down":false,"error_rate":1,"error_status":503}'
req POST /v1/users/grant-user-offer-by-mail '{"email":"faulted@example.com","grantOffer":"sales-2026"}'
expect 503 "error_rate=1, error_status=503 -> 503 NestJS error" '.statusCode == 503 and .error == "Service Unavailable"'
ctl GET "/_fake/user?email=faulted%40example.com"
expect 404 "an injected error changes nothing"
ctl POST /_fake/config '{"error_status":429}'
req GET /v1/offers
check "error_status=429 -> 429 with Retry-After" \
    bash -c "[ '$ST' = 429 ] && grep -qi '^retry-after: 1' '$WORK/hdr'"
ctl POST /_fake/config '{"error_rate":0,"error_status":500,"drop_rate":1}'
req GET /v1/offers
check "drop_rate=1: headers, part of the body, then close (curl exit 18)" \
    bash -c "[ '$RC' = 18 ] && [ '$ST' = 200 ] && grep -qi '^content-length:' '$WORK/hdr'"
ctl POST /_fake/config '{"drop_rate":0,"hang_ms":1500}'
MAXTIME=0.5 req GET /api-auth
check "hang_ms=1500: a 0.5 s client timeout fires (curl exit 28)" test "$RC" = 28
sleep 1.1   # let the hung request finish server-side: it still counts for global_rps
ctl POST /_fake/config '{"hang_ms":0,"latency_ms":300}'
T=$(curl -sS -o /dev/null -w '%{time_total}' -H @"$WORK/keyhdr" "$BASE/api-auth")
check "latency_ms=300 delays answers (took ${T}s)" awk -v t="$T" 'BEGIN { exit !(t >= 0.3) }'
T=$(curl -sS -o /dev/null -w '%{time_total}' "$BASE/_fake/config")
check "... but not control requests (took ${T}s)" awk -v t="$T" 'BEGIN { exit !(t < 0.3) }'
ctl POST /_fake/config '{"latency_ms":0,"global_rps":2,"retry_after":3}'
sleep 1.1
BURST=$(multi '%{http_code}' "$BASE/api-auth" "$BASE/v1/offers" "$BASE/api-auth" "$BASE/v1/offers")
check "global_rps=2: the third request in a second gets 429 ($BURST)" \
    test "$BURST" = "200 200 429 429 "
req GET /api-auth
check "... with Retry-After from the retry_after switch (3)" grep -qix 'retry-after: 3.\?' "$WORK/hdr"
ctl POST /_fake/config '{"global_rps":0,"retry_after":1,"progress_rps":0}'
sleep 1.1
URL="$BASE/v1/users/course-progress/c-excel/$(enc anna+test@example.com)"
BURST=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL" "$URL" "$URL" "$URL" "$URL")
check "progress_rps=0: unlimited ($BURST)" test "$BURST" = "200 200 200 200 200 200 200 200 "
ctl POST /_fake/config '{"progress_rps":4}'
req GET "/v1/users/list?pageLength=1"
FIRST=$(jq -r '.users[0].email' "$WORK/body")
ctl POST /_fake/config '{"list_reply_ms":800}'
curl -sS -H @"$WORK/keyhdr" -o "$WORK/slowlist" "$BASE/v1/users/list?pageLength=1" &
SLOW=$!
sleep 0.3
req POST /v1/users/set-custom-user-properties \
    "$(jq -cn --arg e "$FIRST" '{email: $e, properties: [{propertyId: "p-note", value: "set meanwhile"}]}')"
check "list_reply_ms=800: a change sent while a list answer is delayed goes through" test "$ST" = 200
check "... and the list answer still in flight is not there yet" kill -0 "$SLOW"
wait "$SLOW"
SEEN=$(jq --arg e "$FIRST" '.users[0].email == $e and .users[0].customProperties["p-note"] != "set meanwhile"' \
    "$WORK/slowlist")
check "... then arrives as the state was when it was asked (no change made meanwhile)" test "$SEEN" = true
ctl POST /_fake/config '{"list_reply_ms":0}'

# ---- HTTP details -------------------------------------------------------------------

CONNS=$(multi '%{num_connects}' "$BASE/api-auth" "$BASE/v1/offers" "$BASE/v1/users/list")
check "HTTP/1.1 keep-alive: three requests, one connection ($CONNS)" test "$CONNS" = "1 0 0 "
req GET /v1/offers
check "Content-Length on responses" grep -qi '^content-length: [0-9]' "$WORK/hdr"
check "JSON content type" grep -qi '^content-type: application/json' "$WORK/hdr"
check "the key never appears in the server's (verbose) stderr" \
    bash -c "[ -s '$WORK/main.err' ] && ! grep -qi -e '$KEY' -e 'x-api-key' '$WORK/main.err'"

# ---- other servers: determinism, sizes, shutdown ----------------------------------------

SAVED_BASE=$BASE
start_server det1 --users 60 --seed 7 --quiet && D1=$SERVER_BASE
start_server det2 --users 60 --seed 7 --quiet && D2=$SERVER_BASE
start_server det3 --users 30 --seed 7 --quiet --list-shape array && D3=$SERVER_BASE
curl -sS "$D1/_fake/state" | jq -S . >"$WORK/d1"
curl -sS "$D2/_fake/state" | jq -S . >"$WORK/d2"
check "same --seed and --users: identical data" bash -c "[ -s '$WORK/d1' ] && diff -q '$WORK/d1' '$WORK/d2' >/dev/null"
check "the first 30 users do not depend on --users" \
    bash -c "diff <(jq -c '.users[:30][]' '$WORK/d1') <(curl -sS '$D3/_fake/state' | jq -S -c '.users[]')"
BASE=$D3
req GET /v1/users/list
expect 200 "--list-shape array on the command line" 'type == "array"'
start_server zero --users 0 --quiet
BASE=$SERVER_BASE
req GET /v1/users/list
expect 200 "--users 0: empty list, nextPage null" '. == {"users":[],"nextPage":null}'
req GET /v1/offers
expect 200 "--users 0: offers still seeded" 'length >= 5'
req GET /v1/exams/exam-1/results
expect 200 "--users 0: exams exist (no results)" '. == []'
check "--quiet prints nothing" test ! -s "$WORK/zero.err"
start_server fake_key --users 1 --quiet
BASE=$SERVER_BASE
_curl "" GET /api-auth
expect 401 "no key -> 401 on a second instance too"

if [ "${SKIP_BIG:-0}" != 1 ]; then
    T0=$(date +%s.%N)
    start_server big --users 100000 --seed 1 --quiet
    T1=$(date +%s.%N)
    BASE=$SERVER_BASE
    SEED_S=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
    check "100k users: listening after ${SEED_S}s (< 5 s)" awk -v t="$SEED_S" 'BEGIN { exit !(t < 5) }'
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' "$BASE/v1/users/list?pageLength=100")
    check "100k users: a page of 100 in ${T}s" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.1) }' && jq -e '(.users|length) == 100' '$WORK/body' >/dev/null"
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' \
        "$BASE/v1/users/list?pageLength=100&lastLoadedId=u-099950&active=false")
    check "100k users: a filtered page near the end in ${T}s, nextPage null" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.1) }' && jq -e '.nextPage == null and all(.users[]; .active == false)' '$WORK/body' >/dev/null"
fi

BASE=$SAVED_BASE
kill -TERM "$MAIN_PID"
for i in $(seq 60); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.05; done
wait "$MAIN_PID"
STATUS=$?
check "SIGTERM: clean exit (status $STATUS)" test "$STATUS" = 0
check "SIGTERM: port file removed" test ! -e "$WORK/main.port"

echo "1..$N"
[ "$FAILED" = 0 ] || echo "# $FAILED of $N failed"
[ "$FAILED" = 0 ]
