#!/usr/bin/env bash
# Editors save through the mount (LAYOUT.md "Rules": scratch files, renames
# of scratch files over editable files, "creating an editable file that
# exists opens it"): vim (ex mode with default settings, with 'backup',
# with 'backupcopy=no', and interactive through tmux), sed -i, perl -pi,
# ed, nano (through tmux), cp and shell redirection, each on
# users/E/properties.json and users/E/properties/Company.
#
# After each save: the fake API holds the new value, it arrived in exactly
# one change request holding only the changed property, and no scratch
# file (swap, backup, temporary) remains in users/E/ or users/E/properties/.
# Tools come from scripts/install-deps (vim nano ed tmux perl); a missing
# one skips its tests.
# shellcheck source=tests/mount/lib.sh disable=SC2016,SC2010,SC2012
source "$(dirname "$0")/lib.sh"

fake_start --users 12 --seed 21
STATE=$(fake_state) || t_bail "cannot read /_fake/state"
sj() { jq -r "$@" <<<"$STATE"; }

msfs_mount cache_ttl=3600 || t_bail "cannot mount"
M=$MNT

# editors must not read the tester's configuration
EHOME=$T_DIR/home
mkdir -p "$EHOME"
export HOME=$EHOME XDG_CONFIG_HOME=$EHOME/.config
unset VIMINIT EXINIT MYVIMRC

# tmux: a private server, killed when the script ends
TSOCK=msfs-editors-$$
tmux_kill() { command -v tmux >/dev/null && tmux -L "$TSOCK" kill-server 2>/dev/null; true; }
# shellcheck disable=SC2154
trap '_st=$?; tmux_kill; (exit $_st); _t_cleanup' EXIT

# =====================================================================
# Helpers
# =====================================================================

MARK=0
mark() { MARK=$(fake_log | jq length); }
# change requests since the mark: [{"ep","body","status"}]
changes() {
	fake_changes_since "$MARK" |
		jq -S -c '[.[] | {ep: (.endpoint | sub("^[A-Z]+ /v1/"; "")), body, status}]'
}

# The property item's id key the API takes: "propertyId" (guessed) or "id"
# (evidence, which refuses propertyId with a 400). The mount sends
# propertyId first; under evidence its first property write is refused once
# and resent with "id", which it keeps for the rest of the mount (API.md
# "Evidence and dialects"). FIRST_WRITE: no property write made yet.
IDKEY=propertyId
! dialect_evidence || IDKEY=id
FIRST_WRITE=1

# the member: one with offers and a Company value
E=$(sj 'first(.users[] | select((.offers | length) >= 1 and .customProperties["p-company"] != null) | .email)')
[[ -n $E ]] || t_bail "no suitable member in the fake's data"
D=$M/users/$(enc "$E")
PID=$(sj 'first(.properties[] | select(.name == "Company") | .id)')
[[ -n $PID ]] || t_bail "no property named Company in the fake's data"
TREE_NAMES=(user.json offers orders properties properties.json progress.json progress chapters login-token)
mapfile -t PROP_NAMES < <(sj '.properties[].name' | enc_lines)

company() { fake_user "$E" | jq -r --arg p "$PID" '.customProperties[$p] // empty'; }

# Names in users/E/ and users/E/properties/ that are not the tree's own.
scratch_left() {
	comm -13 <(printf '%s\n' . .. "${TREE_NAMES[@]}" | sort) <(ls -a "$D" | sort) |
		sed 's|^|users/E/|'
	comm -13 <(printf '%s\n' . .. "${PROP_NAMES[@]}" | sort) <(ls -a "$D/properties" | sort) |
		sed 's|^|users/E/properties/|'
}

# after_save DESC NEW [ALLOWED_LEFT]: the checks after one save that set
# Company to NEW. ALLOWED_LEFT: a scratch file that must remain (vim's
# kept backup), checked by the caller.
CUR=
after_save() {
	local desc=$1 new=$2 allowed=${3:-} left want
	want=$(jq -S -nc --arg e "$E" --arg p "$PID" --arg v "$new" --arg k "$IDKEY" \
		'[{ep: "users/set-custom-user-properties", status: 200,
		   body: {email: $e, properties: [{($k): $p, value: $v}]}}]')
	if dialect_evidence && [[ $FIRST_WRITE == 1 ]]; then
		# evidence, the mount's first property write: one propertyId
		# item refused (400), then the same change with "id" (200)
		want=$(jq -S -c --arg p "$PID" \
			'[.[0] | .status = 400 | .body.properties[0] |= {propertyId: $p, value}] + .' <<<"$want")
		t_is "$(changes)" "$want" \
			"$desc: exactly one change accepted, Company only, value '$new' (first write under evidence: propertyId refused with 400, resent with id)"
		t_like "$(cat "$M/.memberspot/errors")" 'the API takes property items as \{"id", "value"\}' \
			"$desc: .memberspot/errors notes that the API takes {\"id\", \"value\"} items"
	else
		t_is "$(changes)" "$want" \
			"$desc: exactly one change request, Company only, value '$new' (item key $IDKEY)"
	fi
	FIRST_WRITE=0
	t_is "$(company)" "$new" "$desc: the fake holds Company = '$new'"
	t_file_is "$D/properties/Company" "$new"$'\n' "$desc: properties/Company reads it at once"
	t_is "$(jq -r .Company "$D/properties.json")" "$new" "$desc: properties.json shows it at once"
	left=$(scratch_left)
	[[ -z $allowed ]] || left=$(grep -vxF -- "$allowed" <<<"$left")
	t_is "$left" "" "$desc: no scratch file remains"
	CUR=$new
}

# have TOOL...: all tools present, else one skipped test point.
have() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || {
			t_skip "$t tests" "$t is not installed (scripts/install-deps)"
			return 1
		}
	done
}

# tmux helpers: start a session running a command; wait for text on its
# screen; wait for it to end. Bounded polling, the screen as diagnostics.
tmux_start() {
	tmux -L "$TSOCK" kill-session -t ed 2>/dev/null
	tmux -L "$TSOCK" -f /dev/null new-session -d -s ed -x 100 -y 30 \
		env HOME="$EHOME" TERM=tmux-256color "$@"
}
tmux_keys() { tmux -L "$TSOCK" send-keys -t ed "$@"; }
tmux_screen() { tmux -L "$TSOCK" capture-pane -p -t ed 2>/dev/null; }
tmux_wait_text() {
	local i
	for ((i = 0; i < 100; i++)); do
		tmux_screen | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	t_diag "waited 10 s for '$1' on the screen:" "$(tmux_screen | sed '/^[~ ]*$/d')" >&2
	tmux -L "$TSOCK" kill-session -t ed 2>/dev/null
	return 1
}
tmux_wait_end() {
	local i
	for ((i = 0; i < 150; i++)); do
		tmux -L "$TSOCK" has-session -t ed 2>/dev/null || return 0
		sleep 0.1
	done
	t_diag "the editor still runs after 15 s:" "$(tmux_screen | sed '/^[~ ]*$/d')" >&2
	tmux -L "$TSOCK" kill-session -t ed 2>/dev/null
	return 1
}

# =====================================================================
# cp and shell redirection
# =====================================================================

N=0
next() { N=$((N + 1)); NEW=v$N-$1; }

next cp
printf '%s\n' "$NEW" >"$T_DIR/value"
mark
t_ok "cp file users/E/properties/Company" cp "$T_DIR/value" "$D/properties/Company"
after_save "cp to properties/Company" "$NEW"

next cp
jq --arg v "$NEW" '.Company = $v' "$D/properties.json" >"$T_DIR/props.json"
mark
t_ok "cp file users/E/properties.json" cp "$T_DIR/props.json" "$D/properties.json"
after_save "cp to properties.json" "$NEW"

next redir
mark
t_ok "echo NEW > users/E/properties/Company" sh -c 'echo "$1" > "$2"' _ "$NEW" "$D/properties/Company"
after_save "echo > properties/Company" "$NEW"

next redir
jq --arg v "$NEW" '.Company = $v' "$D/properties.json" >"$T_DIR/props.json"
mark
t_ok "cat file > users/E/properties.json" sh -c 'cat "$1" > "$2"' _ "$T_DIR/props.json" "$D/properties.json"
after_save "cat > properties.json" "$NEW"

# =====================================================================
# vim in ex mode, default settings, no vimrc
# =====================================================================

if have vim; then
	# 'backupskip' defaults to /tmp/*,$TMPDIR/*: vim makes no backup (no
	# rename dance) for files there, and this test's mount is in $TMPDIR.
	# Cleared, vim behaves as on a mount anywhere else.
	VIM=(vim -N -u NONE -i NONE -es -c 'set backupskip=')
	for f in properties/Company properties.json; do
		next vimdef
		mark
		t_ok "vim -es '+%s/OLD/NEW/' '+wq' $f (all defaults: no backup under /tmp)" \
			vim -N -u NONE -i NONE -es "+%s/$CUR/$NEW/" '+wq' "$D/$f"
		after_save "vim -es (defaults) on $f" "$NEW"
	done
	for f in properties/Company properties.json; do
		next vim
		mark
		t_ok "vim -es '+%s/OLD/NEW/' '+wq' $f" "${VIM[@]}" "+%s/$CUR/$NEW/" '+wq' "$D/$f"
		after_save "vim -es on $f" "$NEW"
	done

	# 'backup': the old file is renamed to FILE~ (a scratch copy) and kept
	for f in properties/Company properties.json; do
		next vimbak
		old=$(cat "$D/$f")
		mark
		t_ok "vim -es -c 'set backup' ... $f" "${VIM[@]}" -c 'set backup' "+%s/$CUR/$NEW/" '+wq' "$D/$f"
		after_save "vim 'backup' on $f" "$NEW" "users/E/$f~"
		t_is "$(cat "$D/$f~" 2>&1)" "$old" "vim 'backup' on $f: $f~ holds the old content"
		mark
		t_ok "rm $f~ (the backup, a scratch file)" rm "$D/$f~"
		t_is "$(changes)" '[]' "rm of the backup sends nothing"
		t_is "$(scratch_left)" "" "after rm of the backup no scratch file remains"
	done

	for f in properties/Company properties.json; do
		next vimnocopy
		mark
		t_ok "vim -es -c 'set backupcopy=no' ... $f" "${VIM[@]}" -c 'set backupcopy=no' \
			"+%s/$CUR/$NEW/" '+wq' "$D/$f"
		after_save "vim 'backupcopy=no' on $f" "$NEW"
	done

	for f in properties/Company properties.json; do
		next vimcopy
		mark
		t_ok "vim -es -c 'set backupcopy=yes' ... $f" "${VIM[@]}" -c 'set backupcopy=yes' \
			"+%s/$CUR/$NEW/" '+wq' "$D/$f"
		after_save "vim 'backupcopy=yes' on $f" "$NEW"
	done
fi

# =====================================================================
# sed -i, perl -pi, ed
# =====================================================================

if have sed; then
	for f in properties/Company properties.json; do
		next sed
		mark
		t_ok "sed -i s/OLD/NEW/ $f" sed -i "s/$CUR/$NEW/" "$D/$f"
		after_save "sed -i on $f" "$NEW"
	done
fi

if have perl; then
	for f in properties/Company properties.json; do
		next perl
		mark
		t_ok "perl -pi -e s/OLD/NEW/ $f" perl -pi -e "s/\\Q$CUR\\E/$NEW/" "$D/$f"
		after_save "perl -pi on $f" "$NEW"
	done
fi

if have ed; then
	for f in properties/Company properties.json; do
		next ed
		mark
		t_ok "printf ',s/OLD/NEW/\\nw\\nq\\n' | ed -s $f" \
			sh -c 'printf ",s/%s/%s/\nw\nq\n" "$1" "$2" | ed -s "$3"' _ "$CUR" "$NEW" "$D/$f"
		after_save "ed on $f" "$NEW"
	done
fi

# =====================================================================
# nano, driven through tmux
# =====================================================================

if have tmux nano; then
	# properties/Company: cut the line, type the new value, save, exit
	next nano
	mark
	nano_company() {
		tmux_start nano -I "$D/properties/Company" || return 1
		tmux_wait_text "$CUR" || return 1
		tmux_keys C-k
		tmux_keys -l "$NEW"
		tmux_keys C-o
		tmux_wait_text "File Name to Write" || return 1
		tmux_keys Enter
		tmux_wait_text "Wrote" || return 1
		tmux_keys C-x
		tmux_wait_end
	}
	t_ok "nano (tmux): replace the line of properties/Company, ^O Enter ^X" nano_company
	after_save "nano on properties/Company" "$NEW"

	# properties.json: search and replace, save, exit
	next nano
	mark
	nano_json() {
		tmux_start nano -I "$D/properties.json" || return 1
		tmux_wait_text "$CUR" || return 1
		tmux_keys M-r
		tmux_wait_text "Replace" || return 1
		tmux_keys -l "$CUR"
		tmux_keys Enter
		tmux_wait_text "Replace with" || return 1
		tmux_keys -l "$NEW"
		tmux_keys Enter
		# one match: "Replace this instance?" -> y
		tmux_wait_text "this instance" || return 1
		tmux_keys y
		tmux_wait_text "Replaced 1 occurrence" || return 1
		tmux_keys C-o
		tmux_wait_text "File Name to Write" || return 1
		tmux_keys Enter
		tmux_wait_text "Wrote" || return 1
		tmux_keys C-x
		tmux_wait_end
	}
	t_ok "nano (tmux): ^R search-and-replace in properties.json, ^O Enter ^X" nano_json
	after_save "nano on properties.json" "$NEW"
fi

# =====================================================================
# vim, interactive, default settings (defaults.vim), through tmux
# =====================================================================

if have tmux vim; then
	for f in properties.json properties/Company; do
		next vimtty
		mark
		vim_tty() {
			tmux_start vim -N -i NONE -c 'set backupskip=' "$D/$f" || return 1
			tmux_wait_text "$CUR" || return 1
			# the swap file lives in the mount while vim runs
			SWP_SEEN=0
			[[ ! -e $(dirname "$D/$f")/.$(basename "$f").swp ]] || SWP_SEEN=1
			tmux_keys -l ":%s/$CUR/$NEW/"
			tmux_keys Enter
			tmux_wait_text "$NEW" || return 1
			tmux_keys -l ":wq"
			tmux_keys Enter
			tmux_wait_end
		}
		t_ok "vim (tmux, defaults.vim): :%s/OLD/NEW/ then :wq on $f" vim_tty
		t_is "$SWP_SEEN" 1 "interactive vim on $f: its swap file existed in the mount while it ran"
		after_save "interactive vim on $f" "$NEW"
	done
fi

# The mount still answers and nothing else reached the API.
t_ok "cat users/E/user.json after all the editors" cat "$D/user.json"
# user.json passes the API's record through: the fake's record as the API
# answers it in the current dialect (Company itself is checked against the
# stored state after each save)
t_json_eq "$T_OUT" "$(fake_user_api "$E")" "user.json equals the fake's record (as the API answers it)"
t_is "$(fake_log | jq -c --argjson eps "$CHANGE_EPS" '[.[] | select(.endpoint as $e | $eps | index($e))
	| select(.endpoint != "POST /v1/users/set-custom-user-properties")]')" '[]' \
	"no change request other than set-custom-user-properties was sent"

tmux_kill
msfs_unmount
t_done
