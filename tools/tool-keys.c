/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool import, export, generate and delete: keys and certificates of a card's containers. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_TOOL
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "tools/tool-card.h"

#define CARD_SELECT_HELP TOOL_HELP_CARD
#define PIN_HELP TOOL_HELP_PIN
#define COMMON_HELP TOOL_HELP_COMMON

/* ---- shared ---- */

static const char *
key_desc(const struct mdp_key *k, char *buf, size_t cap)
{
	if (mdp_key_type(k) == EVP_PKEY_RSA)
		snprintf(buf, cap, "RSA-%u", mdp_key_bits(k));
	else
		snprintf(buf, cap, "EC %s", mdp_key_curve_name(k));
	return buf;
}

static int
open_card(struct tool_ctx *ctx, const struct tool_opts *o, struct tool_card *card)
{
	int rc = tool_ctx_init(ctx, o->verbose, true);

	if (rc == TOOL_EXIT_OK)
		rc = tool_card_select(ctx, o, false, card);
	return rc;
}

/*
 * The label and id a new key gets: --label, --id, and the object= and id= of --token (a key
 * made with them is then found by the same URI). Fills req->label / req->id from sel.
 */
static int
new_key_attrs(const struct tool_opts *o, struct tool_key_sel *sel, struct ksp_new_key *req)
{
	int rc = tool_key_sel_init(o, sel);

	if (rc != TOOL_EXIT_OK)
		return rc;
	if (sel->type == TOOL_OBJ_CERT) {
		tool_key_sel_clear(sel);
		return tool_error(TOOL_EXIT_USAGE,
				  "--token: type=cert names a certificate; 'mdp11-tool "
				  "%s' makes a key pair",
				  o->cmd);
	}
	req->label = sel->label;
	req->id = sel->id_len ? sel->id : NULL;
	req->id_len = sel->id_len;
	return TOOL_EXIT_OK;
}

/* ---- export ---- */

static void
export_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool export KEY [--cert] [--format FORMAT] [--out FILE]\n"
		"                         [card selection]\n"
		"KEY: --container N, --name NAME, --label TEXT, --id HEX, --key-spec SPEC,\n"
		"     --token 'pkcs11:...;object=...;id=...;type=...' (all given must match)\n"
		"\n"
		"Write the public key or the certificate of a key (type=cert in the URI means\n"
		"--cert). Private keys never leave a card.\n"
		"\n"
		"FORMAT for a public key: pem (SubjectPublicKeyInfo, the default), der or spki\n"
		"  (DER SubjectPublicKeyInfo), capi-public (PUBLICKEYBLOB, RSA), cng-rsa-public\n"
		"  (BCRYPT_RSAPUBLIC_BLOB), cng-ecc-public (BCRYPT_ECCPUBLIC_BLOB, ECDSA or ECDH\n"
		"  magic after the card's key spec)\n"
		"FORMAT for --cert: pem (the default) or der\n"
		"\n" TOOL_HELP_KEY
		"  --cert            export the key's certificate instead of the key\n"
		"  --format FORMAT   output format\n"
		"  --out FILE        output file (replaced atomically); default: standard "
		"output\n" CARD_SELECT_HELP COMMON_HELP);
}

static int
export_cert(const struct ksp_key *k, const char *format, uint8_t **out, size_t *len)
{
	const unsigned char *p = k->cert;
	X509 *x = NULL;
	BIO *b = NULL;
	char *data = NULL;
	long n;
	int rc = TOOL_EXIT_OK;

	if (format == NULL || strcmp(format, "pem") == 0) {
		x = d2i_X509(NULL, &p, (long)k->cert_len);
		b = BIO_new(BIO_s_mem());
		if (x == NULL || b == NULL || PEM_write_bio_X509(b, x) != 1) {
			rc = tool_error(TOOL_EXIT_FAIL,
					"the certificate on the card cannot be read");
			goto out;
		}
		n = BIO_get_mem_data(b, &data);
		*out = malloc((size_t)n);
		if (*out == NULL) {
			rc = tool_error(TOOL_EXIT_FAIL, "out of memory");
			goto out;
		}
		memcpy(*out, data, (size_t)n);
		*len = (size_t)n;
	} else if (strcmp(format, "der") == 0) {
		*out = malloc(k->cert_len);
		if (*out == NULL)
			return tool_error(TOOL_EXIT_FAIL, "out of memory");
		memcpy(*out, k->cert, k->cert_len);
		*len = k->cert_len;
	} else {
		return tool_error(TOOL_EXIT_USAGE,
				  "a certificate is exported as pem or der, not %s", format);
	}
out:
	X509_free(x);
	BIO_free(b);
	return rc;
}

int
tool_cmd_export(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	struct tool_key_sel sel;
	const struct ksp_container *c = NULL;
	const struct ksp_key *k;
	enum ksp_slot slot = KSP_SLOT_EXCHANGE;
	enum blob_format fmt = BLOB_FMT_PEM;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	if (!tool_cmd_opts(argc, argv, TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_EXPORT, "export",
			   export_help, &o, &rc))
		return rc;
	rc = tool_key_sel_init(&o, &sel);
	if (rc != TOOL_EXIT_OK)
		return rc;
	if (o.export_cert && (sel.type == TOOL_OBJ_PRIVATE || sel.type == TOOL_OBJ_PUBLIC)) {
		rc = tool_error(TOOL_EXIT_USAGE,
				"--cert and the URI's type=%s contradict each other",
				sel.type == TOOL_OBJ_PRIVATE ? "private" : "public");
		goto out;
	}
	if (sel.type == TOOL_OBJ_CERT)
		o.export_cert = true;
	if (!o.export_cert && o.format) {
		if (strcmp(o.format, "der") == 0 || strcmp(o.format, "spki") == 0)
			fmt = BLOB_FMT_SPKI;
		else
			fmt = blob_format_from_name(o.format);
		if (fmt != BLOB_FMT_PEM && fmt != BLOB_FMT_SPKI && fmt != BLOB_FMT_CAPI_PUBLIC &&
		    fmt != BLOB_FMT_CNG_RSA_PUBLIC && fmt != BLOB_FMT_CNG_ECC_PUBLIC) {
			rc = tool_error(TOOL_EXIT_USAGE,
					"cannot export a public key as '%s' "
					"(pem, der, spki, capi-public, cng-rsa-public, "
					"cng-ecc-public; private keys never leave a card)",
					o.format);
			goto out;
		}
	}
	if (o.export_cert && o.format && strcmp(o.format, "pem") != 0 &&
	    strcmp(o.format, "der") != 0) {
		rc = tool_error(TOOL_EXIT_USAGE,
				"a certificate is exported as pem or der, not '%s'", o.format);
		goto out;
	}
	rc = tool_open_key(&ctx, &o, &sel, &card, &c, &slot);
	if (rc != TOOL_EXIT_OK)
		goto out;
	k = &c->slot[slot];
	if (o.export_cert) {
		if (k->cert == NULL) {
			rc = tool_error(TOOL_EXIT_NOT_FOUND,
					"container %u has no certificate for "
					"its %s key",
					c->index, mdp_key_spec_name(k->spec));
			goto out;
		}
		rc = export_cert(k, o.format, &data, &len);
		if (rc != TOOL_EXIT_OK)
			goto out;
	} else {
		if (k->pub == NULL) {
			rc = tool_error(TOOL_EXIT_FAIL, "container %u: the card gave no public key",
					c->index);
			goto out;
		}
		if ((fmt == BLOB_FMT_CAPI_PUBLIC || fmt == BLOB_FMT_CNG_RSA_PUBLIC) &&
		    !MDP_KEY_SPEC_IS_RSA(k->spec)) {
			rc = tool_error(TOOL_EXIT_USAGE,
					"%s holds RSA keys; container %u has an "
					"EC key (use cng-ecc-public, pem or der)",
					blob_format_name(fmt), c->index);
			goto out;
		}
		if (fmt == BLOB_FMT_CNG_ECC_PUBLIC && !MDP_KEY_SPEC_IS_EC(k->spec)) {
			rc = tool_error(TOOL_EXIT_USAGE,
					"cng-ecc-public holds EC keys; container "
					"%u has an RSA key (use capi-public or cng-rsa-public)",
					c->index);
			goto out;
		}
		if (blob_write(k->pub, fmt, k->spec, &data, &len) != MDP_OK) {
			rc = tool_error(TOOL_EXIT_FAIL, "export: %s", mdp_err_last());
			goto out;
		}
	}
	rc = tool_write_output(o.out ? o.out : "-", data, len, false);
out:
	if (data)
		mdp_secure_free(data, len);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
	return rc;
}

/* ---- import ---- */

static void
import_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool import --in FILE [--format FORMAT] [--container N]\n"
		"                         [--name NAME] [--label TEXT] [--id HEX] [--key-spec "
		"SPEC]\n"
		"                         [--cert FILE] [--overwrite] [--no-validate] [PIN "
		"options]\n"
		"                         [card selection]\n"
		"       mdp11-tool import --cert FILE [KEY] [--overwrite] [PIN options]\n"
		"                         [card selection]\n"
		"\n"
		"Without --in, store the certificate in FILE (PEM or DER) with the key on the "
		"card\n"
		"that has its public key (KEY: --container, --name, --label, --id, --key-spec,\n"
		"--token's object=, id=, type= narrow the choice); another certificate already\n"
		"stored with that key is replaced only with --overwrite.\n"
		"\n"
		"With --in, put a private key on the card. FILE is detected: PEM or DER PKCS#8, "
		"PKCS#1 or\n"
		"SEC1, PKCS#12 (its certificate is stored too), a CAPI PRIVATEKEYBLOB\n"
		"(CryptExportKey), a CNG BCRYPT_RSAPRIVATE_BLOB / BCRYPT_RSAFULLPRIVATE_BLOB /\n"
		"BCRYPT_ECCPRIVATE_BLOB or an NCRYPT_PKCS8_PRIVATE_KEY_BLOB (NCryptExportKey).\n"
		"The host policy of mdp11.conf applies ([policy] allow_private_*_key_import,\n"
		"rsa_min_bits, rsa_max_bits); a refused or failed import changes nothing.\n"
		"\n"
		"SPEC: keyexchange (default for RSA unless a CAPI blob says CALG_RSA_SIGN),\n"
		"  signature, ecdsa / ecdsa-p256.. (default for EC unless a CNG blob has an ECDH\n"
		"  magic), ecdh / ecdhe-p256.. (for an EC key keyexchange means ECDH and\n"
		"  signature ECDSA: the slot)\n"
		"\n"
		"  --in FILE            the key ('-': standard input)\n"
		"  --format FORMAT      read FILE as FORMAT (blob format names, or pkcs12)\n"
		"  --from FORMAT        the same as --format\n"
		"  --container N        container index (default: the first free one)\n"
		"  --name NAME          container name (default: a GUID, as Windows does)\n"
		"  --label TEXT         the key's CKA_LABEL (default: the certificate's CN, else\n"
		"                       the container name)\n"
		"  --id HEX             the key's CKA_ID (default: the container name)\n"
		"  --key-spec SPEC      key spec on the card\n"
		"  --cert FILE          certificate (PEM or DER) to store with the key\n"
		"  --overwrite          replace a key in the same container / name\n"
		"  --no-validate        skip the key pair check (n = p*q, Q = d*G)\n"
		"  --p12-pass-file F    PKCS#12 password from the first line of F\n"
		"  --p12-pass-env VAR   PKCS#12 password from the environment variable "
		"VAR\n" PIN_HELP CARD_SELECT_HELP COMMON_HELP);
}

static int
parse_cert(const uint8_t *data, size_t len, const char *path, X509 **out)
{
	const unsigned char *p = data;
	X509 *x = NULL;
	BIO *b;

	if (len > 0 && data[0] == 0x30) {
		x = d2i_X509(NULL, &p, (long)len);
		if (x && p != data + len) {
			X509_free(x);
			x = NULL;
		}
	} else {
		b = BIO_new_mem_buf(data, (int)len);
		if (b) {
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			BIO_free(b);
		}
	}
	ERR_clear_error();
	if (x == NULL)
		return tool_error(TOOL_EXIT_BAD_INPUT, "%s: not an X.509 certificate (PEM or DER)",
				  path);
	*out = x;
	return TOOL_EXIT_OK;
}

/* Re-check a key that did not come through the blob parser (PKCS#12). */
static int
validate_key(struct mdp_key **k, unsigned flags, const char *path)
{
	uint8_t *der = NULL;
	size_t len = 0;
	struct mdp_key *checked = NULL;
	enum mdp_err e;

	e = blob_write(*k, BLOB_FMT_PKCS8, MDP_AT_NONE, &der, &len);
	if (e == MDP_OK)
		e = blob_parse(der, len, BLOB_FMT_PKCS8, flags, &checked);
	if (der)
		mdp_secure_free(der, len);
	if (e != MDP_OK)
		return tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", path, mdp_err_last());
	mdp_key_free(*k);
	*k = checked;
	return TOOL_EXIT_OK;
}

static int
p12_password(const struct tool_opts *o, char **pass, size_t *len)
{
	struct tool_secret_src src = {o->p12_pass_file, o->p12_pass_env, NULL};

	if (tool_secret_read(&src, "PKCS#12 password", false, pass, len) != MDP_OK)
		return tool_error(o->p12_pass_file || o->p12_pass_env ? TOOL_EXIT_BAD_INPUT
								      : TOOL_EXIT_USAGE,
				  "PKCS#12 password: %s (give --p12-pass-file "
				  "or --p12-pass-env)",
				  mdp_err_last());
	return TOOL_EXIT_OK;
}

/* A PKCS#12 file: key (validated) and its certificate. */
static int
load_p12(PKCS12 *p12, const struct tool_opts *o, unsigned flags, struct mdp_key **key, X509 **cert)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	STACK_OF(X509) *ca = NULL;
	char *pass = NULL;
	size_t plen = 0;
	const char *use = NULL;
	int rc = TOOL_EXIT_OK;

	if (o->p12_pass_file || o->p12_pass_env) {
		rc = p12_password(o, &pass, &plen);
		if (rc != TOOL_EXIT_OK)
			return rc;
		use = pass;
	} else if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
		use = NULL;
	} else if (PKCS12_verify_mac(p12, "", 0) == 1) {
		use = "";
	} else {
		rc = p12_password(o, &pass, &plen);
		if (rc != TOOL_EXIT_OK)
			return rc;
		use = pass;
	}
	if (PKCS12_parse(p12, use, &pkey, &x, &ca) != 1 || pkey == NULL) {
		ERR_clear_error();
		rc = tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", o->in,
				pkey == NULL && x != NULL
					? "the PKCS#12 file holds no private key"
					: "cannot read the PKCS#12 file (wrong password?)");
		goto out;
	}
	if (mdp_key_from_pkey(pkey, MDP_AT_NONE, key) != MDP_OK) {
		rc = tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", o->in, mdp_err_last());
		goto out;
	}
	rc = validate_key(key, flags, o->in);
	if (rc != TOOL_EXIT_OK)
		goto out;
	*cert = x;
	x = NULL;
out:
	if (pass)
		mdp_secure_free(pass, plen + 1);
	EVP_PKEY_free(pkey);
	X509_free(x);
	sk_X509_pop_free(ca, X509_free);
	return rc;
}

/* Read --in: a key, and from a PKCS#12 file its certificate. */
static int
load_import(const struct tool_opts *o, struct mdp_key **key, X509 **cert)
{
	uint8_t *data = NULL;
	size_t len = 0;
	const unsigned char *p;
	PKCS12 *p12 = NULL;
	enum blob_format fmt = BLOB_FMT_UNKNOWN;
	unsigned flags = o->no_validate ? BLOB_NO_VALIDATION : 0;
	enum mdp_err e;
	int rc;

	rc = tool_read_input(o->in, &data, &len);
	if (rc != TOOL_EXIT_OK)
		return rc;
	if (o->from == NULL || strcmp(o->from, "pkcs12") == 0) {
		p = data;
		if (len && data[0] == 0x30)
			p12 = d2i_PKCS12(NULL, &p, (long)len);
		ERR_clear_error();
		if (p12 == NULL && o->from) {
			rc = tool_error(TOOL_EXIT_BAD_INPUT, "%s: not a PKCS#12 file", o->in);
			goto out;
		}
	}
	if (p12) {
		rc = load_p12(p12, o, flags, key, cert);
		goto out;
	}
	if (o->from)
		fmt = blob_format_from_name(o->from);
	e = blob_parse(data, len, fmt, flags, key);
	if (e != MDP_OK) {
		rc = tool_error(TOOL_EXIT_BAD_INPUT, "%s: %s", o->in, mdp_err_last());
		goto out;
	}
	if (!mdp_key_is_private(*key)) {
		mdp_key_free(*key);
		*key = NULL;
		rc = tool_error(TOOL_EXIT_BAD_INPUT, "%s: a public key: import needs a private key",
				o->in);
	}
out:
	PKCS12_free(p12);
	mdp_secure_free(data, TOOL_INPUT_ALLOC);
	return rc;
}

/* import --cert FILE without --in: the certificate goes to the key that has its public key. */
static int
import_cert(struct tool_opts *o)
{
	struct tool_ctx ctx;
	struct tool_card card;
	struct tool_key_sel sel;
	const struct ksp_container *c = NULL;
	const struct ksp_key *k;
	enum ksp_slot slot = KSP_SLOT_EXCHANGE;
	uint8_t *cdata = NULL, *der = NULL;
	size_t clen = 0;
	X509 *cert = NULL;
	char name[sizeof(c->name)];
	enum ksp_rv mrv;
	unsigned index;
	int der_len, rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	rc = tool_key_sel_init(o, &sel);
	if (rc != TOOL_EXIT_OK)
		return rc;
	if (sel.type == TOOL_OBJ_CERT) {
		rc = tool_error(TOOL_EXIT_USAGE,
				"--token: type=cert selects a stored certificate; "
				"the key the certificate goes with is type=private "
				"or type=public");
		goto out;
	}
	rc = tool_read_input(o->cert_file, &cdata, &clen);
	if (rc == TOOL_EXIT_OK)
		rc = parse_cert(cdata, clen, o->cert_file, &cert);
	if (rc != TOOL_EXIT_OK)
		goto out;
	der_len = i2d_X509(cert, &der);
	sel.pub = X509_get0_pubkey(cert);
	if (der_len <= 0 || sel.pub == NULL) {
		ERR_clear_error();
		rc = tool_error(TOOL_EXIT_BAD_INPUT,
				"%s: the certificate's public key cannot be read", o->cert_file);
		goto out;
	}
	rc = tool_open_key(&ctx, o, &sel, &card, &c, &slot);
	if (rc != TOOL_EXIT_OK)
		goto out;
	k = &c->slot[slot];
	index = c->index;
	snprintf(name, sizeof(name), "%s", c->name);
	if (k->cert && k->cert_len == (size_t)der_len && memcmp(k->cert, der, k->cert_len) == 0) {
		printf("The certificate is already stored with the %s key of container %u \"%s\"\n",
		       mdp_key_spec_name(k->spec), index, name);
		goto out;
	}
	if (k->cert && !o->overwrite) {
		rc = tool_error(TOOL_EXIT_EXISTS,
				"the %s key of container %u has another certificate: --overwrite "
				"replaces it",
				mdp_key_spec_name(k->spec), index);
		goto out;
	}
	rc = tool_login_user(&card, o);
	if (rc != TOOL_EXIT_OK)
		goto out;
	mrv = ksp_write_certificate(card.kc, (uint8_t)index, slot, der, (size_t)der_len, NULL);
	if (mrv != KSP_OK) {
		rc = tool_card_error(mrv, "storing the certificate");
		goto out;
	}
	printf("Stored the certificate with the %s key of container %u \"%s\"\n",
	       slot == KSP_SLOT_EXCHANGE ? "exchange" : "signature", index, name);
out:
	OPENSSL_free(der);
	X509_free(cert);
	if (cdata)
		mdp_secure_free(cdata, TOOL_INPUT_ALLOC);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
	return rc;
}

int
tool_cmd_import(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	struct mdp_key *key = NULL;
	X509 *cert = NULL;
	uint8_t *cert_der = NULL, *cdata = NULL;
	int cert_len = 0;
	size_t clen = 0;
	struct ksp_new_key req;
	const struct ksp_container *c = NULL;
	enum mdp_key_spec spec;
	enum ksp_rv mrv;
	struct tool_key_sel sel;
	uint8_t index = 0;
	char desc[32];
	int rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	memset(&req, 0, sizeof(req));
	if (!tool_cmd_opts(argc, argv, TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_IMPORT,
			   "import", import_help, &o, &rc))
		return rc;
	if (o.in == NULL && o.cert_file)
		return import_cert(&o);
	if (o.in == NULL)
		return tool_error(TOOL_EXIT_USAGE,
				  "--in FILE (a private key) or --cert FILE (a certificate for a "
				  "key on the card) is required (see 'mdp11-tool import --help')");
	rc = new_key_attrs(&o, &sel, &req);
	if (rc != TOOL_EXIT_OK)
		return rc;
	/* Everything about the input is checked before the card is touched. */
	rc = load_import(&o, &key, &cert);
	if (rc != TOOL_EXIT_OK)
		goto out;
	if (o.cert_file) {
		X509_free(cert);
		cert = NULL;
		rc = tool_read_input(o.cert_file, &cdata, &clen);
		if (rc == TOOL_EXIT_OK)
			rc = parse_cert(cdata, clen, o.cert_file, &cert);
		if (rc != TOOL_EXIT_OK)
			goto out;
	}
	if (cert) {
		if (EVP_PKEY_eq(X509_get0_pubkey(cert), mdp_key_pkey(key)) != 1) {
			ERR_clear_error();
			rc = tool_error(TOOL_EXIT_BAD_INPUT,
					"%s: the certificate does not belong to "
					"the key",
					o.cert_file ? o.cert_file : o.in);
			goto out;
		}
		cert_len = i2d_X509(cert, &cert_der);
		if (cert_len <= 0) {
			rc = tool_error(TOOL_EXIT_BAD_INPUT, "the certificate cannot be encoded");
			goto out;
		}
	}
	if (o.key_spec) {
		spec = tool_spec_resolve(o.key_spec, mdp_key_type(key), mdp_key_bits(key));
		if (spec == MDP_AT_NONE) {
			rc = tool_error(TOOL_EXIT_USAGE, "key spec '%s' does not suit an %s key",
					o.key_spec, key_desc(key, desc, sizeof(desc)));
			goto out;
		}
	} else {
		spec = mdp_key_spec(key);
	}
	rc = open_card(&ctx, &o, &card);
	if (rc != TOOL_EXIT_OK)
		goto out;
	rc = tool_login_user(&card, &o);
	if (rc != TOOL_EXIT_OK)
		goto out;
	req.spec = spec;
	req.index = o.container;
	req.name = o.name;
	req.overwrite = o.overwrite;
	mrv = ksp_import(card.kc, key, &req, &index);
	if (mrv != KSP_OK) {
		rc = tool_card_error(mrv, "import");
		goto out;
	}
	if (cert_der) {
		mrv = ksp_write_certificate(card.kc, index, ksp_slot_of(spec), cert_der,
					    (size_t)cert_len, NULL);
		if (mrv != KSP_OK) {
			rc = tool_card_error(mrv, "storing the certificate");
			/* Leave the card as it was: take the key out again. */
			if (ksp_delete_key(card.kc, index, ksp_slot_of(spec)) != KSP_OK)
				tool_error(rc,
					   "the key stays in container %u: remove it with "
					   "'mdp11-tool delete --container %u'",
					   index, index);
			goto out;
		}
	}
	if (ksp_card_container(card.kc, index, &c) == KSP_OK)
		printf("Imported %s key into container %u \"%s\" as %s%s\n",
		       key_desc(key, desc, sizeof(desc)), index, c->name, mdp_key_spec_name(spec),
		       cert_der ? ", with its certificate" : "");
	else
		printf("Imported %s key into container %u as %s\n",
		       key_desc(key, desc, sizeof(desc)), index, mdp_key_spec_name(spec));
out:
	OPENSSL_free(cert_der);
	X509_free(cert);
	if (cdata)
		mdp_secure_free(cdata, TOOL_INPUT_ALLOC);
	mdp_key_free(key);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
	return rc;
}

/* ---- generate ---- */

static void
generate_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool generate [--type TYPE] [--key-spec SPEC] [--container N]\n"
		"                           [--name NAME] [--label TEXT] [--id HEX] [--overwrite]\n"
		"                           [PIN options] [card selection]\n"
		"\n"
		"Generate a key pair on the card (the private key never exists elsewhere).\n"
		"On a terminal, the seconds spent are shown while the card works.\n"
		"\n"
		"TYPE: rsa (the policy's default size, rsa_default_bits), rsa:1024 .. rsa:4096,\n"
		"      ec:p256, ec:p384, ec:p521. Default: rsa.\n"
		"SPEC: keyexchange (RSA default), signature, ecdsa (EC default), ecdh.\n"
		"      For an EC key keyexchange means ECDH and signature ECDSA (the slot).\n"
		"\n"
		"  --type TYPE       key type and size\n"
		"  --key-spec SPEC   key spec on the card\n"
		"  --container N     container index (default: the first free one)\n"
		"  --name NAME       container name (default: a GUID, as Windows does)\n"
		"  --label TEXT      the key's CKA_LABEL (default: the container name)\n"
		"  --id HEX          the key's CKA_ID (default: the container name)\n"
		"                    (--token's object= and id= set them too)\n"
		"  --overwrite       replace a key in the same container / name\n" PIN_HELP
			CARD_SELECT_HELP COMMON_HELP);
}

struct gen_job {
	struct ksp_card *kc;
	const struct ksp_new_key *req;
	uint8_t index;
	enum ksp_rv rv;
	bool done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *
gen_thread(void *arg)
{
	struct gen_job *j = arg;
	uint8_t index = 0;
	enum ksp_rv rv = ksp_generate(j->kc, j->req, &index);

	pthread_mutex_lock(&j->lock);
	j->rv = rv;
	j->index = index;
	j->done = true;
	pthread_cond_signal(&j->cond);
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

/* ksp_generate, with elapsed seconds on stderr when it is a terminal. */
static enum ksp_rv
generate_with_progress(struct ksp_card *kc, const struct ksp_new_key *req, const char *what,
		       uint8_t *index)
{
	static const char spin[] = "|/-\\";
	struct gen_job j;
	struct timespec start, now, until;
	pthread_t th;
	unsigned tick = 0;
	enum ksp_rv rv;

	if (!isatty(STDERR_FILENO))
		return ksp_generate(kc, req, index);
	memset(&j, 0, sizeof(j));
	j.kc = kc;
	j.req = req;
	pthread_mutex_init(&j.lock, NULL);
	pthread_cond_init(&j.cond, NULL);
	if (pthread_create(&th, NULL, gen_thread, &j) != 0) {
		pthread_cond_destroy(&j.cond);
		pthread_mutex_destroy(&j.lock);
		return ksp_generate(kc, req, index);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_mutex_lock(&j.lock);
	while (!j.done) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&j.cond, &j.lock, &until);
		if (j.done)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "\r%c generating %s on the card... %lds ", spin[tick++ % 4], what,
			(long)(now.tv_sec - start.tv_sec));
		fflush(stderr);
	}
	pthread_mutex_unlock(&j.lock);
	pthread_join(th, NULL);
	if (tick)
		fprintf(stderr, "\r%*s\r", 50, "");
	rv = j.rv;
	if (rv == KSP_OK)
		*index = j.index;
	pthread_cond_destroy(&j.cond);
	pthread_mutex_destroy(&j.lock);
	return rv;
}

int
tool_cmd_generate(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	struct ksp_new_key req;
	const struct ksp_container *c = NULL;
	enum mdp_key_spec spec;
	enum ksp_rv mrv;
	int key_type = EVP_PKEY_RSA;
	unsigned bits = 0;
	uint8_t index = 0;
	char what[32];
	struct timespec t0, t1;
	struct tool_key_sel sel;
	int rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	memset(&req, 0, sizeof(req));
	if (!tool_cmd_opts(argc, argv,
			   TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_GENERATE,
			   "generate", generate_help, &o, &rc))
		return rc;
	if (o.type && !tool_parse_type(o.type, &key_type, &bits))
		return tool_error(TOOL_EXIT_USAGE, "unknown key type '%s'", o.type);
	spec = tool_spec_resolve(o.key_spec, key_type, key_type == EVP_PKEY_RSA ? 2048 : bits);
	if (spec == MDP_AT_NONE)
		return tool_error(TOOL_EXIT_USAGE, "key spec '%s' does not suit an %s key",
				  o.key_spec, key_type == EVP_PKEY_RSA ? "RSA" : "EC");
	rc = new_key_attrs(&o, &sel, &req);
	if (rc != TOOL_EXIT_OK)
		return rc;
	rc = open_card(&ctx, &o, &card);
	if (rc != TOOL_EXIT_OK)
		goto out;
	rc = tool_login_user(&card, &o);
	if (rc != TOOL_EXIT_OK)
		goto out;
	req.spec = spec;
	req.bits = key_type == EVP_PKEY_RSA ? bits : 0;
	req.index = o.container;
	req.name = o.name;
	req.overwrite = o.overwrite;
	if (key_type == EVP_PKEY_RSA)
		snprintf(what, sizeof(what), "RSA-%u", bits ? bits : ctx.policy.rsa_default_bits);
	else
		snprintf(what, sizeof(what), "EC P-%u", bits);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	mrv = generate_with_progress(card.kc, &req, what, &index);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (mrv != KSP_OK) {
		rc = tool_card_error(mrv, "generate");
		goto out;
	}
	if (ksp_card_container(card.kc, index, &c) == KSP_OK)
		printf("Generated %s key in container %u \"%s\" as %s (%.1f s)\n", what, index,
		       c->name, mdp_key_spec_name(spec),
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	else
		printf("Generated %s key in container %u as %s\n", what, index,
		       mdp_key_spec_name(spec));
out:
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
	return rc;
}

/* ---- delete ---- */

static void
delete_help(FILE *f)
{
	fprintf(f, "Usage: mdp11-tool delete KEY [--cert-only] [PIN options] [card selection]\n"
		   "KEY: --container N, --name NAME, --label TEXT, --id HEX, --key-spec SPEC,\n"
		   "     --token 'pkcs11:...;object=...;id=...;type=...' (all given must match)\n"
		   "\n"
		   "Delete a key (with its container map record and certificate), or with\n"
		   "--cert-only (or type=cert in the URI) just its certificate.\n"
		   "\n" TOOL_HELP_KEY
		   "  --cert-only       delete the certificate, keep the key\n" PIN_HELP
			   CARD_SELECT_HELP COMMON_HELP);
}

int
tool_cmd_delete(int argc, char **argv)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	struct tool_key_sel sel;
	const struct ksp_container *c = NULL;
	enum ksp_slot slot = KSP_SLOT_EXCHANGE;
	enum ksp_rv mrv;
	unsigned index;
	int rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	if (!tool_cmd_opts(argc, argv, TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_DELETE,
			   "delete", delete_help, &o, &rc))
		return rc;
	rc = tool_key_sel_init(&o, &sel);
	if (rc != TOOL_EXIT_OK)
		return rc;
	if (sel.type == TOOL_OBJ_CERT)
		o.cert_only = true;
	rc = tool_open_key(&ctx, &o, &sel, &card, &c, &slot);
	if (rc != TOOL_EXIT_OK)
		goto out;
	index = c->index;
	if (o.cert_only && c->slot[slot].cert == NULL) {
		rc = tool_error(TOOL_EXIT_NOT_FOUND, "container %u has no certificate", index);
		goto out;
	}
	rc = tool_login_user(&card, &o);
	if (rc != TOOL_EXIT_OK)
		goto out;
	if (o.cert_only) {
		mrv = ksp_delete_certificate(card.kc, (uint8_t)index, slot);
		if (mrv != KSP_OK) {
			rc = tool_card_error(mrv, "delete");
			goto out;
		}
		printf("Deleted the certificate of container %u\n", index);
	} else {
		mrv = ksp_delete_key(card.kc, (uint8_t)index, slot);
		if (mrv != KSP_OK) {
			rc = tool_card_error(mrv, "delete");
			goto out;
		}
		printf("Deleted the %s key of container %u\n",
		       slot == KSP_SLOT_EXCHANGE ? "exchange" : "signature", index);
	}
out:
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
	return rc;
}
