/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Drives the host role (ksp/ksp.c) on a virtual card state file, for the OpenSC interop
 * test. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card.h"
#include "ksp/ksp.h"
#include "transport/transport.h"

/*
 * ksp-probe STATE [--pin PIN] COMMAND ...
 *   populate PUB.PEM       RSA keys "first" and "mdp11key" (CKA_ID 42, label "mylabel"),
 *                          "first" deleted again (its record zeroed, the default flag moves),
 *                          a public and a private data object; PUB.PEM = mdp11key's key
 *   putcert NAME CERT.DER  store a certificate for the key of container NAME
 *   list                   one line per key: index name spec origin id(hex) label default
 *   sign NAME IN SIG       SHA-256 RSA PKCS#1 v1.5 signature by the key of container NAME
 *   pubkey NAME PUB.PEM    the public key of container NAME
 */

static struct ksp_card *kc;

static int
fail(const char *what, enum ksp_rv rv)
{
	fprintf(stderr, "ksp-probe: %s: %s (%s)\n", what, ksp_rv_name(rv), mdp_err_last());
	return 1;
}

static enum ksp_rv
gen(const char *name, const char *id, size_t id_len, const char *label, uint8_t *idx)
{
	struct ksp_new_key req;

	memset(&req, 0, sizeof(req));
	req.spec = MDP_AT_KEYEXCHANGE;
	req.bits = 2048;
	req.index = -1;
	req.name = name;
	req.id = (const uint8_t *)id;
	req.id_len = id_len;
	req.label = label;
	return ksp_generate(kc, &req, idx);
}

static const struct ksp_container *
by_name(const char *name)
{
	const struct ksp_container *list = NULL;
	size_t n = 0, i;

	if (ksp_card_containers(kc, &list, &n) != KSP_OK)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(list[i].name, name) == 0)
			return &list[i];
	return NULL;
}

static int
write_pem(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return 1;
	ok = PEM_write_PUBKEY(f, pk);
	return (fclose(f) == 0 && ok) ? 0 : 1;
}

static int
cmd_populate(const char *pem)
{
	struct ksp_data_new dn;
	const struct ksp_container *c;
	uint8_t first = 0, idx = 0;
	unsigned num = 0;
	enum ksp_rv rv;

	rv = gen("first", NULL, 0, NULL, &first);
	if (rv != KSP_OK)
		return fail("generate first", rv);
	rv = gen("mdp11key", "\x42", 1, "mylabel", &idx);
	if (rv != KSP_OK)
		return fail("generate mdp11key", rv);
	rv = ksp_delete_key(kc, first, KSP_SLOT_EXCHANGE);
	if (rv != KSP_OK)
		return fail("delete first", rv);
	memset(&dn, 0, sizeof(dn));
	dn.application = "ksp-probe";
	dn.label = "public data";
	dn.value = (const uint8_t *)"hello";
	dn.value_len = 5;
	rv = ksp_data_create(kc, &dn, &num);
	if (rv == KSP_OK) {
		dn.label = "private data";
		dn.is_private = true;
		rv = ksp_data_create(kc, &dn, &num);
	}
	if (rv != KSP_OK)
		return fail("data objects", rv);
	c = by_name("mdp11key");
	if (!c)
		return fail("find mdp11key", KSP_E_NOT_FOUND);
	return write_pem(pem, mdp_key_pkey(c->slot[KSP_SLOT_EXCHANGE].pub));
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n);
		if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return p;
}

static int
cmd_putcert(const char *name, const char *path)
{
	const struct ksp_container *c = by_name(name);
	uint8_t *der;
	size_t len = 0;
	enum ksp_rv rv;

	if (!c)
		return fail(name, KSP_E_NOT_FOUND);
	der = slurp(path, &len);
	if (!der)
		return fail(path, KSP_E_FILE_NOT_FOUND);
	rv = ksp_write_certificate(kc, c->index, KSP_SLOT_EXCHANGE, der, len, NULL);
	free(der);
	return rv == KSP_OK ? 0 : fail("write certificate", rv);
}

static int
cmd_list(void)
{
	const struct ksp_container *list = NULL;
	size_t n = 0, i, j;
	int s;
	enum ksp_rv rv = ksp_card_containers(kc, &list, &n);

	if (rv != KSP_OK)
		return fail("containers", rv);
	for (i = 0; i < n; i++) {
		for (s = 0; s < KSP_SLOTS; s++) {
			const struct ksp_key *k = &list[i].slot[s];

			if (k->spec == MDP_AT_NONE)
				continue;
			printf("%u %s %s %s ", list[i].index, list[i].name,
			       mdp_key_spec_name(k->spec),
			       k->origin == KSP_ORIGIN_GENERATED  ? "generated"
			       : k->origin == KSP_ORIGIN_IMPORTED ? "imported"
								  : "unknown");
			for (j = 0; j < k->id_len; j++)
				printf("%02x", k->id[j]);
			printf(" [%s] %s%s\n", k->label, list[i].is_default ? "default" : "-",
			       k->cert ? " cert" : "");
		}
	}
	return 0;
}

static int
cmd_pubkey(const char *name, const char *pem)
{
	const struct ksp_container *c = by_name(name);
	int s;

	if (!c)
		return fail(name, KSP_E_NOT_FOUND);
	s = c->slot[KSP_SLOT_EXCHANGE].spec != MDP_AT_NONE ? KSP_SLOT_EXCHANGE : KSP_SLOT_SIGNATURE;
	return write_pem(pem, mdp_key_pkey(c->slot[s].pub));
}

static int
cmd_sign(const char *name, const char *in, const char *out)
{
	const struct ksp_container *c = by_name(name);
	struct ksp_padding pad;
	uint8_t h[32], sig[512], *data;
	size_t len = 0, sl = sizeof(sig);
	unsigned hl = 0;
	FILE *f;
	enum ksp_rv rv;

	if (!c)
		return fail(name, KSP_E_NOT_FOUND);
	data = slurp(in, &len);
	if (!data || EVP_Digest(data, len, h, &hl, EVP_sha256(), NULL) != 1) {
		free(data);
		return fail(in, KSP_E_FILE_NOT_FOUND);
	}
	free(data);
	memset(&pad, 0, sizeof(pad));
	pad.type = KSP_PAD_PKCS1;
	pad.hash = MDP_HASH_SHA256;
	rv = ksp_sign(kc, c->index,
		      c->slot[KSP_SLOT_EXCHANGE].spec != MDP_AT_NONE ? KSP_SLOT_EXCHANGE
								     : KSP_SLOT_SIGNATURE,
		      &pad, h, hl, sig, &sl);
	if (rv != KSP_OK)
		return fail("sign", rv);
	f = fopen(out, "wb");
	if (!f || fwrite(sig, 1, sl, f) != sl) {
		if (f)
			fclose(f);
		return fail(out, KSP_E_FAILED);
	}
	return fclose(f) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct mdp_transport *t = NULL;
	struct md_card *md = NULL;
	struct ksp_policy pol;
	const char *pin = NULL, *cmd;
	int i = 2, ret = 1;
	enum ksp_rv rv;

	mdp_log_init_env();
	if (argc < 3) {
		fprintf(stderr, "usage: ksp-probe STATE [--pin PIN] COMMAND ...\n");
		return 2;
	}
	if (argc > 4 && strcmp(argv[2], "--pin") == 0) {
		pin = argv[3];
		i = 4;
	}
	cmd = argv[i++];
	if (mdp_transport_embedded_new(argv[1], NULL, &t) != MDP_OK) {
		fprintf(stderr, "ksp-probe: %s: %s\n", argv[1], mdp_err_last());
		return 1;
	}
	rv = ksp_rv_from_md(md_card_acquire(NULL, t, MD_CARD_DATA_CURRENT_VERSION, 0, &md));
	if (rv != KSP_OK) {
		ret = fail("acquire", rv);
		goto out;
	}
	ksp_policy_default(&pol);
	rv = ksp_card_open(md, &pol, &kc);
	if (rv != KSP_OK) {
		ret = fail("open", rv);
		goto out;
	}
	if (pin) {
		rv = ksp_login_user(kc, (const uint8_t *)pin, strlen(pin));
		if (rv != KSP_OK) {
			ret = fail("PIN", rv);
			goto out;
		}
	}
	if (strcmp(cmd, "populate") == 0 && argc - i == 1)
		ret = cmd_populate(argv[i]);
	else if (strcmp(cmd, "putcert") == 0 && argc - i == 2)
		ret = cmd_putcert(argv[i], argv[i + 1]);
	else if (strcmp(cmd, "list") == 0 && argc - i == 0)
		ret = cmd_list();
	else if (strcmp(cmd, "pubkey") == 0 && argc - i == 2)
		ret = cmd_pubkey(argv[i], argv[i + 1]);
	else if (strcmp(cmd, "sign") == 0 && argc - i == 3)
		ret = cmd_sign(argv[i], argv[i + 1], argv[i + 2]);
	else
		fprintf(stderr, "ksp-probe: bad command %s\n", cmd);
	if (pin)
		ksp_logout(kc);
out:
	ksp_card_free(kc);
	mdp_transport_free(t);
	return ret;
}
