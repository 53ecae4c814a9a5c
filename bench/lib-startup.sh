# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by bench-pcsc.sh and bench-pcsc-piv.sh (POSIX sh, sourced once pcscd serves the card with
# PCSC_DEBUG=1): empty caches for mdp11 ($W/mdp11.conf, persistent cache) and OpenSC
# ($W/opensc.conf, file cache), and
#   startup NAME MODULE   bench-p11 startup twice: NAME-cold, then NAME-warm (a second process),
#                         APDUs counted in pcscd's log; PIN, BENCH, W set by the caller
#   startup_done          the runs' messages on stderr, prefixed with '# '

mkdir -p "$W/mdp11-cache" "$W/opensc-cache"
cat >"$W/mdp11.conf" <<EOC
[readers]
pcsc = true
[cache]
mode = persistent
dir = $W/mdp11-cache
EOC
cat >"$W/opensc.conf" <<EOC
app default {
	framework pkcs15 {
		use_file_caching = yes;
		file_cache_dir = $W/opensc-cache;
	}
}
EOC

startup_run()
{
	timeout -k 3 120 "$BENCH" startup --pin "$PIN" --apdu-log "$PCSC_TMP/pcscd.log" "$@" \
		2>>"$W/bench-startup.log"
}

startup()
{
	startup_run --name "$1-cold" --module "$2" || echo "$1-cold,startup,error,1"
	startup_run --name "$1-warm" --module "$2" || echo "$1-warm,startup,error,1"
}

startup_done()
{
	if [ -s "$W/bench-startup.log" ]; then
		sed 's/^/# /' "$W/bench-startup.log" >&2
	fi
}
