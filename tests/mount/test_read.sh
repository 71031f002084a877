#!/usr/bin/env bash
# Mount tests of everything a user can READ (LAYOUT.md "The tree"), with the
# tools a user would use: ls, cat, jq, find, grep, stat, readlink.
# Every expected value comes from the fake's /_fake/state or from the fake
# API itself, never from the code under test.
#
# Both response dialects of the fake (MSFS_DIALECT, API.md "Evidence and
# dialects"): what a member holds is checked against the stored state
# (fake_state, fake_user); files that pass API JSON through verbatim
# (user.json, offer.json, properties.json) against the records as the API
# answers them in the current dialect (fake_state_api, fake_user_api).
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=250
PAGE=100
fake_start --users "$NUSERS" --seed 3
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
STATE_API=$(fake_state_api) || t_bail "cannot read /_fake/state?view=api"

# jq over the fake's state: stored (sj) and as the API answers it (sa)
sj() { jq -r "$@" <<<"$STATE"; }
sa() { jq -r "$@" <<<"$STATE_API"; }

# The page length the mount's list requests end up with, and how many list
# requests are refused before it settles: the evidence fake refuses
# pageLength above 50 (400); the mount halves page_size once, to 50, and
# keeps it for the rest of the mount.
EFF_PAGE=$PAGE
REFUSED=0
if dialect_evidence && ((PAGE > 50)); then
	EFF_PAGE=50
	REFUSED=1
fi

msfs_mount "page_size=$PAGE" cache_ttl=3600 || t_bail "cannot mount"
M=$MNT
ME=$(id -u)

# Sample members: the first five (awkward emails), one without offers and
# one holding an inactive grant, each once.
mapfile -t SAMPLE < <(sj '
	[.users[0:5][].email,
	 first(.users[] | select((.offers // []) | length == 0) | .email),
	 first(.users[] | select(any(.offers[]?; .active == false)) | .email)]
	| unique[]')
ALL_EMAILS=$(sj '.users[].email' | enc_lines)

# Prints "E -> TARGET" for each name in $2 (one per line) whose symlink in
# directory $1 does not point to $3E.
bad_links() {
	local dir=$1 names=$2 prefix=$3 e link
	while IFS= read -r e; do
		[[ -n $e ]] || continue
		link=$(readlink "$dir/$e")
		[[ $link == "$prefix$e" ]] || printf '%s -> %s\n' "$e" "$link"
	done <<<"$names"
}

# =====================================================================
# Lookups before anything was listed
# =====================================================================

# A member that was never listed: one find-by-mail, no listing.
E=$(sj '.users[7].email')
fake_reset
t_ok "cat users/E/user.json before any listing" cat "$M/users/$(enc "$E")/user.json"
t_json_eq "$T_OUT" "$(fake_user_api "$E")" "unlisted member's user.json equals the fake's record (as the API answers it)"
t_cost "looking up an unlisted member costs one find-by-mail" \
	"GET /v1/users/find-by-mail=1" "GET /v1/users/list=0" "total=1"

# An unknown member: ENOENT, and the 404 shows in .memberspot/errors.
NOBODY="nobody-$RANDOM$RANDOM@example.com"
t_fails_with ENOENT "unknown email: cat user.json fails with ENOENT" \
	cat "$M/users/$NOBODY/user.json"
t_fails "unknown email: test -e users/E is false" test -e "$M/users/$NOBODY"
t_fails_with ENOENT "unknown email: ls users/E fails with ENOENT" ls "$M/users/$NOBODY"
t_ok "cat .memberspot/errors" cat "$M/.memberspot/errors"
t_like "$T_OUT" '404' ".memberspot/errors mentions the 404 of the unknown member"

# =====================================================================
# Top level
# =====================================================================

t_same_lines "$(ls -A "$M")" \
	"$(printf '%s\n' README properties.json users.jsonl users.csv offers courses by-status users exams .memberspot)" \
	"the mount's top level is exactly as in LAYOUT.md"
t_ok "README is a non-empty file" test -f "$M/README" -a -s "$M/README"

t_ok "cat properties.json" cat "$M/properties.json"
t_json_eq "$T_OUT" "$(sa '.properties')" "properties.json equals the fake's definitions (as the API answers them)"

# =====================================================================
# offers/
# =====================================================================

mapfile -t OFFERS < <(sj '.offers[].id')
t_same_lines "$(ls -A "$M/offers")" "$(printf '%s\n' "${OFFERS[@]}" | enc_lines)" \
	"offers/ lists every offer id, encoded"
for o in "${OFFERS[@]}"; do
	[[ $o == *[/%]* || $o == .* ]] || continue
	t_ok "awkward offer id '$o' is offers/$(enc "$o")" test -d "$M/offers/$(enc "$o")"
done

# Listing one offer's members uses the offerId filter: at most one list
# call per page, nothing per member. It is the mount's first list request:
# under the evidence dialect, one more (pageLength=$PAGE, refused with a
# 400), then pages of $EFF_PAGE.
o=${OFFERS[0]}
n=$(sj --arg o "$o" '[.users[] | select(any(.offers[]?; .offerId == $o))] | length')
pages=$(((n + EFF_PAGE - 1) / EFF_PAGE))
((pages > 0)) || pages=1
pages=$((pages + REFUSED))
fake_reset
ls -A "$M/offers/$(enc "$o")/members" >/dev/null
t_cost "listing offers/O/members ($n members) costs at most $pages list call(s)" \
	"GET /v1/users/list<=$pages" "total<=$pages"
if ((REFUSED)); then
	t_same_lines "$(fake_log | jq -r '.[] | select(.endpoint == "GET /v1/users/list")
		| "\(.status) \(.path | capture("pageLength=(?<n>[0-9]+)").n)"' | sort | uniq -c |
		sed 's/^ *//')" "1 400 $PAGE"$'\n'"$((pages - 1)) 200 $EFF_PAGE" \
		"evidence dialect: one list request with pageLength=$PAGE refused (400), the others with pageLength=$EFF_PAGE"
fi

for o in "${OFFERS[@]}"; do
	d=$M/offers/$(enc "$o")
	t_same_lines "$(ls -A "$d")" $'grant\nmembers\nmembers.csv\nname\noffer.json' \
		"offers/$(enc "$o")/ holds offer.json, name, members, members.csv, grant"
	t_ok "cat offers/$(enc "$o")/offer.json" cat "$d/offer.json"
	t_json_eq "$T_OUT" "$(sa --arg o "$o" '.offers[] | select(.id == $o)')" \
		"offers/$(enc "$o")/offer.json equals the fake's offer (as the API answers it)"
	t_file_is "$d/name" "$(sj --arg o "$o" '.offers[] | select(.id == $o) | .name')"$'\n' \
		"offers/$(enc "$o")/name is the offer's name and a newline"

	want=$(sj --arg o "$o" '.users[] | select(any(.offers[]?; .offerId == $o)) | .email' | enc_lines)
	t_same_lines "$(ls -A "$d/members")" "$want" \
		"offers/$(enc "$o")/members/ lists the members holding it"
	wrong=$(bad_links "$d/members" "$want" ../../../users/)
	t_is "$wrong" "" "offers/$(enc "$o")/members/E -> ../../../users/E for every member"
done

# Pass-through: fields the filesystem does not know stay.
o=$(sj 'first(.offers[] | select(has("price")) | .id)')
if [[ -n $o ]]; then
	t_ok "offer.json keeps the extra field \"price\"" \
		jq -e 'has("price")' "$M/offers/$(enc "$o")/offer.json"
fi

# A member link leads to the member's directory.
e=$(ls -A "$M/offers/$(enc "${OFFERS[0]}")/members" | head -n 1)
if [[ -n $e ]]; then
	t_ok "offers/O/members/E/user.json reads through the link" \
		cat "$M/offers/$(enc "${OFFERS[0]}")/members/$e/user.json"
fi

t_ok "find offers -maxdepth 2" find "$M/offers" -maxdepth 2
t_is "$T_ERR" "" "find offers -maxdepth 2 prints no errors"
want=$(for o in "${OFFERS[@]}"; do
	printf '%s\n' "$M/offers/$(enc "$o")" "$M/offers/$(enc "$o")/offer.json"
done)
t_is "$(comm -23 <(sort <<<"$want") <(sort <<<"$T_OUT"))" "" \
	"find offers -maxdepth 2 shows every offer and its offer.json"

# =====================================================================
# courses/
# =====================================================================

mapfile -t COURSES < <(sj '[.offers[].courses[]?.id] | unique[]')
t_same_lines "$(ls -A "$M/courses")" "$(printf '%s\n' "${COURSES[@]}" | enc_lines)" \
	"courses/ lists the course ids named by offers, encoded"
for c in "${COURSES[@]}"; do
	d=$M/courses/$(enc "$c")
	want=$(sj --arg c "$c" '
		[.offers[] | select(any(.courses[]?; .id == $c)) | .id] as $os
		| .users[] | select(any(.offers[]?; .offerId as $x | $os | index($x)))
		| .email' | enc_lines)
	t_same_lines "$(ls -A "$d/members")" "$want" \
		"courses/$(enc "$c")/members/ lists the members of offers containing it"
	wrong=$(bad_links "$d/members" "$want" ../../../users/)
	t_is "$wrong" "" "courses/$(enc "$c")/members/E -> ../../../users/E for every member"
done

# =====================================================================
# by-status/
# =====================================================================

t_same_lines "$(ls -A "$M/by-status")" $'active\ninactive' "by-status/ holds active and inactive"
for s in active inactive; do
	want=$(sj --arg s "$s" '.users[] | select(.active == ($s == "active")) | .email' | enc_lines)
	got=$(ls -A "$M/by-status/$s")
	t_same_lines "$got" "$want" "by-status/$s/ lists the fake's $s members ($(wc -l <<<"$want"))"
	wrong=$(bad_links "$M/by-status/$s" "$got" ../../users/)
	t_is "$wrong" "" "by-status/$s/E -> ../../users/E for every member"
done
t_is "$( (ls -A "$M/by-status/active"; ls -A "$M/by-status/inactive") | sort | uniq -d)" "" \
	"no member is both active and inactive"

# =====================================================================
# users/: listing and its cost
# =====================================================================

# Definitions and offers first, so the counts below see only users.
cat "$M/properties.json" >/dev/null
ls -A "$M/offers" >/dev/null
# The members links above may have been served from a filtered listing;
# the full listing is still cold.
fake_reset
# (Under the evidence dialect the page length was learned above: pages of
# $EFF_PAGE, no refused request.)
t_ok "ls users/" ls -A "$M/users"
t_cost "a cold ls users/ costs exactly $(((NUSERS + EFF_PAGE - 1) / EFF_PAGE)) list calls and nothing else" \
	"GET /v1/users/list=$(((NUSERS + EFF_PAGE - 1) / EFF_PAGE))" "total=$(((NUSERS + EFF_PAGE - 1) / EFF_PAGE))"
t_same_lines "$T_OUT" "$ALL_EMAILS" "users/ lists all $NUSERS members, encoded"
t_is "$(wc -l <<<"$T_OUT")" "$NUSERS" "users/ has $NUSERS entries"
# Every record is kept packed: each distinct key to one byte, up to 30
# (packrec.h); the status says how many, here the fake's records' keys.
KEYS=$(sa '[.users[] | .. | objects | keys[]] | unique | length')
((KEYS > 30)) && KEYS=30
t_is "$(grep '^record keys packed:' "$M/.memberspot/status")" "record keys packed: $KEYS of 30" \
	"the status counts the $KEYS distinct keys of the records listed, packed to a byte each"
for e in "${SAMPLE[@]}"; do
	[[ $e == *[^a-z0-9.@]* ]] || continue
	t_ok "awkward email '$e' is users/$(enc "$e")/" test -d "$M/users/$(enc "$e")"
done

fake_reset
t_ok "cat users/*/user.json" sh -c 'cat "$1"/users/*/user.json' _ "$M"
ALL_JSON=$T_OUT
t_ok "ls -l users/*/" sh -c 'ls -l "$1"/users/*/' _ "$M"
t_cost "cat users/*/user.json and ls -l users/*/ after ls users/ cost no request" "total=0"
t_same_lines "$(jq -S -c . <<<"$ALL_JSON")" "$(sa '.users[]' | jq -S -c .)" \
	"every users/E/user.json equals the fake's record (as the API answers it)"

# grep over the records finds exactly the members carrying a value.
v=$(sj 'first(.users[].customProperties // {} | to_entries[] | .value
	| select(type == "string" and test("^[A-Za-z][A-Za-z0-9 ]{2,}$")))')
if [[ -n $v ]]; then
	want=$(sa --arg v "$v" '.users[] | select(tojson | contains($v)) | .email' |
		enc_lines | sed "s|.*|$M/users/&/user.json|")
	got=$(cd "$M/users" && grep -lF -- "$v" ./*/user.json | sed "s|^\./|$M/users/|")
	t_same_lines "$got" "$want" "grep -l '$v' users/*/user.json finds its members"
else
	t_skip "grep -l over users/*/user.json" "no suitable value in the fake's data"
fi

# =====================================================================
# users/EMAIL/ in detail, for the sample members
# =====================================================================

mapfile -t PROP_NAMES < <(sj '.properties[].name')
for e in "${SAMPLE[@]}"; do
	u=$(fake_user "$e")
	d=$M/users/$(enc "$e")
	ue=$(enc "$e")

	t_same_lines "$(ls -A "$d")" "$(printf '%s\n' user.json offers orders properties \
		properties.json chapters)" \
		"users/$ue/ lists the files of LAYOUT.md (not the unlisted progress.json, progress/, login-token)"
	t_json_eq "$(cat "$d/user.json")" "$(fake_user_api "$e")" \
		"users/$ue/user.json equals the fake's record (as the API answers it)"
	t_is "$(tail -c 1 "$d/user.json" | od -An -tx1 | tr -d ' ')" 0a \
		"users/$ue/user.json ends with a newline"
	t_ok "users/$ue/user.json is pretty-printed" test "$(wc -l <"$d/user.json")" -gt 1

	# offers/ and orders/: one file per grant, "active" or "inactive"
	t_same_lines "$(ls -A "$d/offers")" "$(jq -r '.offers[]?.offerId' <<<"$u" | enc_lines)" \
		"users/$ue/offers/ lists the member's offers"
	# Under the evidence dialect records carry no orders: orders/ lists
	# only orders made known through this mount (none here), and an order
	# the mount knows nothing of reads as an empty file.
	if dialect_evidence; then
		t_same_lines "$(ls -A "$d/orders")" "" \
			"users/$ue/orders/ is empty (evidence dialect: no order made known through this mount)"
	else
		t_same_lines "$(ls -A "$d/orders")" "$(jq -r '.offers[]?.orderId // empty' <<<"$u" | enc_lines)" \
			"users/$ue/orders/ lists the member's orders"
	fi
	wrong=
	while IFS=$'\t' read -r oid rid act; do
		[[ -n $oid ]] || continue
		want=$([[ $act == true ]] && echo active || echo inactive)
		got=$(cat "$d/offers/$(enc "$oid")" 2>&1)
		[[ $got == "$want" ]] || wrong+="offers/$oid: '$got' want '$want'"$'\n'
		[[ -n $rid ]] || continue
		! dialect_evidence || want=
		got=$(cat "$d/orders/$(enc "$rid")" 2>&1)
		[[ $got == "$want" ]] || wrong+="orders/$rid: '$got' want '$want'"$'\n'
	done < <(jq -r '.offers[]? | [.offerId, .orderId // "", .active] | @tsv' <<<"$u")
	if dialect_evidence; then
		t_is "$wrong" "" "users/$ue/offers/O read the grant's state, orders/R read empty (evidence dialect: unknown to the mount)"
	else
		t_is "$wrong" "" "users/$ue/offers/O and orders/R read the grant's state"
	fi
	oid=$(jq -r 'first(.offers[]?.offerId) // empty' <<<"$u")
	if [[ -n $oid ]]; then
		act=$(jq -r 'first(.offers[]?.active)' <<<"$u")
		t_file_is "$d/offers/$(enc "$oid")" \
			"$([[ $act == true ]] && echo active || echo inactive)"$'\n' \
			"users/$ue/offers/$(enc "$oid") is one line with a newline"
	fi

	# properties/NAME and properties.json
	t_same_lines "$(ls -A "$d/properties")" "$(printf '%s\n' "${PROP_NAMES[@]}" | enc_lines)" \
		"users/$ue/properties/ has one file per defined property"
	wrong=
	while IFS=$'\t' read -r name isset value; do
		want=
		[[ $isset == 0 ]] || want=$value$'\n'
		got=$(cat -- "$d/properties/$(enc "$name")" 2>&1; printf x)
		got=${got%x}
		[[ $got == "$want" ]] || wrong+="$name: $(printf '%q' "$got") want $(printf '%q' "$want")"$'\n'
	done < <(jq -r --argjson u "$u" '.[] | .name as $n | .id as $id
		| ($u.customProperties // {})[$id] as $v
		| [$n, (if $v == null then 0 else 1 end),
		   (if $v == null then "" elif ($v | type) == "string" then $v else ($v | tojson) end)]
		| @tsv' <<<"$(sj -c '.properties')")
	t_is "$wrong" "" "users/$ue/properties/NAME holds the value (empty when unset)"

	t_ok "cat users/$ue/properties.json" cat "$d/properties.json"
	got=$T_OUT
	check=$(jq -n --argjson got "$got" --argjson u "$u" --argjson defs "$(sj -c '.properties')" '
		[$defs[] | {key: .name, value: (($u.customProperties // {})[.id])}] as $want
		| [($want[] | select(.value != null)
		     | select($got[.key] != (.value | if type == "string" then . else tojson end))
		     | "\(.key): got \($got[.key] | tojson), want \(.value | tojson)"),
		   ($want[] | select(.value == null) | select(($got[.key] // "") != "")
		     | "\(.key): unset but got \($got[.key] | tojson)"),
		   ($got | keys[] | select(. as $k | $defs | map(.name) | index($k) | not)
		     | "\(.): not a defined property name")]
		| .[]' 2>&1)
	t_is "$check" "" "users/$ue/properties.json maps each property name to its value"

	# progress
	pl=$(fake_api GET "/v1/users/course-progress/list/$(urlenc "$e")")
	t_ok "cat users/$ue/progress.json" cat "$d/progress.json"
	t_json_eq "$T_OUT" "$pl" "users/$ue/progress.json equals the fake's course-progress list"
	t_is "$(stat -c %s "$d/progress.json")" "$(wc -c <"$d/progress.json")" \
		"users/$ue/progress.json: st_size (after a read) equals its length"
	mapfile -t CS < <(jq -r '.[]?.courseId' <<<"$pl")
	if [[ ${#CS[@]} -gt 0 ]]; then
		t_is "$(comm -23 <(printf '%s.json\n' "${CS[@]}" | enc_lines | sort) \
			<(ls -A "$d/progress" | sort))" "" \
			"users/$ue/progress/ lists C.json for each enrolled course"
		c=${CS[0]}
		t_ok "cat users/$ue/progress/$(enc "$c").json" cat "$d/progress/$(enc "$c").json"
		t_json_eq "$T_OUT" \
			"$(fake_api GET "/v1/users/course-progress/$(urlenc "$c")/$(urlenc "$e")")" \
			"users/$ue/progress/$(enc "$c").json equals the fake's course progress"
	fi
done

# =====================================================================
# login-token: fresh on every open, one request per open
# =====================================================================

e=$(enc "${SAMPLE[0]}")
fake_reset
t1=$(cat "$M/users/$e/login-token")
t_cost "one open of login-token costs one login-token request" \
	"GET /v1/users/login-token=1" "total=1"
t2=$(cat "$M/users/$e/login-token")
t_cost "a second open costs one more" "GET /v1/users/login-token=2" "total=2"
t_like "$t1" '[^[:space:]]' "login-token is not empty"
t_ok "two reads of login-token differ" test "$t1" != "$t2"

# =====================================================================
# exams/
# =====================================================================

mapfile -t EXAMS < <(sj '.exams | keys[]')
for x in "${EXAMS[@]}"; do
	d=$M/exams/$(enc "$x")
	want=$(sj -c --arg x "$x" '.exams[$x]')
	t_ok "cat exams/$(enc "$x")/results.json" cat "$d/results.json"
	t_json_eq "$T_OUT" "$want" "exams/$(enc "$x")/results.json equals the fake's results"
	t_ok "cat exams/$(enc "$x")/results.csv" cat "$d/results.csv"
	csv=$T_OUT
	n=$(jq length <<<"$want")
	t_is "$(printf '%s\n' "$csv" | wc -l)" "$((n + 1))" \
		"exams/$(enc "$x")/results.csv: a header row and $n result rows"
	t_like "$(head -n 1 <<<"$csv")" '[Ee][Mm][Aa][Ii][Ll]' \
		"exams/$(enc "$x")/results.csv: the header row names the email column"
	wrong=
	while IFS=$'\t' read -r em cnt; do
		got=$(tail -n +2 <<<"$csv" | grep -cF -- "$em")
		[[ $got == "$cnt" ]] || wrong+="$em: $got rows, want $cnt"$'\n'
	done < <(jq -r 'group_by(.email)[] | [.[0].email, length] | @tsv' <<<"$want")
	t_is "$wrong" "" "exams/$(enc "$x")/results.csv: one row per submission"
	t_same_lines "$(ls -A "$d")" $'results.csv\nresults.json' "exams/$(enc "$x")/ holds results.json and results.csv"
done
t_fails_with ENOENT "unknown exam: ls exams/X fails with ENOENT" ls "$M/exams/no-such-exam-$RANDOM"
t_fails_with ENOENT "unknown exam: cat exams/X/results.json fails with ENOENT" \
	cat "$M/exams/no-such-exam-$RANDOM/results.json"
t_same_lines "$(ls -A "$M/exams")" "$(printf '%s\n' "${EXAMS[@]}" | enc_lines)" \
	"exams/ lists the exams looked up so far (not the unknown ones)"

# =====================================================================
# Sizes, modes, owner
# =====================================================================

e=$(enc "${SAMPLE[0]}")
o=$(enc "${OFFERS[0]}")
x=$(enc "${EXAMS[0]}")
p=$(enc "${PROP_NAMES[0]}")
for f in README properties.json "offers/$o/offer.json" "offers/$o/name" \
	"users/$e/user.json" "users/$e/properties.json" "users/$e/properties/$p" \
	"exams/$x/results.json" "exams/$x/results.csv"; do
	t_is "$(stat -c %s "$M/$f")" "$(wc -c <"$M/$f")" "$f: st_size equals the bytes read"
done

# "%F %a %u" with an empty regular file still called "regular file"
kind() { stat -c '%F %a %u' "$1" | sed 's/^regular empty file/regular file/'; }
uo=$(ls -A "$M/users/$e/offers" | head -n 1)
ur=$(ls -A "$M/users/$e/orders" | head -n 1)
# evidence dialect: orders/ lists none here, but any order can be looked up
if dialect_evidence && [[ -z $ur ]]; then
	ur=$(fake_user "${SAMPLE[0]}" | jq -r 'first(.offers[]?.orderId // empty) // empty' | enc_lines)
fi
uc=$(ls -A "$M/users/$e/progress" | head -n 1)
c=$(enc "${COURSES[0]}")
# LAYOUT.md: "Files are mode 0600". Files that cannot be written are
# listed apart, so that a decision to show them as 0400 is a one-line
# change here (and in LAYOUT.md).
RO_FILE_MODE=400
for f in "users/$e/properties.json" "users/$e/properties/$p" \
	${uo:+"users/$e/offers/$uo"} ${ur:+"users/$e/orders/$ur"}; do
	t_is "$(kind "$M/$f")" "regular file 600 $ME" "$f: an editable file, mode 0600, mine"
done
for f in README properties.json "offers/$o/offer.json" "offers/$o/name" \
	"users/$e/user.json" "users/$e/progress.json" "users/$e/login-token" \
	${uc:+"users/$e/progress/$uc"} \
	"exams/$x/results.json" "exams/$x/results.csv" \
	.memberspot/status .memberspot/errors .memberspot/journal; do
	t_is "$(kind "$M/$f")" "regular file $RO_FILE_MODE $ME" \
		"$f: a read-only file, mode 0$RO_FILE_MODE, mine"
done
for f in "offers/$o/grant" "users/$e/chapters" .memberspot/refresh; do
	t_is "$(kind "$M/$f")" "regular file 600 $ME" "$f: a control file, mode 0600 (reads as empty), mine"
done
for f in . offers "offers/$o" "offers/$o/members" courses "courses/$c" \
	"courses/$c/members" by-status by-status/active by-status/inactive users \
	"users/$e" "users/$e/offers" "users/$e/orders" "users/$e/properties" \
	"users/$e/progress" exams "exams/$x" .memberspot; do
	t_is "$(kind "$M/$f")" "directory 700 $ME" "$f/: a directory, mode 0700, mine"
done
m=$(ls -A "$M/offers/$o/members" | head -n 1)
if [[ -n $m ]]; then
	t_is "$(stat -c '%F %u' "$M/offers/$o/members/$m")" "symbolic link $ME" \
		"offers/$o/members/E is a symlink, mine"
fi

# =====================================================================
# .memberspot/
# =====================================================================

t_same_lines "$(ls -A "$M/.memberspot")" $'errors\njournal\nrefresh\nstatus' \
	".memberspot/ holds status, errors, journal, refresh"
t_ok "cat .memberspot/status" cat "$M/.memberspot/status"
t_like "$T_OUT" 'users/list' ".memberspot/status counts requests by endpoint"

# =====================================================================
# users/ read in pieces: offsets, rewinddir, telldir and seekdir
# =====================================================================

# $NUSERS names do not fit one READDIR reply (a page): the kernel asks again
# from the offset the last reply ended at, and the daemon serves the
# listing it took when reading began (fs.c), by offset.
DIRPL='
opendir(my $d, $ARGV[0]) or die "opendir: $!\n";
my @a = grep { !/^\.\.?$/ } readdir($d);
rewinddir($d);
my @b = grep { !/^\.\.?$/ } readdir($d);
rewinddir($d);
readdir($d) for 1 .. 100;
my $pos = telldir($d);
my @c = map { scalar readdir($d) } 1 .. 10;
readdir($d) for 1 .. 50;
seekdir($d, $pos);
my @e = map { scalar readdir($d) } 1 .. 10;
my %seen;
my $dups = grep { $seen{$_}++ } @a;
print join("\n", @a), "\n" if $ARGV[1];
print "names ", scalar(@a), ", again ", scalar(@b), " ", ("@a" eq "@b" ? "same" : "other"),
	", repeated $dups, after seekdir ", ("@c" eq "@e" ? "the same 10" : "others"), "\n"
	unless $ARGV[1];
'
t_ok "perl readdir of users/ (one open)" perl -e "$DIRPL" "$M/users" 1
t_same_lines "$T_OUT" "$ALL_EMAILS" "read in pieces, users/ lists every member once"
t_ok "perl rewinddir, telldir, seekdir on users/" perl -e "$DIRPL" "$M/users" ""
t_is "$T_OUT" "names $NUSERS, again $NUSERS same, repeated 0, after seekdir the same 10" \
	"rewinddir lists the same names again; seekdir to a telldir position reads on from there"

# =====================================================================
# Writes are refused in this read-only suite's view of user.json
# =====================================================================

# user.json is not an editable file (LAYOUT.md): writing it fails and
# nothing reaches the API. (Write tests of editable files live elsewhere.)
e=${SAMPLE[0]}
before=$(fake_user "$e")
fake_reset
t_fails "echo x > users/E/user.json fails" sh -c 'echo x > "$1"' _ "$M/users/$(enc "$e")/user.json"
t_cost "the refused write sent no request" \
	"POST /v1/users/set-custom-user-properties=0" "POST /v1/users/set-offer-state=0" \
	"POST /v1/users/grant-user-offer-by-mail=0" "DELETE /v1/users/delete-users=0" \
	"POST /v1/users/delete-users=0"
t_json_eq "$(fake_user "$e")" "$before" "the member is unchanged in the fake"

msfs_unmount

# =====================================================================
# Negative controls: the request counts above can fail
# =====================================================================

# Another page size changes the cost of a listing, and an expired cache
# costs the listing again: the "exactly N" and "no request" checks above
# measure the daemon, not a constant. (40, not 50: under the evidence
# dialect the mount above ended with pages of 50 as well. A page size the
# evidence fake accepts: no request is refused.)
CPAGE=40
msfs_mount page_size=$CPAGE cache_ttl=1 || t_bail "cannot mount again"
fake_reset
ls -A "$MNT/users" >/dev/null
t_cost "control: with page_size=$CPAGE a cold ls users/ costs $(((NUSERS + CPAGE - 1) / CPAGE)) list calls" \
	"GET /v1/users/list=$(((NUSERS + CPAGE - 1) / CPAGE))"
t_is "$(fake_log | jq -r '.[] | select(.endpoint == "GET /v1/users/list" and .status != 200)
	| "\(.status) \(.path)"')" "" "control: with page_size=$CPAGE no list request is refused"
sleep 2.5
fake_reset
ls -A "$MNT/users" >/dev/null
t_cost "control: after cache_ttl=1 expired, ls users/ costs the listing again" \
	"GET /v1/users/list=$(((NUSERS + CPAGE - 1) / CPAGE))"
msfs_unmount

t_done
