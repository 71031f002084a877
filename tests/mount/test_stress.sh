#!/usr/bin/env bash
# Stress (GitHub issue "Survives the real world", point 3): 16 workers use
# one mount at once for a bounded time: readers (ls, cat, find), granters
# (fresh emails through offers/O/grant), deleters (rmdir of members the
# granters made), property editors and state flippers. Every operation's
# exit status and the value it wrote are logged per worker. Afterwards:
#   - nothing hung: every worker ended before its deadline (timeout(1));
#   - nothing crashed: the mount answers, the daemon exits 0, log clean;
#   - readers of members nobody changes always see the right content,
#     the state of their grants (users/E/offers/O) included: under the
#     evidence dialect that state is derived from the per-offer member
#     lists, while the other workers change other members;
#   - the server matches what was reported: every grant that succeeded
#     exists unless a later deletion of it succeeded; every deletion that
#     succeeded is gone (one delete request each); for each member only one
#     worker edits, the last successful property / state write is the
#     server's value, and the mount shows the same; only the granters'
#     fresh members were sent grants (a state write never became one).
# shellcheck source=tests/mount/lib.sh disable=SC2016
source "$(dirname "$0")/lib.sh"

NUSERS=200
RUN=${STRESS_SECONDS:-30}   # seconds the workers run
GRACE=45                    # beyond RUN, before a worker counts as hung
fake_start --users "$NUSERS" --seed 41
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }
mapfile -t OFFERS < <(sj '.offers[].id')
mapfile -t EMAILS < <(sj '.users[].email')

# max_deletes=0: the deleters remove far more than the default budget
msfs_mount cache_ttl=5 timeout=10 max_rps=100 workers=4 max_deletes=0 || t_bail "cannot mount"
M=$MNT
L=$T_DIR/logs
mkdir -p "$L"
END=$(($(date +%s) + RUN))

# Member sets, disjoint: readers' (never changed), one set per property
# editor, one set of (member, offer) per state flipper.
STABLE=("${EMAILS[@]:5:40}")
# their grants, "email<TAB>offer<TAB>active|inactive" (stored state: what
# a member holds; under the evidence dialect the mount derives them from
# the per-offer member lists)
mapfile -t STABLE_GRANTS < <(jq -r '.users[5:45][] | .email as $e
	| .offers[]? | "\($e)\t\(.offerId)\t\(if .active then "active" else "inactive" end)"' <<<"$STATE")
[[ ${#STABLE_GRANTS[@]} -ge 10 ]] || t_bail "not enough grants among the readers' members in the fake's data"
PROP_SETS=()
for ((w = 0; w < 4; w++)); do PROP_SETS+=("$(printf '%s\n' "${EMAILS[@]:$((45 + w * 10)):10}")"); done
mapfile -t FLIP_PAIRS < <(jq -r --argjson skip 85 '.users[$skip:][]
	| select((.offers // []) | length > 0) | "\(.email)\t\(.offers[0].offerId)"' <<<"$STATE" | head -n 20)
[[ ${#FLIP_PAIRS[@]} -eq 20 ]] || t_bail "not enough members with grants in the fake's data"

now() { date +%s; }
# log FILE WORDS...: one line, tab-separated
log() {
	local f=$1
	shift
	(
		IFS=$'\t'
		printf '%s\n' "$*"
	) >>"$f"
}

reader() {
	local id=$1 f=$L/reader.$1 n=0 e o want st out
	RANDOM=$((id * 7919))
	while (($(now) < END)); do
		n=$((n + 1))
		e=${STABLE[$((RANDOM % ${#STABLE[@]}))]}
		case $((RANDOM % 7)) in
		0)
			st=0
			out=$(cat "$M/users/$(enc "$e")/user.json" 2>&1) || st=$?
			[[ $st -ne 0 ]] || jq -e --arg e "$e" '.email == $e' <<<"$out" >/dev/null || st=99
			log "$f" cat-user "$e" "$st" "$([[ $st == 0 ]] || head -c 300 <<<"$out" | tr '\n\t' '  ')"
			;;
		1)
			st=0
			out=$(cat "$M/users/$(enc "$e")/properties.json" 2>&1) || st=$?
			[[ $st -ne 0 ]] || jq -e 'type == "object"' <<<"$out" >/dev/null || st=99
			log "$f" cat-props "$e" "$st" "$([[ $st == 0 ]] || head -c 300 <<<"$out" | tr '\n\t' '  ')"
			;;
		2)
			st=0
			ls -A "$M/users" >/dev/null 2>"$L/reader.$id.err" || st=$?
			log "$f" ls-users - "$st" "$(head -c 200 "$L/reader.$id.err" | tr '\n\t' '  ')"
			;;
		3)
			st=0
			find "$M/offers" -maxdepth 3 >/dev/null 2>"$L/reader.$id.err" || st=$?
			log "$f" find-offers - "$st" "$(head -c 200 "$L/reader.$id.err" | tr '\n\t' '  ')"
			;;
		4)
			st=0
			ls -A "$M/by-status/active" "$M/by-status/inactive" >/dev/null 2>"$L/reader.$id.err" || st=$?
			log "$f" ls-status - "$st" "$(head -c 200 "$L/reader.$id.err" | tr '\n\t' '  ')"
			;;
		5)
			st=0
			cat "$M/properties.json" "$M/offers/$(enc "${OFFERS[$((RANDOM % ${#OFFERS[@]}))]}")/offer.json" \
				>/dev/null 2>&1 || st=$?
			log "$f" cat-offer - "$st"
			;;
		6)
			IFS=$'\t' read -r e o want <<<"${STABLE_GRANTS[$((RANDOM % ${#STABLE_GRANTS[@]}))]}"
			st=0
			out=$(cat "$M/users/$(enc "$e")/offers/$(enc "$o")" 2>&1) || st=$?
			[[ $st -ne 0 || $out == "$want" ]] || st=99
			log "$f" cat-grant "$e $o" "$st" "$([[ $st == 0 ]] || head -c 300 <<<"$out" | tr '\n\t' '  ')"
			;;
		esac
	done
}

granter() {
	local id=$1 f=$L/grant.$1 n=0 e o st
	RANDOM=$((id * 104729))
	while (($(now) < END)); do
		n=$((n + 1))
		e=s$id-$n-$RANDOM@stress.example.com
		o=${OFFERS[$((RANDOM % ${#OFFERS[@]}))]}
		st=0
		sh -c 'echo "$1,Stress,Worker" > "$2"' _ "$e" "$M/offers/$(enc "$o")/grant" 2>/dev/null || st=$?
		log "$f" "$e" "$o" "$st" "$(date +%s.%N)"
	done
}

# Deletes members that granters reported as granted (each deleter takes
# those whose number has its parity, so no member is deleted twice).
deleter() {
	local id=$1 f=$L/delete.$1 e c st
	local -A done_=()
	while (($(now) < END)); do
		e=
		while IFS= read -r c; do
			[[ -n ${done_[$c]:-} ]] || { e=$c; break; }
		done < <(cat "$L"/grant.* 2>/dev/null | awk -F'\t' -v p="$id" '$3 == 0 {
			split($1, a, "-"); if (a[2] % 2 == p) print $1 }' | shuf)
		if [[ -z $e ]]; then
			sleep 0.2
			continue
		fi
		done_[$e]=1
		st=0
		rmdir "$M/users/$(enc "$e")" 2>/dev/null || st=$?
		log "$f" "$e" "$st" "$(date +%s.%N)"
	done
}

propeditor() {
	local id=$1 f=$L/prop.$1 n=0 e v st
	local -a mine
	mapfile -t mine <<<"${PROP_SETS[$id]}"
	RANDOM=$((id * 1299709))
	while (($(now) < END)); do
		n=$((n + 1))
		e=${mine[$((RANDOM % ${#mine[@]}))]}
		v="Stress $id-$n"
		st=0
		if ((RANDOM % 2)); then
			sh -c 'echo "$1" > "$2"' _ "$v" "$M/users/$(enc "$e")/properties/Company" 2>/dev/null || st=$?
		else
			jq --arg v "$v" '.Company = $v' "$M/users/$(enc "$e")/properties.json" >"$L/prop.$id.tmp" 2>/dev/null &&
				cp "$L/prop.$id.tmp" "$M/users/$(enc "$e")/properties.json" 2>/dev/null || st=$?
		fi
		log "$f" "$e" "$v" "$st" "$(date +%s.%N)"
	done
}

flipper() {
	local id=$1 f=$L/flip.$1 e o pair v st
	RANDOM=$((id * 15485863))
	while (($(now) < END)); do
		pair=${FLIP_PAIRS[$((id * 10 + RANDOM % 10))]}
		e=${pair%%$'\t'*} o=${pair#*$'\t'}
		v=$( ((RANDOM % 2)) && echo active || echo inactive)
		st=0
		sh -c 'echo "$1" > "$2"' _ "$v" "$M/users/$(enc "$e")/offers/$(enc "$o")" 2>/dev/null || st=$?
		log "$f" "$e" "$o" "$v" "$st"
	done
}

fake_reset
pids=() names=()
start() {
	timeout -k 5 $((RUN + GRACE)) bash -c "$(declare -f now log enc reader granter deleter propeditor flipper)
		$(declare -p M L END STABLE STABLE_GRANTS PROP_SETS FLIP_PAIRS OFFERS)
		$1 $2" &
	pids+=($!)
	names+=("$1 $2")
}
for i in 0 1 2 3; do start reader "$i"; done
for i in 0 1 2 3; do start granter "$i"; done
for i in 0 1; do start deleter "$i"; done
for i in 0 1 2 3; do start propeditor "$i"; done
for i in 0 1; do start flipper "$i"; done
t_is "${#pids[@]}" 16 "16 workers started, running for ${RUN}s"

hung=""
for ((i = 0; i < ${#pids[@]}; i++)); do
	st=0
	wait "${pids[$i]}" || st=$?
	[[ $st -ne 124 && $st -ne 137 ]] || hung+="${names[$i]} (status $st)"$'\n'
done
t_is "$hung" "" "no worker hung: each ended within ${RUN}s + ${GRACE}s"
t_ok "the mount is alive after the stress" cat "$M/README"
t_ok "the daemon is running" kill -0 "$MSFS_PID"

# ---------------------------------------------------------------------
# What the workers saw
# ---------------------------------------------------------------------

cat "$L"/reader.[0-9] >"$L/reads"
t_diag "operations: $(wc -l <"$L/reads") reads, $(cat "$L"/grant.[0-9] | wc -l) grants, $(cat "$L"/delete.[0-9] 2>/dev/null | wc -l) deletions, $(cat "$L"/prop.[0-9] | wc -l) property writes, $(cat "$L"/flip.[0-9] | wc -l) state writes"
t_is "$(awk -F'\t' '($1 == "cat-user" || $1 == "cat-props" || $1 == "cat-offer" || $1 == "cat-grant") && $3 != 0' "$L/reads" | sort | uniq -c | head -n 20)" "" \
	"every read of a member nobody changes (user.json, properties.json, the state of each of its grants), and of offers and properties.json, succeeded with the right content"
# listings may meet a member deleted between readdir and stat: only ENOENT
t_is "$(awk -F'\t' '($1 == "ls-users" || $1 == "find-offers" || $1 == "ls-status") && $3 != 0' "$L/reads" |
	grep -v 'No such file or directory' | head -n 20)" "" \
	"listings failed only where a member vanished under them (ENOENT)"
for kind in grant delete prop flip; do
	t_is "$(cat "$L/$kind".[0-9] 2>/dev/null | awk -F'\t' -v k="$kind" '
		(k == "grant" && $3 != 0) || (k == "delete" && $2 != 0) ||
		(k == "prop" && $3 != 0) || (k == "flip" && $4 != 0)' | head -n 20)" "" \
		"no $kind failed (no faults were injected)"
done
t_ok "the workers did something: at least 20 grants and 5 deletions succeeded" \
	sh -c '[ "$(cat "$1"/grant.[0-9] | awk -F"\t" "\$3 == 0" | wc -l)" -ge 20 ] &&
		[ "$(cat "$1"/delete.[0-9] | awk -F"\t" "\$2 == 0" | wc -l)" -ge 5 ]' _ "$L"

# ---------------------------------------------------------------------
# The server against the reports
# ---------------------------------------------------------------------

FINAL=$(fake_state)
cat "$L"/delete.[0-9] 2>/dev/null | awk -F'\t' '$2 == 0 { print $1 }' | sort -u >"$L/deleted"
cat "$L"/grant.[0-9] | awk -F'\t' '$3 == 0 { print $1 "\t" $2 }' >"$L/granted"
probs=$(jq -r --rawfile g "$L/granted" --rawfile d "$L/deleted" '
	($d | split("\n") | map(select(. != "")) | map({(.): true}) | add // {}) as $del
	| (.users | map({(.email): .}) | add) as $u
	| $g | split("\n")[] | select(. != "") | split("\t") | . as [$e, $o]
	| if $del[$e] then empty
	  elif $u[$e] == null then "\($e): grant succeeded, not on the server"
	  elif any($u[$e].offers[]; .offerId == $o and .active) | not then "\($e): no active \($o)"
	  else empty end' <<<"$FINAL")
t_is "$(head -n 20 <<<"$probs")" "" "every grant that succeeded is on the server (unless deleted later)"
probs=$(jq -r --rawfile d "$L/deleted" '
	(.users | map({(.email): true}) | add) as $u
	| $d | split("\n")[] | select(. != "") | select($u[.]) | "\(.): deleted, still on the server"' <<<"$FINAL")
t_is "$(head -n 20 <<<"$probs")" "" "every deletion that succeeded is gone from the server"
t_is "$(fake_log | jq -r '.[] | select(.endpoint == "POST /v1/users/grant-user-offer-by-mail")
	| .body.email // "?" | select(endswith("@stress.example.com") | not)' | sort | uniq -c | head -n 20)" "" \
	"grants were sent only for the granters' fresh members (no state write became a grant)"
t_is "$(fake_log | jq -r '.[] | select(.endpoint | test("delete-users")) | .body.emails[]' | sort | uniq -d | head -n 10)" "" \
	"no member was sent to delete-users twice"
t_is "$(fake_log | jq -r '.[] | select(.endpoint | test("delete-users")) | .body.emails[]' | sort -u)" \
	"$(cat "$L/deleted")" "delete-users was sent exactly the members whose deletion succeeded"
probs=""
while IFS= read -r e; do
	[[ -n $e ]] || continue
	if stat "$M/users/$(enc "$e")" >/dev/null 2>&1; then
		probs+="$e: still in the mount"$'\n'
		# what the mount and the server said about it, for the report
		t_diag "$e: user.json: $(head -c 300 "$M/users/$(enc "$e")/user.json" 2>&1 | tr '\n' ' ')"
		t_diag "$e: requests: $(fake_log | jq -c --arg e "${e%@*}" '[.[] | select(tostring | contains($e))
			| {t, e: .endpoint, s: .status}]' | head -c 2000)"
		t_diag "$e: worker logs: $(grep -h -F "$e" "$L"/grant.* "$L"/delete.* | tr '\n\t' '; ')"
	fi
done <"$L/deleted"
t_is "$(head -n 20 <<<"$probs")" "" "every deleted member is gone from the mount"

# last successful property write per member (one writer per member)
last=$(cat "$L"/prop.[0-9] | awk -F'\t' '$3 == 0 { v[$1] = $2 } END { for (e in v) print e "\t" v[e] }')
probs=""
while IFS=$'\t' read -r e v; do
	[[ -n $e ]] || continue
	got=$(jq -r --arg e "$e" '.users[] | select(.email == $e) | .customProperties["p-company"] // ""' <<<"$FINAL")
	[[ $got == "$v" ]] || probs+="$e: server '$got', last written '$v'"$'\n'
	got=$(cat "$M/users/$(enc "$e")/properties/Company" 2>&1)
	[[ $got == "$v" ]] || probs+="$e: the mount shows '$got', last written '$v'"$'\n'
done <<<"$last"
t_is "$(head -n 20 <<<"$probs")" "" \
	"each edited member's Company is its last successful write, on the server and in the mount ($(wc -l <<<"$last") members)"

last=$(cat "$L"/flip.[0-9] | awk -F'\t' '$4 == 0 { v[$1 "\t" $2] = $3 } END { for (k in v) print k "\t" v[k] }')
probs=""
while IFS=$'\t' read -r e o v; do
	[[ -n $e ]] || continue
	got=$(jq -r --arg e "$e" --arg o "$o" '.users[] | select(.email == $e) | .offers[] | select(.offerId == $o)
		| if .active then "active" else "inactive" end' <<<"$FINAL")
	[[ $got == "$v" ]] || probs+="$e $o: server '$got', last written '$v'"$'\n'
	got=$(cat "$M/users/$(enc "$e")/offers/$(enc "$o")" 2>&1)
	[[ $got == "$v" ]] || probs+="$e $o: the mount shows '$got', last written '$v'"$'\n'
done <<<"$last"
t_is "$(head -n 20 <<<"$probs")" "" \
	"each flipped grant's state is its last successful write, on the server and in the mount ($(wc -l <<<"$last") grants)"

# the members nobody changed are unchanged
printf '%s\n' "$STATE" >"$L/state.before"
printf '%s\n' "$FINAL" >"$L/state.after"
probs=$(jq -r -n --slurpfile a "$L/state.before" --slurpfile b "$L/state.after" --args '
	($b[0].users | map({(.email): .}) | add) as $u
	| $a[0].users[] | select(.email as $e | $ARGS.positional | index($e)) | select(. != $u[.email]) | .email' \
	"${STABLE[@]}" 2>&1)
t_is "$probs" "" "the readers' members are unchanged on the server"
msfs_unmount
t_done
