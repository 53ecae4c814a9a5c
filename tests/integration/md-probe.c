/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test driver for the card module over a PC/SC reader: list, generate, sign, certificates (not a
 * user tool). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "transport/transport.h"

/*
 * md-probe READER [--pin PIN] COMMAND ...
 *   list                          one line per valid container: index spec bits name [cert]
 *   gen IDX SPEC BITS NAME        create a key (spec: keyexchange|signature|ecdsa-p256|...)
 *                                 and its cmapfile record, as a host does (§11)
 *   pubkey IDX OUT.pem            the public key of a container as PEM
 *   sign IDX IN OUT               RSA PKCS#1 v1.5 / ECDSA over SHA-256 of IN, big-endian / r||s to
 * OUT putcert IDX IN.der            store a certificate as mscp/kxcNN or kscNN getcert IDX OUT.der
 * read it back session                       read lines from stdin: "read" reads cardid and prints
 * the result name (MD_OK, MD_W_REMOVED_CARD, ...); "quit" ends. The context stays open: the shell
 * tests stop and restart the card server and pcscd in between. READER "-" takes the first reader.
 * Exit 0 on success, 1 with a message otherwise.
 */

static struct md_card *card;

static void *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) != NULL && fread(p, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static int
spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int
fail(const char *what, enum md_rv rv)
{
	fprintf(stderr, "md-probe: %s: %s (%s)\n", what, md_rv_name(rv), mdp_err_last());
	return 1;
}

struct rec {
	bool valid;
	char name[40];
	unsigned sig, kx;
};

static size_t
read_cmap(struct rec *out, size_t max)
{
	uint8_t *p = NULL;
	size_t n = 0, i, j;

	if (md_read_file(card, "mscp", "cmapfile", 0, &p, &n) != MD_OK)
		return 0;
	for (i = 0; i < n / 86 && i < max; i++) {
		const uint8_t *r = p + i * 86;

		memset(&out[i], 0, sizeof(out[i]));
		out[i].valid = r[80] & 1;
		for (j = 0; j < 39 && r[2 * j]; j++)
			out[i].name[j] = (char)r[2 * j];
		out[i].sig = (unsigned)(r[82] | r[83] << 8);
		out[i].kx = (unsigned)(r[84] | r[85] << 8);
	}
	free(p);
	return i;
}

static void
cert_name(char *buf, unsigned idx, bool kx)
{
	snprintf(buf, 9, "%s%02X", kx ? "kxc" : "ksc", idx & 0xFF);
}

static enum md_rv
bump_cardcf(bool containers)
{
	uint8_t *p = NULL;
	size_t n = 0;
	enum md_rv rv;
	unsigned v;

	rv = md_read_file(card, NULL, "cardcf", 0, &p, &n);
	if (rv != MD_OK)
		return rv;
	if (n < 6) {
		free(p);
		return MD_E_COMM_DATA_LOST;
	}
	v = (unsigned)(p[containers ? 2 : 4] | p[containers ? 3 : 5] << 8) + 1;
	p[containers ? 2 : 4] = (uint8_t)v;
	p[containers ? 3 : 5] = (uint8_t)(v >> 8);
	rv = md_write_file(card, NULL, "cardcf", 0, p, n);
	free(p);
	return rv;
}

static int
cmd_list(void)
{
	struct rec r[128];
	size_t n = read_cmap(r, 128), i;

	for (i = 0; i < n; i++) {
		char cn[9];
		uint8_t *c = NULL;
		size_t cl = 0;
		bool has;

		if (!r[i].valid)
			continue;
		cert_name(cn, (unsigned)i, r[i].kx != 0);
		has = md_read_file(card, "mscp", cn, 0, &c, &cl) == MD_OK && cl > 0;
		free(c);
		printf("%zu %s %u %s%s\n", i, r[i].kx ? "kx" : "sig", r[i].kx ? r[i].kx : r[i].sig,
		       r[i].name, has ? " cert" : "");
	}
	return 0;
}

static int
cmd_gen(unsigned idx, const char *spec_name, unsigned bits, const char *name)
{
	enum mdp_key_spec spec = mdp_key_spec_from_name(spec_name);
	uint8_t *p = NULL, rec[86];
	size_t n = 0, i;
	struct mdp_buf_like {
		uint8_t *d;
		size_t len;
	} m = {0};
	enum md_rv rv;
	unsigned key_bits = MDP_KEY_SPEC_IS_RSA(spec) ? bits : 0;

	if (spec == MDP_AT_NONE)
		return fail("key spec", MD_E_INVALID_PARAMETER);
	rv = md_create_container(card, (uint8_t)idx, MD_CREATE_KEY_GEN, spec, key_bits, NULL, 0);
	if (rv != MD_OK)
		return fail("create container", rv);
	rv = md_read_file(card, "mscp", "cmapfile", 0, &p, &n);
	if (rv != MD_OK)
		return fail("read cmapfile", rv);
	m.len = n > (size_t)(idx + 1) * 86 ? n : (size_t)(idx + 1) * 86;
	m.d = calloc(1, m.len);
	if (!m.d)
		return fail("memory", MD_E_NO_MEMORY);
	memcpy(m.d, p, n);
	free(p);
	memset(rec, 0, sizeof(rec));
	for (i = 0; name[i] && i < 39; i++)
		rec[2 * i] = (uint8_t)name[i];
	rec[80] = 0x01;
	if (!MDP_KEY_SPEC_IS_RSA(spec))
		bits = spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDHE_P256	? 256
		       : spec == MDP_AT_ECDSA_P384 || spec == MDP_AT_ECDHE_P384 ? 384
										: 521;
	rec[MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? 82 : 84] = (uint8_t)bits;
	rec[MDP_KEY_SPEC_IS_SIG_SLOT(spec) ? 83 : 85] = (uint8_t)(bits >> 8);
	memcpy(m.d + (size_t)idx * 86, rec, 86);
	rv = md_write_file(card, "mscp", "cmapfile", 0, m.d, m.len);
	free(m.d);
	if (rv == MD_OK)
		rv = bump_cardcf(true);
	return rv == MD_OK ? 0 : fail("write cmapfile", rv);
}

static enum md_rv
slot_of(unsigned idx, uint32_t *spec, unsigned *bits)
{
	struct rec r[128];
	size_t n = read_cmap(r, 128);

	if (idx >= n || !r[idx].valid)
		return MD_E_NO_KEY_CONTAINER;
	*bits = r[idx].kx ? r[idx].kx : r[idx].sig;
	if (*bits >= 1024)
		*spec = r[idx].kx ? MDP_AT_KEYEXCHANGE : MDP_AT_SIGNATURE;
	else
		*spec = (r[idx].kx ? MDP_AT_ECDHE_P256 : MDP_AT_ECDSA_P256) + (*bits == 384   ? 1
									       : *bits == 521 ? 2
											      : 0);
	return MD_OK;
}

static int
cmd_pubkey(unsigned idx, const char *out)
{
	struct md_container_info ci = {.version = 1};
	struct mdp_key *k = NULL;
	uint8_t *pem = NULL;
	size_t pl = 0;
	enum md_rv rv = md_get_container_info(card, (uint8_t)idx, 0, &ci);
	const uint8_t *b;
	size_t bl;
	int ret;

	if (rv != MD_OK)
		return fail("container info", rv);
	b = ci.kx_public_key ? ci.kx_public_key : ci.sig_public_key;
	bl = ci.kx_public_key ? ci.kx_public_key_len : ci.sig_public_key_len;
	if (blob_parse(b, bl, BLOB_FMT_UNKNOWN, 0, &k) != MDP_OK ||
	    blob_write(k, BLOB_FMT_PEM, MDP_AT_NONE, &pem, &pl) != MDP_OK) {
		md_container_info_clear(&ci);
		mdp_key_free(k);
		return fail("public key blob", MD_E_COMM_DATA_LOST);
	}
	ret = spit(out, pem, pl);
	free(pem);
	mdp_key_free(k);
	md_container_info_clear(&ci);
	return ret ? fail("write output", MD_E_UNEXPECTED) : 0;
}

static int
cmd_sign(unsigned idx, const char *in, const char *out)
{
	uint8_t h[32], *data;
	unsigned hl = 0, bits = 0;
	size_t n = 0, i;
	uint32_t spec = 0;
	struct md_signing_info si = {.version = 2,
				     .container_index = (uint8_t)idx,
				     .hash_alg = MDP_CALG_SHA_256,
				     .data = h,
				     .data_len = 32};
	enum md_rv rv;
	int ret;

	data = slurp(in, &n);
	if (!data)
		return fail("read input", MD_E_FILE_NOT_FOUND);
	EVP_Digest(data, n, h, &hl, EVP_sha256(), NULL);
	free(data);
	rv = slot_of(idx, &spec, &bits);
	if (rv != MD_OK)
		return fail("container", rv);
	si.key_spec = spec;
	if (!MDP_KEY_SPEC_IS_RSA(spec))
		si.hash_alg = 0;
	rv = md_sign_data(card, &si);
	if (rv != MD_OK)
		return fail("sign", rv);
	if (MDP_KEY_SPEC_IS_RSA(spec))
		for (i = 0; i < si.signature_len / 2; i++) {
			uint8_t t = si.signature[i];

			si.signature[i] = si.signature[si.signature_len - 1 - i];
			si.signature[si.signature_len - 1 - i] = t;
		}
	ret = spit(out, si.signature, si.signature_len);
	free(si.signature);
	return ret ? fail("write output", MD_E_UNEXPECTED) : 0;
}

static int
cmd_putcert(unsigned idx, const char *in)
{
	uint32_t spec = 0;
	unsigned bits = 0;
	char cn[9];
	size_t n = 0;
	uint8_t *der = slurp(in, &n);
	enum md_rv rv;

	if (!der)
		return fail("read input", MD_E_FILE_NOT_FOUND);
	rv = slot_of(idx, &spec, &bits);
	if (rv == MD_OK) {
		cert_name(cn, idx, !MDP_KEY_SPEC_IS_SIG_SLOT(spec));
		rv = md_create_file(card, "mscp", cn, (uint32_t)n, MD_AC_EVERYONE_READ_USER_WRITE);
		if (rv == MD_ERROR_FILE_EXISTS)
			rv = MD_OK;
	}
	if (rv == MD_OK)
		rv = md_write_file(card, "mscp", cn, 0, der, n);
	if (rv == MD_OK)
		rv = bump_cardcf(false);
	free(der);
	return rv == MD_OK ? 0 : fail("store certificate", rv);
}

static int
cmd_session(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		uint8_t *p = NULL;
		size_t n = 0;
		enum md_rv rv;

		if (strncmp(line, "quit", 4) == 0)
			break;
		if (strncmp(line, "read", 4) != 0) {
			printf("?\n");
			continue;
		}
		rv = md_read_file(card, NULL, "cardid", 0, &p, &n);
		free(p);
		printf("%s\n", md_rv_name(rv));
	}
	return 0;
}

static int
cmd_getcert(unsigned idx, const char *out)
{
	uint32_t spec = 0;
	unsigned bits = 0;
	char cn[9];
	uint8_t *p = NULL;
	size_t n = 0;
	enum md_rv rv = slot_of(idx, &spec, &bits);
	int ret;

	if (rv != MD_OK)
		return fail("container", rv);
	cert_name(cn, idx, !MDP_KEY_SPEC_IS_SIG_SLOT(spec));
	rv = md_read_file(card, "mscp", cn, 0, &p, &n);
	if (rv != MD_OK)
		return fail("read certificate", rv);
	ret = spit(out, p, n);
	free(p);
	return ret ? fail("write output", MD_E_UNEXPECTED) : 0;
}

int
main(int argc, char **argv)
{
	struct mdp_transport *t = NULL;
	char **readers = NULL;
	size_t nreaders = 0;
	const char *reader, *pin = NULL, *cmd;
	int i = 2, ret = 1;
	enum md_rv rv;

	mdp_log_init_env();
	if (argc < 3) {
		fprintf(stderr, "usage: md-probe READER [--pin PIN] COMMAND ...\n");
		return 2;
	}
	reader = argv[1];
	if (argc > 3 && strcmp(argv[2], "--pin") == 0) {
		pin = argv[3];
		i = 4;
	}
	if (i >= argc)
		return 2;
	cmd = argv[i++];
	if (strcmp(reader, "-") == 0) {
		if (mdp_pcsc_list_readers(&readers, &nreaders) != MDP_OK || nreaders == 0) {
			fprintf(stderr, "md-probe: no reader\n");
			return 1;
		}
		reader = readers[0];
	}
	if (mdp_transport_pcsc_new(reader, &t) != MDP_OK) {
		fprintf(stderr, "md-probe: %s: %s\n", reader, mdp_err_last());
		goto out;
	}
	rv = md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &card);
	if (rv != MD_OK) {
		ret = fail("acquire", rv);
		goto out;
	}
	if (strcmp(cmd, "session") == 0) {
		ret = cmd_session();
		goto out;
	}
	md_card_begin(card);
	if (pin) {
		rv = md_authenticate_pin(card, "user", (const uint8_t *)pin, strlen(pin), NULL);
		if (rv != MD_OK) {
			ret = fail("PIN", rv);
			goto end;
		}
	}
	if (strcmp(cmd, "list") == 0)
		ret = cmd_list();
	else if (strcmp(cmd, "gen") == 0 && argc - i == 4)
		ret = cmd_gen((unsigned)atoi(argv[i]), argv[i + 1], (unsigned)atoi(argv[i + 2]),
			      argv[i + 3]);
	else if (strcmp(cmd, "pubkey") == 0 && argc - i == 2)
		ret = cmd_pubkey((unsigned)atoi(argv[i]), argv[i + 1]);
	else if (strcmp(cmd, "sign") == 0 && argc - i == 3)
		ret = cmd_sign((unsigned)atoi(argv[i]), argv[i + 1], argv[i + 2]);
	else if (strcmp(cmd, "putcert") == 0 && argc - i == 2)
		ret = cmd_putcert((unsigned)atoi(argv[i]), argv[i + 1]);
	else if (strcmp(cmd, "getcert") == 0 && argc - i == 2)
		ret = cmd_getcert((unsigned)atoi(argv[i]), argv[i + 1]);
	else
		fprintf(stderr, "md-probe: bad command %s\n", cmd);
end:
	if (pin)
		md_deauthenticate_ex(card, MD_PIN_SET(MD_ROLE_USER), 0);
	md_card_end(card, false);
out:
	md_card_delete(card);
	mdp_transport_free(t);
	mdp_pcsc_free_readers(readers, nreaders);
	return ret;
}
