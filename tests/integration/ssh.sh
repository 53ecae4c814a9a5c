#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# OpenSSH with the card: ssh-keygen -D lists the card's RSA and ECDSA public keys; a loopback sshd
# started here (own config, host key and port) accepts ssh -I MODULE with each key (PIN through
# SSH_ASKPASS) and runs a command; ssh-add -s loads the keys into a test-started ssh-agent, which
# then logs in and makes an ssh-keygen -Y signature that verifies. An ECDH key on the card (it
# derives, it cannot sign) is offered to neither.
set -eu
. "$top_srcdir/tests/integration/lib-run.sh"
run_init ssh
SSHD=${SSHD:-/usr/sbin/sshd}
need_tool openssl pkcs11-tool python3 ssh ssh-keygen ssh-agent ssh-add "$SSHD"
. "$top_srcdir/tests/integration/lib-token.sh"
token_setup
# OpenSSH takes every EC public key object as a signing key; an ECDH key has none.
p11 --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --usage-derive --id 0d \
	--label ecdh-only >"$WORK/ecdh-gen.log" 2>&1 || fail "ECDH key generation failed"

# The card's public keys, in OpenSSH form, from the keys read back at provisioning.
ssh-keygen -i -m PKCS8 -f "$RSA_PUB_PEM" >"$WORK/rsa.pub" || fail "ssh-keygen -i (RSA) failed"
ssh-keygen -i -m PKCS8 -f "$EC_PUB_PEM" >"$WORK/ec.pub" || fail "ssh-keygen -i (EC) failed"
key_of() { cut -d' ' -f1,2 "$1"; }

run_to 60 keygen-D ssh-keygen -D "$MODULE" </dev/null || fail "ssh-keygen -D failed"
grep -qF "$(key_of "$WORK/rsa.pub")" "$WORK/keygen-D.log" || fail "ssh-keygen -D misses the RSA key"
grep -qF "$(key_of "$WORK/ec.pub")" "$WORK/keygen-D.log" || fail "ssh-keygen -D misses the EC key"
grep -q '^ecdsa-sha2-nistp256 ' "$WORK/keygen-D.log" || fail "the EC key is not ecdsa-sha2-nistp256"
[ "$(grep -c '^\(ssh-rsa\|ecdsa-sha2-nistp256\) ' "$WORK/keygen-D.log")" = 2 ] ||
	fail "ssh-keygen -D lists more than the RSA and the ECDSA key (the ECDH key?)"
echo "ok: ssh-keygen -D shows the RSA and the ECDSA key, not the ECDH key"

# sshd on a free loopback port; the privilege-separation directory must exist when run as root.
if [ "$(id -u)" = 0 ]; then
	mkdir -p /run/sshd
	chmod 0755 /run/sshd
fi
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key" || fail "host key generation failed"
PORT=$(free_port)
USER_NAME=$(id -un)
cat >"$WORK/sshd_config" <<EOC
Port $PORT
ListenAddress 127.0.0.1
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers $USER_NAME
LogLevel VERBOSE
EOC
: >"$WORK/authorized_keys"
"$SSHD" -t -f "$WORK/sshd_config" >"$WORK/sshd-t.log" 2>&1 || fail "sshd -t rejects the config"
run_bg sshd "$SSHD" -D -e -f "$WORK/sshd_config"
wait_port "$PORT" 10
printf '127.0.0.1 %s\n' "$(cat "$WORK/host_key.pub")" | sed 's/^127.0.0.1/[127.0.0.1]:'"$PORT"'/' \
	>"$WORK/known_hosts"

printf '#!/bin/sh\necho %s\n' "$PIN" >"$WORK/askpass"
chmod 0700 "$WORK/askpass"
SSH_ASKPASS=$WORK/askpass
SSH_ASKPASS_REQUIRE=force
DISPLAY=${DISPLAY:-:0}
export SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY

# ssh_run NAME OPTIONS...: log in and run a command that prints a marker.
ssh_run()
{
	_n=$1
	shift
	run_to 60 "$_n" ssh -F none -p "$PORT" -o BatchMode=no -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$WORK/known_hosts" -o IdentitiesOnly=yes \
		-o PreferredAuthentications=publickey -o ConnectTimeout=10 -v "$@" \
		"$USER_NAME@127.0.0.1" 'echo mdp11-ssh-ok' </dev/null &&
		grep -q '^mdp11-ssh-ok$' "$WORK/$_n.log"
}

# accepted_count TYPE: how many times sshd logged an accepted public key of this type.
accepted_count() { grep -c "Accepted publickey for $USER_NAME .* $1 SHA256:" "$WORK/sshd.log" || true; }

for kind in rsa ec; do
	cp "$WORK/$kind.pub" "$WORK/authorized_keys"
	case $kind in rsa) t=RSA ;; ec) t=ECDSA ;; esac
	before=$(accepted_count "$t")
	ssh_run "ssh-$kind" -o IdentityAgent=none -I "$MODULE" -i "$WORK/$kind.pub" || fail "ssh -I with the $kind key failed"
	after=$(accepted_count "$t")
	[ "$after" -gt "$before" ] || fail "sshd did not log the $t key as accepted"
	echo "ok: ssh -I MODULE logs in with the card's $t key"
done

# ssh-agent with the card's keys (the provider must be allowed with -P). In an ASan build the
# agent cannot load the module: it starts ssh-pkcs11-helper with a cleaned environment, without
# the preloaded sanitizer runtime the instrumented module needs.
if [ "${MDP11_ASAN:-}" = 1 ]; then
	echo "ssh: the ssh-agent part is skipped under ASan (ssh-pkcs11-helper drops LD_PRELOAD)"
	exit 0
fi
AGENT_SOCK=$WORK/agent.sock
# The agent matches the allow-list against the real path of the provider.
run_bg ssh-agent ssh-agent -D -a "$AGENT_SOCK" -P "$(readlink -f "$MODULE")"
n=0
while [ ! -S "$AGENT_SOCK" ]; do
	n=$((n + 1))
	[ $n -le 100 ] || fail "ssh-agent did not start"
	sleep 0.1
done
SSH_AUTH_SOCK=$AGENT_SOCK
export SSH_AUTH_SOCK
run_to 60 ssh-add-s ssh-add -s "$MODULE" </dev/null || fail "ssh-add -s failed"
run_to 30 ssh-add-L ssh-add -L </dev/null || fail "ssh-add -L failed"
grep -qF "$(key_of "$WORK/rsa.pub")" "$WORK/ssh-add-L.log" || fail "the agent lacks the RSA key"
grep -qF "$(key_of "$WORK/ec.pub")" "$WORK/ssh-add-L.log" || fail "the agent lacks the EC key"
[ "$(grep -c '^\(ssh-rsa\|ecdsa-sha2-nistp256\) ' "$WORK/ssh-add-L.log")" = 2 ] ||
	fail "ssh-add -s loaded more than the two signing keys (the ECDH key?)"
echo "ok: ssh-add -s loaded both signing keys into ssh-agent, not the ECDH key"

cat "$WORK/rsa.pub" "$WORK/ec.pub" >"$WORK/authorized_keys"
ssh_run ssh-agent-login -o IdentityAgent="$AGENT_SOCK" -i "$WORK/ec.pub" ||
	fail "ssh through the agent failed"
echo "ok: ssh logs in through the agent"

echo "signed by the card through ssh-agent" >"$WORK/data.txt"
for kind in rsa ec; do
	rm -f "$WORK/data.txt.sig"
	run_to 60 "sign-$kind" ssh-keygen -Y sign -f "$WORK/$kind.pub" -n file "$WORK/data.txt" \
		</dev/null || fail "ssh-keygen -Y sign through the agent ($kind) failed"
	printf 'card@mdp11 %s\n' "$(key_of "$WORK/$kind.pub")" >"$WORK/allowed_signers"
	run_to 30 "verify-$kind" ssh-keygen -Y verify -f "$WORK/allowed_signers" -I card@mdp11 \
		-n file -s "$WORK/data.txt.sig" <"$WORK/data.txt" ||
		fail "the agent's $kind signature does not verify"
	echo "ok: ssh-keygen -Y sign through the agent with the $kind key verifies"
done
