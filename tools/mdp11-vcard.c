/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-vcard: create a virtual GIDS card, serve it to pcscd over vpcd, show its state, reseal it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MDP_LOG_AREA MDP_AREA_TOOL
#include "common/bytes.h"
#include "common/log.h"
#include "common/secmem.h"
#include "tools/vcard-opts.h"
#include "tools/vpcd.h"
#include "vcard/vcard.h"

/* Upper bound of the reconnect delay while pcscd is away. */
#define RECONNECT_MAX_MS 2000

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
fail(const char *what, const char *file)
{
	fprintf(stderr, "mdp11-vcard: %s %s: %s\n", what, file, mdp_err_last());
}

/* Open a card file, the seal where --seal says (NULL: where the file says). */
static struct vcard *
open_card(const char *file, const char *seal)
{
	struct vcard_init_params p = {0};
	struct vcard *vc = NULL;

	p.seal = seal;
	if (vcard_open(file, &p, &vc) != MDP_OK) {
		fail("cannot open card", file);
		return NULL;
	}
	return vc;
}

/* "sealed by ..." after create and reseal. */
static void
print_seal(const char *file)
{
	struct vcard_info info;
	struct vcard *vc = open_card(file, NULL);

	if (vc && vcard_get_info(vc, &info) == MDP_OK)
		printf("sealed by %s\n", info.seal);
	vcard_free(vc);
}

/* The secrets given for a PIV card (each has its factory default when not given). */
struct piv_secrets {
	char *pin, *puk;
	size_t pin_len, puk_len;
	uint8_t mgm[32];
};

static enum mdp_err
piv_params(const struct vcard_opts *o, struct vcard_init_params *p, struct piv_secrets *s)
{
	static const uint8_t v57[3] = {5, 7, 0};
	const uint8_t *v = o->piv_version[0] ? o->piv_version : NULL;
	uint8_t alg = o->mgm_alg;
	enum mdp_err rv = MDP_OK;

	p->type = VCARD_TYPE_PIV;
	p->pin_tries = o->pin_tries;
	p->puk_tries = o->puk_tries;
	p->mgm_alg = o->mgm_alg;
	p->piv_serial = o->piv_serial;
	memcpy(p->version, o->piv_version, 3);
	if (o->pin.file || o->pin.env || o->pin.insecure) {
		rv = vcard_opts_read_pin(o, &s->pin, &s->pin_len);
		p->pin = s->pin;
	}
	if (!rv && (o->puk.file || o->puk.env || o->puk.insecure)) {
		rv = vcard_opts_read_puk(o, &s->puk, &s->puk_len);
		p->puk = s->puk;
	}
	if (!rv && (o->admin_key.file || o->admin_key.env || o->admin_key.insecure)) {
		/* the key's length follows the algorithm: 3DES 24, AES 16/24/32 (vcard.h) */
		if (!alg)
			alg = v && memcmp(v, v57, 2) >= 0 ? 0x0A : 0x03;
		p->admin_key_len = alg == 0x08 ? 16 : alg == 0x0C ? 32 : 24;
		rv = vcard_opts_read_mgm_key(o, s->mgm, p->admin_key_len);
		p->admin_key = s->mgm;
	}
	return rv;
}

static void
piv_secrets_clear(struct piv_secrets *s)
{
	if (s->pin)
		mdp_secure_free(s->pin, s->pin_len + 1);
	if (s->puk)
		mdp_secure_free(s->puk, s->puk_len + 1);
	mdp_wipe(s, sizeof(*s));
}

static int
cmd_create(const struct vcard_opts *o)
{
	struct vcard_init_params params = {0};
	struct piv_secrets ps = {0};
	struct stat st;
	char *pin = NULL;
	size_t pin_len = 0;
	uint8_t admin_key[VCARD_OPTS_ADMIN_KEY_LEN] = {0};
	enum mdp_err rv;
	int rc = VCARD_EXIT_FAIL;

	if (lstat(o->file, &st) == 0) {
		if (!o->force) {
			fprintf(stderr, "mdp11-vcard: %s exists (use --force to replace it)\n",
				o->file);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			fprintf(stderr, "mdp11-vcard: %s is not a regular file\n", o->file);
			goto out;
		}
	}
	if (o->piv) {
		rv = piv_params(o, &params, &ps);
		if (rv != MDP_OK) {
			fprintf(stderr, "mdp11-vcard: %s\n", mdp_err_last());
			rc = rv == MDP_ERR_NOMEM ? VCARD_EXIT_FAIL : VCARD_EXIT_USAGE;
			goto out;
		}
	} else if (o->initialized) {
		/* A secret that cannot be read is a usage error, as in mdp11-tool. */
		rv = vcard_opts_read_pin(o, &pin, &pin_len);
		if (rv == MDP_OK)
			rv = vcard_opts_read_admin_key(o, admin_key);
		if (rv != MDP_OK) {
			fprintf(stderr, "mdp11-vcard: %s\n", mdp_err_last());
			rc = rv == MDP_ERR_NOMEM ? VCARD_EXIT_FAIL : VCARD_EXIT_USAGE;
			goto out;
		}
		params.pin = pin;
		params.admin_key = admin_key;
		params.serial = o->serial_len ? o->serial : NULL;
		params.serial_len = o->serial_len;
		params.pin_tries = o->pin_tries;
	}
	params.seal = o->seal;
	params.kdf_cost = o->kdf_cost;
	/* Replacing: the old card goes only once the new parameters are known to be good. */
	if (o->force && unlink(o->file) < 0 && errno != ENOENT) {
		fprintf(stderr, "mdp11-vcard: cannot remove %s: %s\n", o->file, strerror(errno));
		goto out;
	}
	rv = vcard_create(o->file, &params);
	if (rv != MDP_OK) {
		fail("cannot create", o->file);
		if (rv == MDP_ERR_ARGS)
			rc = VCARD_EXIT_USAGE;
		goto out;
	}
	printf("created %s card %s\n",
	       o->piv		? "a PIV"
	       : o->initialized ? "an initialized"
				: "a blank",
	       o->file);
	print_seal(o->file);
	rc = VCARD_EXIT_OK;
out:
	if (pin)
		mdp_secure_free(pin, pin_len + 1);
	mdp_wipe(admin_key, sizeof(admin_key));
	piv_secrets_clear(&ps);
	return rc;
}

static size_t
ops_atr(void *ctx, uint8_t *atr, size_t cap)
{
	return vcard_atr(ctx, atr, cap);
}

static void
ops_power(void *ctx, int ctrl)
{
	(void)ctrl;
	/* Power off, power on and reset all clear the security state. */
	vcard_reset(ctx);
}

static enum mdp_err
ops_transmit(void *ctx, const uint8_t *apdu, size_t len, uint8_t *resp, size_t cap,
	     size_t *resp_len)
{
	/* vpcd carries up to 65535 bytes: an extended Le gets that much at once (the caller wipes
	 * resp) */
	return vcard_transmit_cap(ctx, apdu, len, resp, cap, resp_len);
}

static int
cmd_serve(const struct vcard_opts *o)
{
	struct vcard *vc = NULL;
	struct vpcd_card_ops ops = {0};
	struct sigaction sa;
	sigset_t block;
	sigset_t waitmask;
	enum mdp_err rv;
	int rc = VCARD_EXIT_FAIL;

	/* Warnings (vpcd unreachable, card errors) always; MDP11_DEBUG overrides. */
	mdp_log_configure(o->verbose ? "info:tool,vcard" : "warn:tool,vcard", NULL);
	mdp_log_init_env();

	/*
	 * SIGTERM/SIGINT/SIGHUP stay blocked except while waiting for vpcd, so
	 * an APDU (and the state file write it causes) always completes.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &block, &waitmask) < 0) {
		perror("mdp11-vcard: sigprocmask");
		goto out;
	}
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	vc = open_card(o->file, o->seal);
	if (!vc)
		goto out;
	if (vcard_seal_check(vc) != MDP_OK)
		fprintf(stderr,
			"mdp11-vcard: warning: %s: %s; the card serves its public data only "
			"(PIN, keys and admin authentication are refused)\n",
			o->file, mdp_err_last());
	if (o->atr_len && vcard_set_atr(vc, o->atr, o->atr_len) != MDP_OK) {
		fail("cannot set the ATR of", o->file);
		goto out;
	}
	ops.atr = ops_atr;
	ops.power = ops_power;
	ops.transmit = ops_transmit;
	ops.ctx = vc;
	if (o->verbose)
		fprintf(stderr, "mdp11-vcard: serving %s to vpcd at %s:%u\n", o->file, o->host,
			(unsigned)o->port);
	rv = vpcd_run(o->host, o->port, &ops, &stop_requested, &waitmask, RECONNECT_MAX_MS, 0);
	if (rv != MDP_OK) {
		fprintf(stderr, "mdp11-vcard: %s\n", mdp_err_last());
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "mdp11-vcard: stopped\n");
	rc = VCARD_EXIT_OK;
out:
	vcard_free(vc);
	return rc;
}

static const char *
type_name(enum vcard_type t)
{
	return t == VCARD_TYPE_GIDS ? "GIDS" : "PIV";
}

static const char *
piv_alg_name(uint8_t alg)
{
	switch (alg) {
	case 0x03:
		return "3DES";
	case 0x05:
		return "RSA3072";
	case 0x06:
		return "RSA1024";
	case 0x07:
		return "RSA2048";
	case 0x08:
		return "AES128";
	case 0x0A:
		return "AES192";
	case 0x0C:
		return "AES256";
	case 0x11:
		return "ECCP256";
	case 0x14:
		return "ECCP384";
	case 0x16:
		return "RSA4096";
	default:
		return "?";
	}
}

/* The PIV lines of info: public facts only (which secrets are still the factory values). */
static void
print_piv(const struct vcard_info *info)
{
	size_t i;

	printf("PIV version:     %u.%u.%u\n", info->version[0], info->version[1], info->version[2]);
	printf("PIV serial:      %u\n", (unsigned)info->piv_serial);
	printf("PUK tries left:  %u of %u%s\n", info->puk_tries_left, info->puk_tries_max,
	       info->puk_tries_left == 0 ? " (blocked)" : "");
	printf("management key:  %s\n", piv_alg_name(info->mgm_alg));
	printf("factory values:  %s%s%s%s\n", info->pin_default ? "PIN " : "",
	       info->puk_default ? "PUK " : "", info->mgm_default ? "management-key" : "",
	       info->pin_default || info->puk_default || info->mgm_default ? "" : "none");
	printf("key slots:      ");
	for (i = 0; i < info->n_slots; i++)
		printf(" %02x:%s", info->slots[i], piv_alg_name(info->slot_algs[i]));
	printf("%s\n", info->n_slots ? "" : " (none)");
}

static int
cmd_info(const struct vcard_opts *o)
{
	struct vcard *vc = NULL;
	struct vcard_info info;
	char *hex = NULL;
	enum mdp_err seal;
	int rc = VCARD_EXIT_FAIL;

	memset(&info, 0, sizeof(info));
	vc = open_card(o->file, o->seal);
	if (!vc)
		goto out;
	if (vcard_get_info(vc, &info) != MDP_OK) {
		fail("cannot read card", o->file);
		goto out;
	}
	hex = mdp_hex_encode(info.cardid, info.cardid_len);
	if (!hex) {
		fprintf(stderr, "mdp11-vcard: out of memory\n");
		goto out;
	}
	printf("file:            %s\n", o->file);
	printf("format version:  %u\n", (unsigned)info.format_version);
	printf("card type:       %s\n", type_name(info.type));
	printf("initialized:     %s\n", info.initialized ? "yes" : "no (creation state)");
	printf("card id:         %s\n", info.cardid_len ? hex : "(none)");
	printf("PIN tries left:  %u of %u%s\n", info.pin_tries_left, info.pin_tries_max,
	       info.initialized && info.pin_tries_left == 0 ? " (blocked)" : "");
	printf("key files:       %u\n", info.key_files);
	printf("data objects:    %u\n", info.data_objects);
	if (info.type == VCARD_TYPE_PIV)
		print_piv(&info);
	printf("PIN KDF:         scrypt, N = 2^%u, r = 8, p = 1\n", info.kdf_cost);
	if (!info.sealed) {
		printf("seal:            none: the file alone yields every key (convert it: "
		       "mdp11-vcard reseal %s)\n",
		       o->file);
	} else {
		printf("seal:            %s\n", info.seal);
		if (info.seal_file[0])
			printf("seal (in file):  %s\n", info.seal_file);
		seal = vcard_seal_check(vc);
		printf("seal available:  %s%s\n",
		       seal == MDP_OK ? "yes" : "no: ", seal == MDP_OK ? "" : mdp_err_last());
	}
	rc = VCARD_EXIT_OK;
out:
	free(hex);
	vcard_free(vc);
	return rc;
}

static int
cmd_reseal(const struct vcard_opts *o)
{
	struct vcard_info before;
	struct vcard *vc = open_card(o->file, NULL);
	int rc = VCARD_EXIT_FAIL;

	if (!vc)
		return rc;
	if (vcard_get_info(vc, &before) != MDP_OK) {
		fail("cannot read card", o->file);
		goto out;
	}
	if (vcard_reseal(vc, o->seal) != MDP_OK) {
		fail("cannot reseal", o->file);
		goto out;
	}
	printf("resealed %s (was %s)\n", o->file,
	       before.sealed ? before.seal : "not sealed, format 1");
	print_seal(o->file);
	rc = VCARD_EXIT_OK;
out:
	vcard_free(vc);
	return rc;
}

int
main(int argc, char **argv)
{
	struct vcard_opts o;
	char err[256];
	int rc;

	/* The tool reports the card's problems itself; tpm2-tss's own log stays quiet. */
	vcard_set_notices(false);
	setenv("TSS2_LOG", "all+NONE", 0);
	rc = vcard_opts_parse(argc, argv, &o, err, sizeof(err));
	if (rc != VCARD_EXIT_OK) {
		fprintf(stderr, "mdp11-vcard: %s\n%s", err,
			"Try 'mdp11-vcard --help' for more information.\n");
		return rc;
	}
	if (o.help) {
		fputs(vcard_opts_usage(o.cmd), stdout);
		return VCARD_EXIT_OK;
	}
	switch (o.cmd) {
	case VCARD_CMD_VERSION:
		printf("mdp11-vcard %s\n", MDP11_VERSION);
		rc = VCARD_EXIT_OK;
		break;
	case VCARD_CMD_CREATE:
		rc = cmd_create(&o);
		break;
	case VCARD_CMD_SERVE:
		rc = cmd_serve(&o);
		break;
	case VCARD_CMD_INFO:
		rc = cmd_info(&o);
		break;
	case VCARD_CMD_RESEAL:
		rc = cmd_reseal(&o);
		break;
	default:
		fputs(vcard_opts_usage(VCARD_CMD_NONE), stderr);
		rc = VCARD_EXIT_USAGE;
		break;
	}
	vcard_opts_clear(&o);
	return rc;
}
