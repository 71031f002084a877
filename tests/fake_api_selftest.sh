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
jqt() { jq -e "$@" >/dev/null 2>&1; }              # jq -e, quietly
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
        data | items) jq -r --arg k "$shape" '.[$k][].uid' "$WORK/body" >>"$WORK/walk"
            cursor=$(jq -r '.nextPage // empty' "$WORK/body") ;;
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
check "--help names --dialect (guessed, evidence), --serve-dir and the items shape" \
    bash -c "python3 '$FAKE' --help | tr -s ' \n' ' ' >'$WORK/help'
             grep -q -- '--dialect {guessed,evidence}' '$WORK/help' &&
             grep -q -- '--serve-dir DIR' '$WORK/help' && grep -q -- 'items' '$WORK/help'"
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
ctl POST /_fake/config '{"list_shape":"items"}'
expect 200 "config list_shape=items" '.list_shape == "items"'
req GET "/v1/users/list?pageLength=4"
expect 200 "items shape: {items, nextPage}, an envelope no client knows" \
    'keys == ["items","nextPage"] and (.items | length) == 4 and .nextPage == .items[-1].uid
     and all(.items[]; has("offers") and has("createdAt"))'
walk items 23 "" && expected true >"$WORK/expected"
check "walk items shape: all users" same_walk
ctl POST /_fake/config '{"list_shape":"users"}'
ctl GET /_fake/config
expect 200 "config back to list_shape=users" '.list_shape == "users"'

# cursor_cycle N: the page asked with the N-th cursor answers the first again
req GET "/v1/users/list?pageLength=5"
C1=$(jq -r .nextPage "$WORK/body")
req GET "/v1/users/list?pageLength=5&lastLoadedId=$C1"
C2=$(jq -r .nextPage "$WORK/body")
ctl POST /_fake/config '{"cursor_cycle":2}'
expect 200 "config cursor_cycle=2" '.cursor_cycle == 2'
req GET "/v1/users/list?pageLength=5&lastLoadedId=$C1"
expect 200 "cursor_cycle 2: the page after the first cursor goes on as usual" '.nextPage == $c' --arg c "$C2"
req GET "/v1/users/list?pageLength=5&lastLoadedId=$C2"
expect 200 "cursor_cycle 2: the page after the second answers the first cursor again" \
    '.nextPage == $c and (.users | length) == 5' --arg c "$C1"
ctl POST /_fake/config '{"cursor_cycle":1}'
req GET "/v1/users/list?pageLength=5&lastLoadedId=$C1"
expect 200 "cursor_cycle 1: the cursor repeats at once" '.nextPage == $c' --arg c "$C1"
ctl POST /_fake/config '{"cursor_cycle":0}'
req GET "/v1/users/list?pageLength=5&lastLoadedId=$C2"
expect 200 "cursor_cycle 0: cursors advance again" '.nextPage != $a and .nextPage != $b' --arg a "$C1" --arg b "$C2"

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
# rate_slack_ms: the window is that much shorter than a second. Four, then
# four more 0.6 s later: refused in a 1 s window, answered in a 0.5 s one.
sleep 1.1
B1=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL")
sleep 0.6
B2=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL")
check "rate_slack_ms 0: a progress request 0.6 s after 4 others is refused ($B1/$B2)" \
    test "${B2%% *}" = 429
ctl POST /_fake/config '{"rate_slack_ms":500}'
expect 200 "config rate_slack_ms=500" '.rate_slack_ms == 500'
sleep 1.1
B1=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL")
sleep 0.6
B2=$(multi '%{http_code}' "$URL" "$URL" "$URL" "$URL")
check "rate_slack_ms 500: the same 4 are answered ($B1/$B2)" \
    test "$B1$B2" = "200 200 200 200 200 200 200 200 "
ctl POST /_fake/config '{"rate_slack_ms":0}'

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
ctl POST /_fake/config '{"exam_extra_rows":[{"uid":"=1+1","note":"x"}]}'
expect 200 "config exam_extra_rows" '.exam_extra_rows == [{"uid":"=1+1","note":"x"}]'
req GET /v1/exams/exam-1/results
expect 200 "exam_extra_rows are appended to every exam's results" '.[-1] == {"uid":"=1+1","note":"x"}'
ctl POST /_fake/config '{"exam_extra_rows":[1]}'
expect 400 "exam_extra_rows must hold objects"
ctl POST /_fake/config '{"exam_extra_rows":[]}'
req GET /v1/exams/exam-1/results
expect 200 "exam_extra_rows [] : the results as seeded" 'all(.[]; .uid != "=1+1")'

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
           "retry_after":1,"list_reply_ms":0,"dialect":"guessed",
           "cursor_cycle":0,"exam_extra_rows":[],"rate_slack_ms":0}'
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

# ---- evidence dialect (a second fake: --dialect evidence) -----------------------------

MAIN_BASE=$BASE
A=anna+test@example.com
check "--dialect evidence: a second fake starts" \
    start_server ev --users 200 --seed 1 --quiet --dialect evidence
BASE=$SERVER_BASE
ctl GET /_fake/config
expect 200 "evidence: GET /_fake/config shows dialect evidence" '.dialect == "evidence" and .list_shape == "users"'
curl -sS "$BASE/_fake/state" >"$WORK/evstate"
check "evidence: /_fake/state keeps the internal shapes (offers, createdAt, customProperties, courses)" \
    jqt '(.users | length) == 200
           and all(.users[]; has("offers") and has("createdAt") and has("customProperties")
                             and (has("customUserProperties") | not) and (has("progress") | not))
           and all(.offers[]; has("courses") and (has("hasCourseIds") | not))
           and all(.properties[]; has("schoolId") | not)' "$WORK/evstate"

req GET "/v1/users/find-by-mail/$(enc "$A")"
expect 200 "evidence find-by-mail: uid, email, names, active, created, customUserProperties, progress" \
    '(.uid|type) == "string" and .email == $e and .firstname == "Anna" and .name == "Test"
     and (.active|type) == "boolean" and (.created|type) == "string"
     and (.customUserProperties|type) == "object" and (.progress|type) == "array"' --arg e "$A"
expect 200 "evidence user: no offers, createdAt or customProperties; other fields (lastLogin) kept" \
    '((has("offers") or has("createdAt") or has("customProperties")) | not) and has("lastLogin")'
cp "$WORK/body" "$WORK/ev_anna"
ctl GET "/_fake/user?email=$(enc "$A")"
expect 200 "evidence: /_fake/user keeps the internal shape" \
    'has("offers") and has("createdAt") and has("customProperties") and (has("customUserProperties") | not)'
cp "$WORK/body" "$WORK/ev_anna_state"
check "evidence user: created = createdAt, customUserProperties = customProperties keyed by NAME" \
    jqt -n --slurpfile e "$WORK/ev_anna" --slurpfile s "$WORK/ev_anna_state" --slurpfile st "$WORK/evstate" '
        $e[0] as $e | $s[0] as $s | ($st[0].properties | map({(.id): .name}) | add) as $names
        | ($s.customProperties | length) > 0
        and $e.created == $s.createdAt and $e.uid == $s.uid and $e.active == $s.active
        and $e.lastLogin == $s.lastLogin and ($e.customUserProperties | has("Company"))
        and $e.customUserProperties == ($s.customProperties | with_entries(.key = $names[.key]))'
check "evidence user: progress = one {courseId, activePosts, completedPosts} per course of the offers" \
    jqt -n --slurpfile e "$WORK/ev_anna" --slurpfile s "$WORK/ev_anna_state" --slurpfile st "$WORK/evstate" '
        $e[0] as $e | $s[0] as $s
        | ([$s.offers[].offerId as $o | $st[0].offers[] | select(.id == $o) | .courses[].id] | unique) as $want
        | ([$e.progress[].courseId] | sort) == $want and ($want | length) == 3
        and all($e.progress[]; keys == ["activePosts","completedPosts","courseId"]
                              and (.activePosts|type) == "number" and (.completedPosts|type) == "number")'
sleep 1.1   # an empty progress window
for cid in $(jq -r '.progress[].courseId | @uri' "$WORK/ev_anna"); do
    req GET "/v1/users/course-progress/$cid/$(enc "$A")"
    jq -c '{courseId, activePosts: (.activePosts | length), completedPosts: (.completedPosts | length)}' "$WORK/body"
done >"$WORK/ev_progress"
check "evidence user: the counts are the lengths of course-progress's post lists" \
    bash -c "[ -s '$WORK/ev_progress' ] && diff <(jq -c '.progress[] | {courseId, activePosts, completedPosts}' '$WORK/ev_anna') '$WORK/ev_progress' >/dev/null"

# users/list
req GET /v1/users/list
expect 200 "evidence users/list: {data, nextPage}, default page 10, nextPage = last uid" \
    'keys == ["data","nextPage"] and (.data | length) == 10 and .nextPage == .data[-1].uid'
expect 200 "evidence users/list: records in the evidence shape" \
    'all(.data[]; (.uid|type) == "string" and has("created") and (.customUserProperties|type) == "object"
                  and (.progress|type) == "array" and ((has("offers") or has("createdAt")) | not)
                  and all(.progress[]; (.activePosts|type) == "number" and (.completedPosts|type) == "number"))'
for pl in 51 100; do
    req GET "/v1/users/list?pageLength=$pl"
    expect 400 "evidence pageLength=$pl -> 400, NestJS message array naming pageLength" \
        '. == {"statusCode":400,"message":["pageLength must not be greater than 50"],"error":"Bad Request"}'
done
req GET "/v1/users/list?pageLength=50"
expect 200 "evidence pageLength=50 -> 50 users" '(.data | length) == 50'
req GET "/v1/users/list?pageLength=1"
expect 200 "evidence pageLength=1 -> 1 user" '(.data | length) == 1 and .nextPage == .data[0].uid'
req GET "/v1/users/list?pageLength=0"
expect 400 "evidence pageLength=0 -> 400" '.statusCode == 400'
walk data 50 "" && expected true >"$WORK/expected"
check "evidence walk pageLength=50: all 200 users in uid order, last nextPage null" \
    bash -c "[ \$(wc -l <'$WORK/walk') = 200 ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"
walk data 7 "&offerId=$(enc bundle/2026)&active=false"
expected 'any(.offers[]; .offerId == "bundle/2026" and .active == false)' >"$WORK/expected"
expected '(.active | not) and any(.offers[]; .offerId == "bundle/2026")' >"$WORK/expected_member"
check "evidence offerId + active=false: filters on that offer's grant, not the member's flag" \
    bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null &&
             ! diff -q '$WORK/expected' '$WORK/expected_member' >/dev/null"
walk data 9 "&offerId=$(enc bundle/2026)&active=true"
expected 'any(.offers[]; .offerId == "bundle/2026" and .active == true)' >"$WORK/expected"
check "evidence offerId + active=true: members whose grant of it is active" \
    bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"
walk data 30 "&active=false"
expected '.active | not' >"$WORK/expected"
check "evidence active=false alone: the member's own flag" \
    bash -c "[ -s '$WORK/expected' ] && diff -q '$WORK/walk' '$WORK/expected' >/dev/null"

# offers, property definitions
req GET /v1/offers
expect 200 "evidence offers: a bare array of {id, name, hasCourseIds}, no courses, price/currency kept" \
    'type == "array" and length >= 5
     and all(.[]; (.id|type) == "string" and (.name|type) == "string" and (.hasCourseIds|type) == "array"
                  and all(.hasCourseIds[]; type == "string") and (has("courses") | not)
                  and has("price") and .currency == "EUR")'
check "evidence offers: hasCourseIds are the offer's course ids" \
    jqt -n --slurpfile e "$WORK/body" --slurpfile st "$WORK/evstate" \
        '[$e[0][] | {id, c: .hasCourseIds}] == [$st[0].offers[] | {id, c: [.courses[].id]}]'
req GET /v1/custom-user-properties/list
expect 200 "evidence property definitions: {properties: [{id, name, schoolId: school-1, type}]}" \
    'keys == ["properties"] and (.properties | length) == 4
     and all(.properties[]; keys == ["id","name","schoolId","type"] and .schoolId == "school-1")
     and any(.properties[]; .id == "p-company" and .name == "Company" and .type == "text")'

# set-custom-user-properties
E3=user00003@example.com
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$E3\",\"properties\":[{\"id\":\"p-company\",\"value\":\"Evidence GmbH\"},{\"id\":\"p-kdnr\",\"value\":7}]}"
expect 200 "evidence set-custom-user-properties {id, value} -> the user in the evidence shape" \
    '.email == $e and .customUserProperties.Company == "Evidence GmbH" and .customUserProperties.Kundennummer == 7
     and ((has("customProperties") or has("offers")) | not) and (.progress|type) == "array"' --arg e "$E3"
ctl GET "/_fake/user?email=$(enc "$E3")"
expect 200 "... stored by property id" '.customProperties["p-company"] == "Evidence GmbH" and .customProperties["p-kdnr"] == 7'
jq -S .customProperties "$WORK/body" >"$WORK/ev_props_before"
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$E3\",\"properties\":[{\"propertyId\":\"p-company\",\"value\":\"CHANGED\"}]}"
expect 400 "evidence: a propertyId item -> 400 the way NestJS's whitelist says it" \
    '. == {"statusCode":400,"message":["properties.0.property propertyId should not exist",
                                      "properties.0.id must be a string"],"error":"Bad Request"}'
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$E3\",\"properties\":[{\"id\":\"p-note\",\"value\":\"x\"},{\"propertyId\":\"p-company\",\"value\":\"CHANGED\"},{\"id\":\"p-phone\",\"propertyId\":\"p-phone\",\"value\":\"1\"}]}"
expect 400 "... the index is the item's" \
    '.message == ["properties.1.property propertyId should not exist", "properties.1.id must be a string",
                  "properties.2.property propertyId should not exist"]'
req POST /v1/users/set-custom-user-properties \
    "{\"email\":\"$E3\",\"properties\":[{\"id\":\"p-company\",\"value\":\"CHANGED\"},{\"id\":\"p-bogus\",\"value\":\"x\"}]}"
expect 400 "evidence: unknown id -> 400 'unknown property id p-bogus'" \
    '.statusCode == 400 and ([.message] | flatten | index("unknown property id p-bogus")) != null'
curl -sS "$BASE/_fake/user?email=$(enc "$E3")" | jq -S .customProperties >"$WORK/ev_props_after"
check "... and nothing changed" diff -q "$WORK/ev_props_before" "$WORK/ev_props_after"

# delete-users
text_ok() { # the body is exactly "ok", as text/plain; charset=utf-8
    [ "$ST" = 200 ] && [ "$(cat "$WORK/body")" = ok ] &&
        grep -qix 'content-type: text/plain; charset=utf-8.\?' "$WORK/hdr"
}
req DELETE /v1/users/delete-users '{"emails":["user00004@example.com","never@example.com"]}'
check "evidence DELETE delete-users -> 200, body ok, text/plain; charset=utf-8" text_ok
ctl GET "/_fake/user?email=user00004%40example.com"
expect 404 "... the member is gone"
req POST /v1/users/delete-users '{"emails":["user00005@example.com"]}'
check "evidence POST delete-users -> 200 text ok too" text_ok
ctl GET "/_fake/user?email=user00005%40example.com"
expect 404 "... that member is gone too"
req DELETE /v1/users/delete-users '{"emails":"x@example.com"}'
expect 400 "evidence delete-users with a bad body -> 400 JSON" '(.message|type) == "array"'

# login token (before anna loses her offers; the uid does not change)
ANNA_EV_UID=$(jq -r .uid "$WORK/ev_anna")
req GET "/v1/users/login-token/$(enc "$ANNA_EV_UID")"
expect 200 "evidence login-token: {token, loginUrl}, no expiresAt" \
    'keys == ["loginUrl","token"] and (.token | test("^[0-9a-f]{32,}$"))
     and .loginUrl == "https://school.example.com/login?token=" + .token'

# set-offer-state / set-order-state
req POST /v1/users/set-offer-state "{\"email\":\"$A\",\"offerId\":\"bundle/2026\"}"
expect 200 "evidence set-offer-state without active -> 200 {email, offerId}" \
    '. == {"email":$e,"offerId":"bundle/2026"}' --arg e "$A"
ctl GET "/_fake/user?email=$(enc "$A")"
expect 200 "... the offer is taken away from the member, the other stays" \
    '[.offers[].offerId] == ["100%-kurs"] and .active == true'
req POST /v1/users/set-offer-state "{\"email\":\"$A\",\"offerId\":\"bundle/2026\"}"
expect 404 "evidence set-offer-state without active, offer not held -> 404"
req POST /v1/users/set-offer-state "{\"email\":\"$A\",\"offerId\":\"100%-kurs\",\"active\":false}"
expect 200 "evidence set-offer-state with active -> as today" \
    '. == {"email":$e,"offerId":"100%-kurs","active":false}' --arg e "$A"
ctl GET "/_fake/user?email=$(enc "$A")"
expect 200 "... the grant is inactive, kept" '(.offers | length) == 1 and .offers[0].active == false and .active == false'
ORDER=$(jq -r '.offers[0].orderId' "$WORK/body")
req POST /v1/users/set-offer-state "{\"email\":\"$A\",\"offerId\":\"100%-kurs\",\"active\":\"yes\"}"
expect 400 "evidence set-offer-state active not a bool -> 400"
req POST /v1/users/set-order-state "{\"email\":\"$A\",\"orderId\":\"$ORDER\"}"
expect 200 "evidence set-order-state without active -> 200 {email, orderId}" \
    '. == {"email":$e,"orderId":$o}' --arg e "$A" --arg o "$ORDER"
ctl GET "/_fake/user?email=$(enc "$A")"
expect 200 "... the grant of that order is removed" '.offers == [] and .active == false'
req GET "/v1/users/find-by-mail/$(enc "$A")"
expect 200 "... and the evidence record shows no progress left" '.progress == [] and .active == false'

# unchanged endpoints
req GET /api-auth
expect 200 "evidence api-auth unchanged" '. == {"ok":true}'
req POST /v1/users/grant-user-offer-by-mail \
    '{"email":"ev.neu@example.com","firstname":"Eva","name":"Neu","grantOffer":"sales-2026"}'
expect 201 "evidence grant unchanged: 201 {uid, email, created}" \
    'keys == ["created","email","uid"] and .created == true and .email == "ev.neu@example.com"'
req GET /v1/users/find-by-mail/ev.neu%40example.com
expect 200 "... the new member in the evidence shape" \
    '.firstname == "Eva" and .active == true and (.created|type) == "string"
     and [.progress[].courseId] == ["c-communication"] and .customUserProperties == {}'
sleep 1.1
req GET "/v1/users/course-progress/list/user00001%40example.com"
expect 200 "evidence course-progress/list unchanged" \
    'type == "array" and all(.[]; has("courseId") and has("courseName") and (.progress|type) == "number")'
req GET "/v1/users/course-progress/c-excel/$(enc user00001@example.com)"
expect 200 "evidence course-progress unchanged (post lists)" \
    '(.completedPosts|type) == "array" and (.activePosts|type) == "array" and has("email")'
req GET /v1/exams/exam-1/results
expect 200 "evidence exam results unchanged" \
    'length > 0 and all(.[]; has("uid") and has("email") and (.passed|type) == "boolean" and has("submittedAt"))'
req POST /v1/chapters/chapter-access/enable \
    '{"email":"user00001@example.com","courseId":"c-excel","chapterId":"ch-1"}'
expect 201 "evidence chapter-access unchanged" \
    '. == {"email":"user00001@example.com","courseId":"c-excel","chapterId":"ch-1","enabled":true}'

# list shapes override the dialect's envelope
ctl POST /_fake/config '{"list_shape":"items"}'
req GET "/v1/users/list?pageLength=3"
expect 200 "evidence + list_shape items: {items, nextPage}, evidence records" \
    'keys == ["items","nextPage"] and (.items | length) == 3 and .nextPage == .items[-1].uid
     and all(.items[]; has("created") and (has("offers") | not))'
walk items 50 "" && expected true >"$WORK/expected"
check "evidence walk items shape: all users" same_walk
ctl POST /_fake/config '{"list_shape":"next_page"}'
req GET "/v1/users/list?pageLength=3"
expect 200 "evidence + list_shape next_page: {users, next_page}" \
    'keys == ["next_page","users"] and (.users | length) == 3 and all(.users[]; has("customUserProperties"))'
ctl POST /_fake/config '{"list_shape":"array"}'
req GET "/v1/users/list?pageLength=3"
expect 200 "evidence + list_shape array: a bare array of evidence records" \
    'type == "array" and length == 3 and all(.[]; has("progress"))'
ctl POST /_fake/config '{"list_shape":"users"}'
req GET "/v1/users/list?pageLength=3"
expect 200 "evidence + list_shape users (default): the dialect's {data, nextPage}" 'keys == ["data","nextPage"]'

# the dialect at run time
ctl POST /_fake/config '{"dialect":"guessed"}'
expect 200 "POST /_fake/config {dialect: guessed} at run time" '.dialect == "guessed"'
req GET "/v1/users/list?pageLength=2"
expect 200 "... users/list is {users, nextPage} with guessed records" \
    'keys == ["nextPage","users"] and all(.users[]; has("offers") and has("createdAt") and has("customProperties"))'
req GET "/v1/users/list?pageLength=100"
expect 200 "... pageLength=100 works again" '(.users | length) == 100'
req GET /v1/offers
expect 200 "... offers carry courses again" 'all(.[]; has("courses") and (has("hasCourseIds") | not))'
req GET /v1/custom-user-properties/list
expect 200 "... property definitions are a bare array again" 'type == "array" and length == 4'
ctl POST /_fake/config '{"dialect":"evidence"}'
expect 200 "POST /_fake/config {dialect: evidence}" '.dialect == "evidence"'
req GET "/v1/users/list?pageLength=2"
expect 200 "... users/list is {data, nextPage} again" 'keys == ["data","nextPage"]'
ctl POST /_fake/config '{"dialect":"nestjs"}'
expect 400 "an unknown dialect -> 400 message array" '(.message | length) == 1 and (.message[0] | test("dialect"))'
ctl GET /_fake/config
expect 200 "... and the dialect did not change" '.dialect == "evidence"'

BASE=$MAIN_BASE
ctl POST /_fake/config '{"dialect":"evidence"}'
req GET /v1/offers
expect 200 "the guessed fake switched to evidence at run time: offers carry hasCourseIds" \
    'all(.[]; has("hasCourseIds") and (has("courses") | not))'
req GET "/v1/users/find-by-mail/$(enc jürgen.müller@example.de)"
expect 200 "... and find-by-mail answers the evidence shape" 'has("created") and (has("offers") | not)'
ctl POST /_fake/config '{"dialect":"guessed"}'
req GET "/v1/users/find-by-mail/$(enc jürgen.müller@example.de)"
expect 200 "... and back to guessed" 'has("createdAt") and has("offers")'

# ---- --serve-dir: answers saved by the mount's --probe-save ---------------------------

SD=$WORK/saved
mkdir -p "$SD"
cat >"$SD/offers.json" <<'EOF'
{"endpoint": "GET /v1/offers", "status": 200, "content_type": "application/json",
 "body": [{"id": "o/1", "name": "Gespeichert ü", "hasCourseIds": ["c-1"], "extra": {"n": 1.5}}]}
EOF
cat >"$SD/find.json" <<'EOF'
{"endpoint": "GET /v1/users/find-by-mail", "status": 200,
 "content_type": "application/json; charset=utf-8",
 "body": {"uid": "u-saved", "email": "saved@example.com", "created": "2025-01-01T00:00:00.000Z", "progress": []}}
EOF
cat >"$SD/list.json" <<'EOF'
{"endpoint": "GET /v1/users/list", "status": 200, "content_type": "application/json",
 "body": {"data": [{"uid": "u-saved"}], "nextPage": null}}
EOF
cat >"$SD/delete.json" <<'EOF'
{"endpoint": "DELETE /v1/users/delete-users", "status": 200,
 "content_type": "text/plain; charset=utf-8", "text": "ok"}
EOF
cat >"$SD/exam.json" <<'EOF'
{"endpoint": "GET /v1/exams/results", "status": 404, "content_type": "application/json",
 "body": {"statusCode": 404, "message": "Exam not found", "error": "Not Found"}}
EOF
echo 'not a saved answer, not *.json: ignored' >"$SD/README.txt"

check "--serve-dir: a fake serving saved answers starts (--users/--dialect ignored)" \
    start_server saved --serve-dir "$SD" --users 50 --dialect evidence --quiet
BASE=$SERVER_BASE
saved_is() { # saved_is STATUS FILE: the answer has STATUS and the file's "body" (as JSON)
    [ "$ST" = "$1" ] &&
        jq -e -n --slurpfile a "$WORK/body" --slurpfile f "$2" '$a[0] == $f[0].body' >/dev/null 2>&1
}
req GET /v1/offers
check "serve-dir GET /v1/offers: the saved status and body" saved_is 200 "$SD/offers.json"
check "... with the saved content type" grep -qix 'content-type: application/json.\?' "$WORK/hdr"
req GET "/v1/users/find-by-mail/$(enc anyone@example.com)"
saved_is 200 "$SD/find.json" && R1=ok || R1=bad
req GET "/v1/users/find-by-mail/$(enc "a/b%c@example.org")?x=1"
saved_is 200 "$SD/find.json" && R2=ok || R2=bad
check "serve-dir find-by-mail: the same saved answer whatever the email ($R1 $R2)" test "$R1 $R2" = "ok ok"
req GET "/v1/users/list?pageLength=999&offerId=nope&active=maybe&lastLoadedId=zz"
check "serve-dir users/list: the saved answer whatever the query (no 400)" saved_is 200 "$SD/list.json"
req DELETE /v1/users/delete-users '{"emails":["x@example.com"]}'
check "serve-dir DELETE delete-users: the saved text, as text/plain" text_ok
req GET /v1/exams/any-exam/results
check "serve-dir exams/results: the saved status (404) and body" saved_is 404 "$SD/exam.json"
req POST /v1/users/delete-users '{"emails":["x@example.com"]}'
expect 404 "serve-dir: an endpoint without a file (POST delete-users) -> 404 NestJS error" \
    '.statusCode == 404 and (.message|type) == "string" and .error == "Not Found"'
req GET /v1/users/login-token/u-1
expect 404 "serve-dir: login-token without a file -> 404" '.statusCode == 404'
req GET /v1/nowhere
expect 404 "serve-dir: an unknown path -> 404" '.statusCode == 404'
noauth GET /v1/offers
expect 401 "serve-dir: the API key is still checked" '.statusCode == 401'
req POST /v1/users/grant-user-offer-by-mail '{"email":'
expect 404 "serve-dir: the request body is not even parsed (no file: 404)"
ctl GET /_fake/stats
expect 200 "serve-dir: requests are counted by endpoint and status" \
    '.total == 11 and .by_endpoint["GET /v1/users/find-by-mail"] == 2 and .by_endpoint["GET /v1/offers"] == 2
     and .by_endpoint.other == 1 and .by_status == {"200":5,"404":5,"401":1}'
ctl GET /_fake/log
expect 200 "serve-dir: requests are logged (path, endpoint, status, body)" \
    'length == 11 and .[4].endpoint == "DELETE /v1/users/delete-users" and .[4].status == 200
     and .[4].body == {"emails":["x@example.com"]} and .[2].path == "/v1/users/find-by-mail/a%2Fb%25c%40example.org?x=1"'

serve_dir_fails() { # serve_dir_fails DIR PATTERN: exit 2, one stderr line matching PATTERN
    local rc
    FAKE_API_KEY="$KEY" timeout 10 python3 "$FAKE" --port 0 --quiet --serve-dir "$1" \
        >/dev/null 2>"$WORK/sd.err"
    rc=$?
    [ "$rc" = 2 ] && [ "$(wc -l <"$WORK/sd.err")" = 1 ] && grep -q -- "$2" "$WORK/sd.err"
}
mkdir -p "$WORK/sd_badjson" "$WORK/sd_endpoint" "$WORK/sd_nobody" "$WORK/sd_empty" \
    "$WORK/sd_unreadable/x.json" "$WORK/sd_dup" "$WORK/sd_status"
cp "$SD/offers.json" "$WORK/sd_badjson/"
printf '{"endpoint": "GET /v1/offers", "status": 200, "body": [' >"$WORK/sd_badjson/broken.json"
printf '{"endpoint": "GET /v1/nope", "status": 200, "body": 1}' >"$WORK/sd_endpoint/a.json"
printf '{"endpoint": "GET /v1/offers", "status": 200}' >"$WORK/sd_nobody/a.json"
cp "$SD/offers.json" "$WORK/sd_dup/a.json"
cp "$SD/offers.json" "$WORK/sd_dup/b.json"
printf '{"endpoint": "GET /v1/offers", "status": "200", "body": []}' >"$WORK/sd_status/a.json"
check "serve-dir: a file that is not JSON -> one line naming it, exit 2" \
    serve_dir_fails "$WORK/sd_badjson" "broken.json"
check "serve-dir: an unknown endpoint -> one line, exit 2" serve_dir_fails "$WORK/sd_endpoint" "GET /v1/nope"
check "serve-dir: neither body nor text -> one line, exit 2" serve_dir_fails "$WORK/sd_nobody" "a.json"
check "serve-dir: a status that is not an integer -> one line, exit 2" serve_dir_fails "$WORK/sd_status" "status"
check "serve-dir: a *.json that cannot be read -> one line, exit 2" \
    serve_dir_fails "$WORK/sd_unreadable" "x.json"
check "serve-dir: two files for one endpoint -> one line, exit 2" serve_dir_fails "$WORK/sd_dup" "b.json"
check "serve-dir: no *.json file -> one line, exit 2" serve_dir_fails "$WORK/sd_empty" "no \*.json"
check "serve-dir: a missing directory -> one line, exit 2" serve_dir_fails "$WORK/no-such-dir" "no-such-dir"
BASE=$MAIN_BASE

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
start_server items --users 12 --quiet --list-shape items --dialect evidence
BASE=$SERVER_BASE
req GET /v1/users/list
expect 200 "--list-shape items --dialect evidence on the command line: {items, nextPage}" \
    'keys == ["items","nextPage"] and (.items | length) == 10 and all(.items[]; has("created"))'
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
    check "100k users: listening after ${SEED_S}s (< 60 s: seeding is linear, not quadratic; ~2 s on an idle machine)" awk -v t="$SEED_S" 'BEGIN { exit !(t < 60) }'
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' "$BASE/v1/users/list?pageLength=100")
    check "100k users: a page of 100 in ${T}s" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.5) }' && jq -e '(.users|length) == 100' '$WORK/body' >/dev/null"
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' \
        "$BASE/v1/users/list?pageLength=100&lastLoadedId=u-099950&active=false")
    check "100k users: a filtered page near the end in ${T}s, nextPage null" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.5) }' && jq -e '.nextPage == null and all(.users[]; .active == false)' '$WORK/body' >/dev/null"
    ctl POST /_fake/config '{"dialect":"evidence"}'
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' \
        "$BASE/v1/users/list?pageLength=50&lastLoadedId=u-050000")
    check "100k users, evidence: a page of 50 (progress rendered) in ${T}s" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.5) }' && jq -e '(.data|length) == 50 and all(.data[]; has(\"progress\"))' '$WORK/body' >/dev/null"
    T=$(curl -sS -H @"$WORK/keyhdr" -o "$WORK/body" -w '%{time_total}' \
        "$BASE/v1/users/list?pageLength=50&lastLoadedId=u-099900&offerId=sales-2026&active=false")
    check "100k users, evidence: an offerId+active page near the end in ${T}s, nextPage null" \
        bash -c "awk -v t='$T' 'BEGIN { exit !(t < 0.5) }' && jq -e '.nextPage == null and (.data|type) == \"array\"' '$WORK/body' >/dev/null"
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
