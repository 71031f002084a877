#!/usr/bin/env bash
# The ordinary Unix tools on the tree (LAYOUT.md "Rules"): what echo,
# printf, touch, cp, mv, rm -rf and find -delete do, checked by their exit
# status, the fake API's request counters and the fake's state.
#
# 1. A write happens whole or not at all: creating users/E/offers/O grants
#    only when its content is empty, active or inactive (grant, then
#    deactivate); anything else sends nothing. A value of more than one
#    line, a byte that is not UTF-8, a control character or a word that is
#    no state fails the write() that made it certain, so even shell
#    builtins see it, and nothing is sent.
# 2. In users/E/properties/ a name that is neither a property nor an
#    editor's temporary name cannot be created (ENOENT), and the reason in
#    .memberspot/errors names the properties there are.
# 3. Removing a file sends nothing and drops no cached copy: rm -rf of an
#    offer's directory and find -delete cost no request on a warm mount
#    (and rm -rf says what it could not remove); rm -r users/E still
#    deletes the member with one request; mv from another filesystem and
#    cp --remove-destination over an editable file save it.
# shellcheck source=tests/mount/lib.sh disable=SC2016,SC2010,SC2012
source "$(dirname "$0")/lib.sh"

fake_start --users 24 --seed 47
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT
SRCDIR=$T_DIR/src # another filesystem than the mount (mv, cp)
mkdir -p "$SRCDIR"

# =====================================================================
# Helpers
# =====================================================================

MARK=0
mark() { MARK=$(fake_log | jq length); }
# the change requests since the mark, as "ENDPOINT BODY" lines in order
changes() {
	fake_changes_since "$MARK" | jq -r '.[] | "\(.endpoint) \(.body | tojson)"'
}
t_no_changes() { t_is "$(changes)" "" "$1"; }

PROPDEFS=$(sj -c '.properties')
prop_id() { jq -r --arg n "$1" 'first(.[] | select(.name == $n) | .id)' <<<"$PROPDEFS"; }
mapfile -t OFFERS < <(sj '.offers[].id')
# the stored record of a member ("null" when none)
user_of() {
	local out
	out=$(fake_user "$1" 2>/dev/null) && printf '%s\n' "$out" || echo null
}
# "active", "inactive" or "none": the member's grant of an offer
grant_of() {
	user_of "$1" | jq -r --arg o "$2" \
		'first(.offers[]? | select(.offerId == $o) | if .active then "active" else "inactive" end) // "none"'
}
company() { user_of "$1" | jq -r --arg p "$(prop_id Company)" '.customProperties[$p] // ""'; }

# pick FILTER: a member (email) matching the jq FILTER, not used before
declare -A USED
pick() {
	local e
	while IFS= read -r e; do
		[[ -n ${USED[$e]:-} ]] && continue
		USED[$e]=1
		PICKED=$e
		return 0
	done < <(sj ".users[] | select($1) | .email")
	t_bail "no unused member matching $1"
}

# an offer the member does not hold, not in SKIP_OFFERS
offer_not_held() {
	local o
	for o in "${OFFERS[@]}"; do
		[[ $(grant_of "$1" "$o") == none ]] || continue
		[[ " ${SKIP_OFFERS:-} " == *" $o "* ]] && continue
		SKIP_OFFERS+=" $o"
		printf '%s' "$o"
		return 0
	done
	return 1
}

# pywrite FILE CHUNK...: open(O_WRONLY|O_CREAT|O_TRUNC), one write() per
# CHUNK (printf %b escapes), close(). Prints "ok", or "write N ENAME" /
# "close ENAME" / "open ENAME" for the first call that failed.
pywrite() {
	python3 -c '
import errno, os, sys
name = lambda e: errno.errorcode.get(e.errno, e.errno)
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
except OSError as e:
    print("open", name(e)); sys.exit(1)
failed = None
for i, chunk in enumerate(sys.argv[2:]):
    try:
        os.write(fd, chunk.encode("latin-1"))
    except OSError as e:
        failed = failed or "write %d %s" % (i + 1, name(e))
try:
    os.close(fd)
except OSError as e:
    failed = failed or "close %s" % name(e)
print(failed or "ok")
sys.exit(1 if failed else 0)
' "$1" "${@:2}"
}
# bytes for pywrite: printf's %b escapes, kept as latin-1 code points
b() { python3 -c 'import sys; sys.stdout.write(sys.argv[1].encode().decode("unicode_escape"))' "$1"; }

# =====================================================================
# 1. Creating users/E/offers/O: the grant waits for the content
# =====================================================================

pick '(.offers | length) >= 1 and (.offers | length) <= 2'
E=$PICKED
D=$M/users/$(enc "$E")
cat "$D/user.json" >/dev/null
ls "$D/offers" >/dev/null

O=$(offer_not_held "$E") || t_bail "no offer that $E does not hold"
mark
t_fails_with EINVAL "echo bogus > users/E/offers/NEW: the shell's echo sees EINVAL" \
	bash -c 'echo bogus > "$1"' _ "$D/offers/$(enc "$O")"
t_no_changes "echo bogus > offers/NEW: no request changes anything (no grant)"
t_is "$(grant_of "$E" "$O")" none "echo bogus > offers/NEW: the fake holds no grant"
t_fails "echo bogus > offers/NEW: the file does not exist afterwards" test -e "$D/offers/$(enc "$O")"
t_like "$(tail -n 3 "$M/.memberspot/errors")" "'bogus' is not a state" \
	".memberspot/errors names the word"

mark
t_is "$(pywrite "$D/offers/$(enc "$O")" 'maybe')" "write 1 EINVAL" \
	"'maybe' without a newline: the write() fails (no state starts with 'm')"
t_is "$(pywrite "$D/offers/$(enc "$O")" 'ina' 'ctivx')" "write 2 EINVAL" \
	"'ina' + 'ctivx': the second write() fails, where it became certain"
t_is "$(pywrite "$D/offers/$(enc "$O")" 'activ')" "close EINVAL" \
	"'activ' and no more: only close() can refuse it (EINVAL)"
t_is "$(pywrite "$D/offers/$(enc "$O")" $'active\nx')" "write 1 EINVAL" \
	"'active\\nx' in one write(): a second line, EINVAL"
t_no_changes "none of these sent anything"
t_is "$(grant_of "$E" "$O")" none "... and the fake still holds no grant"

mark
t_ok "echo inactive > users/E/offers/NEW" bash -c 'echo inactive > "$1"' _ "$D/offers/$(enc "$O")"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/grant-user-offer-by-mail
POST /v1/users/set-offer-state" "echo inactive > offers/NEW: one grant, then one set-offer-state"
t_is "$(changes | sed -n 2p | cut -d' ' -f3- | jq -c '.active')" false \
	"... the second deactivates"
t_is "$(grant_of "$E" "$O")" inactive "echo inactive > offers/NEW: the fake holds it inactive"
t_file_is "$D/offers/$(enc "$O")" $'inactive\n' "echo inactive > offers/NEW: cat reads inactive"

O2=$(offer_not_held "$E") || t_bail "no second offer that $E does not hold"
mark
t_is "$(pywrite "$D/offers/$(enc "$O2")" 'ac' $'tive\n')" ok "'ac' + 'tive\\n' to offers/NEW: ok"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/grant-user-offer-by-mail" \
	"active to offers/NEW: exactly one grant"
t_is "$(grant_of "$E" "$O2")" active "active to offers/NEW: the fake holds it active"

pick '(.offers | length) == 0 or (.offers | length) == 1'
E2=$PICKED
D2=$M/users/$(enc "$E2")
O3=$(offer_not_held "$E2") || t_bail "no offer that $E2 does not hold"
mark
t_ok "touch users/E/offers/NEW" touch "$D2/offers/$(enc "$O3")"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/grant-user-offer-by-mail" "touch: exactly one grant"
t_is "$(grant_of "$E2" "$O3")" active "touch: the fake holds it active"

NOSUCH=nosuch-offer-$RANDOM
t_fails_with ENOENT "touch users/E/offers/UNKNOWN: touch hears ENOENT from close()" \
	touch "$D2/offers/$NOSUCH"
t_like "$T_ERR" "close" "... and says it was close() that failed"
t_fails "users/E/offers/UNKNOWN does not exist afterwards" test -e "$D2/offers/$NOSUCH"

# =====================================================================
# 1. Value files: refused at the write that makes it certain
# =====================================================================

pick '.customProperties["p-company"] != null'
EV=$PICKED
DV=$M/users/$(enc "$EV")
OLDC=$(company "$EV")
cat "$DV/properties/Company" >/dev/null

mark
t_fails_with EINVAL "env printf 'a\\nb\\n' > properties/Company (one write): EINVAL" \
	bash -c 'env printf "a\nb\n" > "$1"' _ "$DV/properties/Company"
t_fails_with EINVAL "printf 'Caf\\xe9\\n' (Latin-1) > properties/Company: EINVAL in the write" \
	bash -c 'printf "Caf\xe9\n" > "$1"' _ "$DV/properties/Company"
t_fails_with EINVAL "printf 'a\\001b' (no newline) > properties/Company: EINVAL in the write" \
	bash -c 'printf "a\001b" > "$1"' _ "$DV/properties/Company"
t_fails_with EINVAL "echo more >> properties/Company (a second line): EINVAL in the write" \
	bash -c 'echo more >> "$1"' _ "$DV/properties/Company"
t_no_changes "the refused values sent nothing"
t_is "$(company "$EV")" "$OLDC" "the fake's Company is unchanged"
t_is "$(pywrite "$DV/properties/Company" "$(b 'Caf\xc3')" "$(b '\xa9 X')")" ok \
	"a character cut between two writes is no error"
t_is "$(company "$EV")" "Café X" "the cut character arrived whole: Company = 'Café X'"
mark
t_fails_with EINVAL "{ echo a; echo b; } > properties/Company: the second write fails" \
	bash -c '{ echo "Line A"; echo "Line B"; } > "$1"' _ "$DV/properties/Company"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/set-custom-user-properties" \
	"... after the first line, complete by itself, was sent (one request)"
t_is "$(company "$EV")" "Line A" "... so Company = 'Line A', never 'Line B'"

# =====================================================================
# 2. Names in users/E/properties/
# =====================================================================

mark
ERR_N=$(wc -l <"$M/.memberspot/errors")
t_fails_with ENOENT "touch users/E/properties/Bogus: ENOENT" touch "$DV/properties/Bogus"
t_fails_with ENOENT "echo x > users/E/properties/Bogus: ENOENT" bash -c 'echo x > "$1"' _ "$DV/properties/Bogus"
printf 'x\n' >"$SRCDIR/value"
t_fails_with ENOENT "cp FILE users/E/properties/Compnay (a typo): ENOENT" cp "$SRCDIR/value" "$DV/properties/Compnay"
t_fails_with ENOENT "touch users/E/properties/.hidden: ENOENT" touch "$DV/properties/.hidden"
t_no_changes "no request for names that are no property"
errs=$(tail -n +"$((ERR_N + 1))" "$M/.memberspot/errors")
missing=""
while IFS= read -r name; do
	grep -qF -- "$name" <<<"$errs" || missing+="$name "
done < <(jq -r '.[] | select(.id != null) | .name' <<<"$PROPDEFS")
t_like "$errs" "properties/Bogus" ".memberspot/errors names the refused name"
t_is "$missing" "" ".memberspot/errors names every known property"
t_is "$(ls -A "$DV/properties" | grep -c -e Bogus -e Compnay -e '^\.hidden$')" 0 \
	"none of them is listed in properties/"

for n in .Company.swp .Company.swx 4913 'Company~' sedAb12Zx XXeScgs0 '#Company#' .#Company; do
	t_ok "an editor's name can be created in properties/: $n" touch "$DV/properties/$n"
	t_ok "... and removed" rm "$DV/properties/$n"
done
t_no_changes "editors' names sent nothing"

# =====================================================================
# 3. Removing files sends nothing and drops nothing
# =====================================================================

OR=${OFFERS[0]}
ODIR=$M/offers/$(enc "$OR")
# warm: every listing and file rm -rf and find will look at
ls -lR "$ODIR" >/dev/null 2>&1
cat "$ODIR/offer.json" "$ODIR/name" >/dev/null
find "$M/users" -name user.json >/dev/null
find "$M/offers" -name offer.json >/dev/null
fake_reset

t_fails "rm -rf offers/O fails (nothing there can be removed)" rm -rf "$ODIR"
t_like "$T_ERR" "offer.json': Operation not permitted" "rm -rf says offer.json: Operation not permitted"
t_cost "rm -rf offers/O on a warm mount: no request at all" "total=0"
t_ok "offers/O/offer.json is still there" test -s "$ODIR/offer.json"
t_ok "offers/O/grant is still there" test -e "$ODIR/grant"
t_json_eq "$(cat "$ODIR/offer.json")" "$(fake_state_api | jq --arg o "$OR" 'first(.offers[] | select(.id == $o))')" \
	"offer.json still equals the fake's offer"

fake_reset
t_fails "find offers -name offer.json -delete exits non-zero" \
	find "$M/offers" -name offer.json -delete
t_cost "find offers -name offer.json -delete: no request" "total=0"
t_is "$(find "$M/offers" -name offer.json | wc -l)" "${#OFFERS[@]}" "every offer.json is still there"

if m=$(find "$M/offers/$(enc "$OR")/members" -mindepth 1 -maxdepth 1 | head -n 1) && [[ -n $m ]]; then
	fake_reset
	t_fails_with EPERM "rm of a symlink offers/O/members/E: EPERM" rm "$m"
	t_ok "... the symlink is still there" test -L "$m"
	t_cost "... no request" "total=0"
fi
t_fails_with EPERM "rm .memberspot/status: EPERM" rm "$M/.memberspot/status"

# Inside a member's directory unlink succeeds and changes nothing: rm -r
# users/E must reach the rmdir that deletes the member.
n_users=$(find "$M/users" -name user.json | wc -l)
fake_reset
mark
t_ok "find users -name user.json -delete: exit 0 (inside a member's directory unlink is allowed)" \
	find "$M/users" -name user.json -delete
t_cost "find users -name user.json -delete: no request" "total=0"
t_is "$(find "$M/users" -name user.json | wc -l)" "$n_users" "every user.json is still there"
t_ok "cat users/*/user.json" sh -c 'cat "$1"/users/*/user.json >/dev/null' _ "$M"
t_cost "... reading them again costs nothing: no cached copy was dropped" "total=0"
t_no_changes "... nothing changed"

# rm of a file keeps the cached copy even when it is older than a moment
# (rm used to drop copies older than 2 s)
pick '(.offers | length) >= 1'
EK=$PICKED
DK=$M/users/$(enc "$EK")
cat "$DK/user.json" >/dev/null
sleep 2.2
fake_reset
t_ok "rm users/E/user.json" rm "$DK/user.json"
t_ok "cat users/E/user.json afterwards" cat "$DK/user.json"
t_json_eq "$T_OUT" "$(fake_user_api "$EK")" "... it reads the member's record"
t_cost "rm + cat of user.json: no request (the cached copy stays)" "total=0"

# mv from another filesystem and cp --remove-destination: unlink, then an
# O_EXCL create of the same name, which saves what is written
pick '.customProperties["p-company"] != null and (.offers | length) >= 1'
EM=$PICKED
DM=$M/users/$(enc "$EM")
cat "$DM/properties/Company" "$DM/properties.json" >/dev/null
printf 'Moved GmbH\n' >"$SRCDIR/company"
fake_reset
mark
t_ok "mv /other-fs/file users/E/properties/Company" mv "$SRCDIR/company" "$DM/properties/Company"
# (the property's key is propertyId, or id where the API wants that)
t_is "$(changes | sed 's/"id":/"propertyId":/')" \
	"POST /v1/users/set-custom-user-properties $(jq -c -n --arg e "$EM" --arg p "$(prop_id Company)" \
		'{email: $e, properties: [{propertyId: $p, value: "Moved GmbH"}]}')" \
	"mv: exactly one set-custom-user-properties with the new value"
t_cost "mv: no other change request" "POST /v1/users/set-custom-user-properties=1" \
	"POST /v1/users/grant-user-offer-by-mail=0" "POST /v1/users/set-offer-state=0"
t_is "$(company "$EM")" "Moved GmbH" "mv: the fake holds Company = 'Moved GmbH'"
t_file_is "$DM/properties/Company" $'Moved GmbH\n' "mv: properties/Company reads it"
t_fails "mv: the source is gone" test -e "$SRCDIR/company"

printf 'Copied AG\n' >"$SRCDIR/company"
mark
t_ok "cp --remove-destination /other-fs/file users/E/properties/Company" \
	cp --remove-destination "$SRCDIR/company" "$DM/properties/Company"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/set-custom-user-properties" "cp --remove-destination: one request"
t_is "$(company "$EM")" "Copied AG" "cp --remove-destination: the fake holds Company = 'Copied AG'"

jq '.Company = "Json Moved"' "$DM/properties.json" >"$SRCDIR/props.json"
mark
t_ok "mv /other-fs/props.json users/E/properties.json" mv "$SRCDIR/props.json" "$DM/properties.json"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/set-custom-user-properties" "mv properties.json: one request"
t_is "$(company "$EM")" "Json Moved" "mv properties.json: the fake holds Company = 'Json Moved'"

OM=$(user_of "$EM" | jq -r '.offers[0].offerId')
want=$([[ $(grant_of "$EM" "$OM") == active ]] && echo inactive || echo active)
echo "$want" >"$SRCDIR/state"
mark
t_ok "mv /other-fs/state users/E/offers/O ($want)" mv "$SRCDIR/state" "$DM/offers/$(enc "$OM")"
t_is "$(changes | cut -d' ' -f1-2)" "POST /v1/users/set-offer-state" "mv over offers/O: one set-offer-state"
t_is "$(grant_of "$EM" "$OM")" "$want" "mv over offers/O: the fake holds it $want"

echo bogus >"$SRCDIR/state"
mark
t_fails "mv of 'bogus' over offers/O fails" mv "$SRCDIR/state" "$DM/offers/$(enc "$OM")"
t_no_changes "... and sends nothing"
t_is "$(grant_of "$EM" "$OM")" "$want" "... the fake still holds it $want"

# rm -r users/E: every file is unlinked first (no request), then the
# rmdir deletes the member with one request
pick '(.offers | length) >= 1 and (.customProperties | length) >= 1'
ED=$PICKED
DD=$M/users/$(enc "$ED")
ls -R "$DD" >/dev/null
cat "$DD/user.json" >/dev/null
fake_reset
mark
t_ok "rm -r users/E" rm -r "$DD"
t_is "$(changes | cut -d' ' -f1-2)" "DELETE /v1/users/delete-users" "rm -r users/E: exactly one change request, the delete"
t_cost "rm -r users/E on a warm mount: one request in all" "total=1"
t_is "$(user_of "$ED")" null "rm -r users/E: the fake no longer has the member"
t_fails "rm -r users/E: users/E is gone" test -e "$DD"

msfs_unmount
t_done
