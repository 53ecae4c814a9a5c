/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mdp11-tool req and selfsign: a PKCS#10 request or a self-signed X.509 certificate for a key
 * on the card, signed by the card (RSA PKCS#1 v1.5 or PSS, ECDSA). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "blob/blob.h"
#include "common/bytes.h"
#include "common/hash.h"
#include "tools/tool-card.h"

#define SELFSIGN_DEFAULT_DAYS 365

struct sign_plan {
	enum mdp_hash hash;
	const EVP_MD *md;
	int md_nid;
	bool pss;
	size_t ec_field; /* EC: bytes of the order (0 for RSA) */
};

static void
req_help(FILE *f)
{
	fprintf(f, "Usage: mdp11-tool req KEY --subject /CN=NAME[/O=...] [--hash HASH]\n"
		   "                      [--padding PADDING] [--format pem|der] [--out FILE]\n"
		   "                      [PIN options] [card selection]\n"
		   "KEY: --container N, --name NAME, --label TEXT, --id HEX, --key-spec SPEC,\n"
		   "     --token 'pkcs11:...;object=...;id=...' (all given must match)\n"
		   "\n"
		   "Make a PKCS#10 certificate request for a key on the card, signed by the card.\n"
		   "\n" TOOL_HELP_SIGN TOOL_HELP_KEY TOOL_HELP_PIN TOOL_HELP_CARD TOOL_HELP_COMMON);
}

static void
selfsign_help(FILE *f)
{
	fprintf(f,
		"Usage: mdp11-tool selfsign KEY --subject /CN=NAME[/O=...] [--days N]\n"
		"                           [--hash HASH] [--padding PADDING] [--format pem|der]\n"
		"                           [--out FILE] [--store [--overwrite]] [PIN options]\n"
		"                           [card selection]\n"
		"KEY: --container N, --name NAME, --label TEXT, --id HEX, --key-spec SPEC,\n"
		"     --token 'pkcs11:...;object=...;id=...' (all given must match)\n"
		"\n"
		"Make a self-signed X.509 v3 certificate for a key on the card, signed by the\n"
		"card: a random serial, valid from now for N days, subject key identifier,\n"
		"authority key identifier, basicConstraints CA:FALSE and a key usage after the\n"
		"key spec.\n"
		"\n" TOOL_HELP_SIGN "  --days N          validity in days (default %d)\n"
		"  --store           also store the certificate with the key on the card\n"
		"  --overwrite       with --store: replace a certificate already stored "
		"there\n" TOOL_HELP_KEY TOOL_HELP_PIN_ADMIN TOOL_HELP_CARD TOOL_HELP_COMMON,
		SELFSIGN_DEFAULT_DAYS);
}

/* "/CN=Alice/O=Example" (a '\' escapes the next character, e.g. "\/") into a name. */
static int
parse_subject(const char *text, X509_NAME **out)
{
	X509_NAME *name = X509_NAME_new();
	char *buf = malloc(strlen(text) + 1);
	const char *p = text + 1;
	int rc = TOOL_EXIT_OK;

	if (name == NULL || buf == NULL) {
		rc = tool_error(TOOL_EXIT_FAIL, "out of memory");
		goto out;
	}
	while (*p) {
		char *eq, *w = buf;

		while (*p && *p != '/') {
			if (*p == '\\' && p[1])
				p++;
			*w++ = *p++;
		}
		*w = '\0';
		if (*p == '/')
			p++;
		eq = strchr(buf, '=');
		if (eq == NULL || eq == buf || eq[1] == '\0') {
			rc = tool_error(
				TOOL_EXIT_USAGE,
				"--subject: \"%s\" is not TYPE=VALUE (e.g. /CN=Alice/O=Example)",
				buf);
			goto out;
		}
		*eq = '\0';
		if (X509_NAME_add_entry_by_txt(name, buf, MBSTRING_UTF8,
					       (const unsigned char *)eq + 1, -1, -1, 0) != 1) {
			ERR_clear_error();
			rc = tool_error(
				TOOL_EXIT_USAGE,
				"--subject: unknown attribute type \"%s\" (CN, O, OU, C, L, ST, "
				"emailAddress, serialNumber, ...)",
				buf);
			goto out;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		rc = tool_error(TOOL_EXIT_USAGE, "--subject names nothing (e.g. /CN=Alice)");
		goto out;
	}
	*out = name;
	name = NULL;
out:
	X509_NAME_free(name);
	free(buf);
	return rc;
}

/* The hash and padding for this key: --hash (default: SHA-256, SHA-384 for P-384, SHA-512 for
 * P-521), --padding (RSA only; default pkcs1). */
static int
plan_signature(const struct tool_opts *o, const struct ksp_key *k, struct sign_plan *plan)
{
	const char *hash = o->hash;

	memset(plan, 0, sizeof(*plan));
	if (MDP_KEY_SPEC_IS_ECDH(k->spec))
		return tool_error(TOOL_EXIT_USAGE,
				  "the key is an ECDH key (%s), which cannot sign: choose an ECDSA "
				  "or RSA key",
				  mdp_key_spec_name(k->spec));
	if (MDP_KEY_SPEC_IS_EC(k->spec)) {
		if (o->padding)
			return tool_error(TOOL_EXIT_USAGE,
					  "--padding is for RSA keys; the key is an "
					  "EC key");
		plan->ec_field = (k->bits + 7) / 8;
		if (hash == NULL)
			hash = k->bits == 384 ? "sha384" : k->bits == 521 ? "sha512" : "sha256";
	}
	if (hash == NULL)
		hash = "sha256";
	plan->pss = o->padding && strcmp(o->padding, "pss") == 0;
	plan->hash = mdp_hash_by_name(hash); /* the option parser allows SHA-256/384/512 only */
	plan->md = mdp_hash_md(plan->hash);
	if (plan->md == NULL)
		return tool_error(TOOL_EXIT_FAIL, "no %s in OpenSSL", hash);
	plan->md_nid = EVP_MD_get_type(plan->md);
	return TOOL_EXIT_OK;
}

/* RSASSA-PSS-params: the hash, MGF1 with the same hash, a salt as long as the hash. */
static ASN1_STRING *
pss_params(const struct sign_plan *plan)
{
	RSA_PSS_PARAMS *pp = RSA_PSS_PARAMS_new();
	X509_ALGOR *mgf_md = X509_ALGOR_new();
	ASN1_STRING *mgf_der = NULL, *out = NULL;

	if (pp == NULL || mgf_md == NULL)
		goto out;
	pp->hashAlgorithm = X509_ALGOR_new();
	pp->maskGenAlgorithm = X509_ALGOR_new();
	pp->saltLength = ASN1_INTEGER_new();
	if (pp->hashAlgorithm == NULL || pp->maskGenAlgorithm == NULL || pp->saltLength == NULL)
		goto out;
	X509_ALGOR_set_md(pp->hashAlgorithm, plan->md);
	X509_ALGOR_set_md(mgf_md, plan->md);
	mgf_der = ASN1_item_pack(mgf_md, ASN1_ITEM_rptr(X509_ALGOR), NULL);
	if (mgf_der == NULL || X509_ALGOR_set0(pp->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1),
					       V_ASN1_SEQUENCE, mgf_der) != 1)
		goto out;
	mgf_der = NULL;
	if (ASN1_INTEGER_set(pp->saltLength, EVP_MD_get_size(plan->md)) != 1)
		goto out;
	out = ASN1_item_pack(pp, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
out:
	ASN1_STRING_free(mgf_der);
	X509_ALGOR_free(mgf_md);
	RSA_PSS_PARAMS_free(pp);
	return out;
}

/* The AlgorithmIdentifier of the signature. */
static X509_ALGOR *
signature_algorithm(const struct ksp_key *k, const struct sign_plan *plan)
{
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_STRING *params;
	int sig_nid = NID_undef;

	if (alg == NULL)
		return NULL;
	if (plan->pss) {
		params = pss_params(plan);
		if (params &&
		    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params) == 1)
			return alg;
		ASN1_STRING_free(params);
	} else if (OBJ_find_sigid_by_algs(&sig_nid, plan->md_nid,
					  MDP_KEY_SPEC_IS_RSA(k->spec)
						  ? NID_rsaEncryption
						  : NID_X9_62_id_ecPublicKey) &&
		   /* RSA PKCS#1: NULL parameters; ECDSA: none (RFC 5758) */
		   X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid),
				   MDP_KEY_SPEC_IS_RSA(k->spec) ? V_ASN1_NULL : V_ASN1_UNDEF,
				   NULL) == 1) {
		return alg;
	}
	X509_ALGOR_free(alg);
	return NULL;
}

/* Sign tbs on the card; *sig is the signature as X.509 carries it (ECDSA: DER Ecdsa-Sig-Value). */
static int
card_sign(struct tool_card *card, const struct ksp_container *c, enum ksp_slot slot,
	  const struct sign_plan *plan, const uint8_t *tbs, size_t tbs_len, uint8_t **sig,
	  size_t *sig_len)
{
	struct ksp_padding pad;
	uint8_t digest[EVP_MAX_MD_SIZE], *raw = NULL;
	unsigned dlen = 0;
	size_t rlen = 0, in_len;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	enum ksp_rv rv;
	int n, rc = TOOL_EXIT_OK;

	if (EVP_Digest(tbs, tbs_len, digest, &dlen, plan->md, NULL) != 1)
		return tool_error(TOOL_EXIT_FAIL, "hashing the request failed");
	memset(&pad, 0, sizeof(pad));
	pad.hash = plan->hash;
	in_len = dlen;
	if (plan->ec_field) {
		pad.type = KSP_PAD_NONE;
		pad.hash = MDP_HASH_NONE;
		if (in_len > plan->ec_field) /* ECDSA takes the leftmost bits of the hash */
			in_len = plan->ec_field;
	} else if (plan->pss) {
		pad.type = KSP_PAD_PSS;
		pad.mgf1_hash = plan->hash;
		pad.salt_len = dlen;
	} else {
		pad.type = KSP_PAD_PKCS1;
	}
	rv = ksp_sign(card->kc, c->index, slot, &pad, digest, in_len, NULL, &rlen);
	if (rv == KSP_OK && (raw = malloc(rlen)) == NULL)
		return tool_error(TOOL_EXIT_FAIL, "out of memory");
	if (rv == KSP_OK)
		rv = ksp_sign(card->kc, c->index, slot, &pad, digest, in_len, raw, &rlen);
	if (rv != KSP_OK) {
		rc = tool_card_error(rv, "signing on the card");
		goto out;
	}
	if (!plan->ec_field) {
		*sig = raw;
		*sig_len = rlen;
		return TOOL_EXIT_OK;
	}
	es = ECDSA_SIG_new();
	r = BN_bin2bn(raw, (int)(rlen / 2), NULL);
	s = BN_bin2bn(raw + rlen / 2, (int)(rlen / 2), NULL);
	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		rc = tool_error(TOOL_EXIT_FAIL, "out of memory");
		goto out;
	}
	r = s = NULL;
	n = i2d_ECDSA_SIG(es, &der);
	if (n <= 0) {
		rc = tool_error(TOOL_EXIT_FAIL, "encoding the ECDSA signature failed");
		goto out;
	}
	*sig = malloc((size_t)n);
	if (*sig == NULL) {
		rc = tool_error(TOOL_EXIT_FAIL, "out of memory");
		goto out;
	}
	memcpy(*sig, der, (size_t)n);
	*sig_len = (size_t)n;
out:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	free(raw);
	return rc;
}

/* Append the DER of an i2d_* result (len <= 0: failure) and free it. */
static void
put_der(struct mdp_buf *b, int len, unsigned char *der)
{
	if (len <= 0)
		b->bad = true;
	else
		buf_put_bytes(b, der, (size_t)len);
	OPENSSL_free(der);
}

/* The X.509 v3 extensions of a self-signed end-entity certificate for this key. */
static int
add_extensions(X509 *x, const struct ksp_key *k)
{
	static const struct {
		int nid;
		const char *value;
	} common[] = {
		{NID_subject_key_identifier, "hash"},
		{NID_authority_key_identifier, "keyid:always"},
		{NID_basic_constraints, "critical,CA:FALSE"},
	};
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	size_t i;
	const char *usage = k->spec == MDP_AT_KEYEXCHANGE
				    ? "critical,digitalSignature,keyEncipherment"
				    : "critical,digitalSignature";

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (i = 0; i <= sizeof(common) / sizeof(common[0]); i++) {
		bool last = i == sizeof(common) / sizeof(common[0]);

		ext = X509V3_EXT_conf_nid(NULL, &v3, last ? NID_key_usage : common[i].nid,
					  last ? usage : common[i].value);
		if (ext == NULL || X509_add_ext(x, ext, -1) != 1) {
			X509_EXTENSION_free(ext);
			ERR_clear_error();
			return tool_error(TOOL_EXIT_FAIL,
					  "making the certificate's extensions failed");
		}
		X509_EXTENSION_free(ext);
	}
	return TOOL_EXIT_OK;
}

/*
 * The TBSCertificate DER (RFC 5280 §4.1), written field by field: OpenSSL has no setter for
 * the signature algorithm inside an X509 that is not signed by OpenSSL itself.
 */
static int
cert_tbs(X509 *x, const X509_ALGOR *alg, uint8_t **out, size_t *out_len)
{
	static const uint8_t version_v3[] = {0xA0, 0x03, 0x02, 0x01, 0x02};
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	unsigned char *d = NULL;
	struct mdp_buf b;
	size_t seq, validity, ext;
	int n;

	buf_init(&b);
	seq = buf_tlv_open(&b, 0x30);
	buf_put_bytes(&b, version_v3, sizeof(version_v3));
	n = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &d);
	put_der(&b, n, d);
	d = NULL;
	n = i2d_X509_ALGOR(alg, &d);
	put_der(&b, n, d);
	d = NULL;
	n = i2d_X509_NAME(X509_get_issuer_name(x), &d);
	put_der(&b, n, d);
	d = NULL;
	validity = buf_tlv_open(&b, 0x30);
	n = i2d_ASN1_TIME(X509_get0_notBefore(x), &d);
	put_der(&b, n, d);
	d = NULL;
	n = i2d_ASN1_TIME(X509_get0_notAfter(x), &d);
	put_der(&b, n, d);
	d = NULL;
	buf_tlv_close(&b, validity);
	n = i2d_X509_NAME(X509_get_subject_name(x), &d);
	put_der(&b, n, d);
	d = NULL;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &d);
	put_der(&b, n, d);
	d = NULL;
	ext = buf_tlv_open(&b, 0xA3);
	n = i2d_X509_EXTENSIONS((X509_EXTENSIONS *)exts, &d);
	put_der(&b, n, d);
	buf_tlv_close(&b, ext);
	buf_tlv_close(&b, seq);
	*out = buf_steal(&b, out_len);
	buf_free(&b);
	return *out ? TOOL_EXIT_OK : tool_error(TOOL_EXIT_FAIL, "encoding the certificate failed");
}

/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING } */
static X509 *
cert_assemble(const uint8_t *tbs, size_t tbs_len, const X509_ALGOR *alg, const uint8_t *sig,
	      size_t sig_len)
{
	unsigned char *d = NULL;
	const unsigned char *p;
	struct mdp_buf b;
	size_t seq, bits, len = 0;
	uint8_t *der;
	X509 *x = NULL;
	int n;

	buf_init(&b);
	seq = buf_tlv_open(&b, 0x30);
	buf_put_bytes(&b, tbs, tbs_len);
	n = i2d_X509_ALGOR(alg, &d);
	put_der(&b, n, d);
	bits = buf_tlv_open(&b, 0x03);
	buf_put_u8(&b, 0); /* no unused bits */
	buf_put_bytes(&b, sig, sig_len);
	buf_tlv_close(&b, bits);
	buf_tlv_close(&b, seq);
	der = buf_steal(&b, &len);
	buf_free(&b);
	if (der == NULL)
		return NULL;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	free(der);
	return x;
}

static int
random_serial(X509 *x)
{
	uint8_t rnd[16];
	BIGNUM *bn = NULL;
	int ok;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return tool_error(TOOL_EXIT_FAIL, "no random numbers for the serial");
	rnd[0] = (uint8_t)((rnd[0] & 0x7f) | 0x40); /* positive, 127 bits, never 0 */
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? TOOL_EXIT_OK : tool_error(TOOL_EXIT_FAIL, "setting the serial failed");
}

/* Write the request or certificate as PEM or DER to --out (default: standard output). */
static int
write_result(const struct tool_opts *o, X509 *x, X509_REQ *req)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL;
	long n;
	int ok, rc;
	bool der = o->format && strcmp(o->format, "der") == 0;

	if (b == NULL)
		return tool_error(TOOL_EXIT_FAIL, "out of memory");
	if (x)
		ok = der ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x);
	else
		ok = der ? i2d_X509_REQ_bio(b, req) : PEM_write_bio_X509_REQ(b, req);
	n = BIO_get_mem_data(b, &data);
	if (ok != 1 || n <= 0)
		rc = tool_error(TOOL_EXIT_FAIL, "encoding the result failed");
	else
		rc = tool_write_output(o->out ? o->out : "-", (const uint8_t *)data, (size_t)n,
				       false);
	BIO_free(b);
	return rc;
}

/* The request: CertificationRequestInfo with the card's public key, signed by the card. */
static int
make_req(struct tool_card *card, const struct ksp_container *c, enum ksp_slot slot,
	 X509_NAME *subject, const struct sign_plan *plan, X509_REQ **out)
{
	const struct ksp_key *k = &c->slot[slot];
	X509_REQ *req = X509_REQ_new();
	X509_ALGOR *alg = signature_algorithm(k, plan);
	ASN1_BIT_STRING *bs = NULL;
	unsigned char *tbs = NULL;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	int n, rc;

	if (req == NULL || alg == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_subject_name(req, subject) != 1 ||
	    X509_REQ_set_pubkey(req, mdp_key_pkey(k->pub)) != 1 ||
	    X509_REQ_set1_signature_algo(req, alg) != 1 ||
	    (n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		rc = tool_error(TOOL_EXIT_FAIL, "making the request failed");
		goto out;
	}
	rc = card_sign(card, c, slot, plan, tbs, (size_t)n, &sig, &sig_len);
	if (rc != TOOL_EXIT_OK)
		goto out;
	bs = ASN1_BIT_STRING_new();
	if (bs == NULL || ASN1_BIT_STRING_set(bs, sig, (int)sig_len) != 1) {
		rc = tool_error(TOOL_EXIT_FAIL, "out of memory");
		goto out;
	}
	bs->flags = (bs->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT; /* no unused bits */
	X509_REQ_set0_signature(req, bs);
	bs = NULL;
	if (X509_REQ_verify(req, mdp_key_pkey(k->pub)) != 1) {
		rc = tool_error(TOOL_EXIT_FAIL,
				"the card's signature of the request does not verify");
		goto out;
	}
	*out = req;
	req = NULL;
out:
	ERR_clear_error();
	ASN1_BIT_STRING_free(bs);
	OPENSSL_free(tbs);
	free(sig);
	X509_ALGOR_free(alg);
	X509_REQ_free(req);
	return rc;
}

static int
make_cert(struct tool_card *card, const struct ksp_container *c, enum ksp_slot slot,
	  X509_NAME *subject, int days, const struct sign_plan *plan, X509 **out)
{
	const struct ksp_key *k = &c->slot[slot];
	X509 *x = X509_new(), *signed_x = NULL;
	X509_ALGOR *alg = signature_algorithm(k, plan);
	uint8_t *tbs = NULL, *sig = NULL;
	size_t tbs_len = 0, sig_len = 0;
	int rc;

	if (x == NULL || alg == NULL || X509_set_version(x, 2) != 1 ||
	    X509_set_subject_name(x, subject) != 1 || X509_set_issuer_name(x, subject) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) == NULL ||
	    X509_set_pubkey(x, mdp_key_pkey(k->pub)) != 1) {
		rc = tool_error(TOOL_EXIT_FAIL, "making the certificate failed");
		goto out;
	}
	rc = random_serial(x);
	if (rc == TOOL_EXIT_OK)
		rc = add_extensions(x, k);
	if (rc == TOOL_EXIT_OK)
		rc = cert_tbs(x, alg, &tbs, &tbs_len);
	if (rc == TOOL_EXIT_OK)
		rc = card_sign(card, c, slot, plan, tbs, tbs_len, &sig, &sig_len);
	if (rc != TOOL_EXIT_OK)
		goto out;
	signed_x = cert_assemble(tbs, tbs_len, alg, sig, sig_len);
	if (signed_x == NULL || X509_verify(signed_x, mdp_key_pkey(k->pub)) != 1) {
		rc = tool_error(TOOL_EXIT_FAIL,
				"the card's signature of the certificate does not verify");
		goto out;
	}
	*out = signed_x;
	signed_x = NULL;
out:
	ERR_clear_error();
	X509_free(signed_x);
	free(tbs);
	free(sig);
	X509_ALGOR_free(alg);
	X509_free(x);
	return rc;
}

/* Store the certificate with the key (selfsign --store). */
static int
store_cert(struct tool_card *card, const struct ksp_container *c, enum ksp_slot slot, X509 *x)
{
	/* The write rebuilds the host role's view: c is not read after it. */
	uint8_t index = c->index;
	enum mdp_key_spec spec = c->slot[slot].spec;
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	enum ksp_rv rv;
	int rc = TOOL_EXIT_OK;

	if (n <= 0)
		return tool_error(TOOL_EXIT_FAIL, "encoding the certificate failed");
	rv = ksp_write_certificate(card->kc, index, slot, der, (size_t)n, NULL);
	if (rv != KSP_OK)
		rc = tool_card_error(rv, "storing the certificate");
	else
		fprintf(stderr, "Stored the certificate with the %s key of container %u\n",
			mdp_key_spec_name(spec), index);
	OPENSSL_free(der);
	return rc;
}

static int
run_sign(int argc, char **argv, bool selfsign)
{
	struct tool_opts o;
	struct tool_ctx ctx;
	struct tool_card card;
	struct tool_key_sel sel;
	struct sign_plan plan;
	const struct ksp_container *c = NULL;
	enum ksp_slot slot = KSP_SLOT_EXCHANGE;
	X509_NAME *subject = NULL;
	X509_REQ *req = NULL;
	X509 *x = NULL;
	unsigned mask = TOOL_O_CARD | TOOL_O_CONTAINER | TOOL_O_PIN | TOOL_O_SIGN;
	int rc;

	memset(&card, 0, sizeof(card));
	memset(&ctx, 0, sizeof(ctx));
	if (!tool_cmd_opts(argc, argv, selfsign ? mask | TOOL_O_SELFSIGN | TOOL_O_ADMIN : mask,
			   argv[0], selfsign ? selfsign_help : req_help, &o, &rc))
		return rc;
	if (o.subject == NULL)
		return tool_error(TOOL_EXIT_USAGE,
				  "--subject /CN=NAME is required (see 'mdp11-tool "
				  "%s --help')",
				  argv[0]);
	if (o.format && strcmp(o.format, "pem") != 0 && strcmp(o.format, "der") != 0)
		return tool_error(TOOL_EXIT_USAGE, "--format is pem or der, not '%s'", o.format);
	if (o.overwrite && !o.store)
		return tool_error(TOOL_EXIT_USAGE, "--overwrite goes with --store");
	rc = parse_subject(o.subject, &subject);
	if (rc != TOOL_EXIT_OK)
		return rc;
	rc = tool_key_sel_init(&o, &sel);
	if (rc != TOOL_EXIT_OK)
		goto out_name;
	rc = tool_open_key(&ctx, &o, &sel, &card, &c, &slot);
	if (rc == TOOL_EXIT_OK)
		rc = plan_signature(&o, &c->slot[slot], &plan);
	if (rc != TOOL_EXIT_OK)
		goto out;
	if (o.store && c->slot[slot].cert && !o.overwrite) {
		rc = tool_error(TOOL_EXIT_EXISTS,
				"the key of container %u already has a certificate: --overwrite "
				"replaces it",
				c->index);
		goto out;
	}
	rc = tool_login_user(&card, &o);
	if (rc == TOOL_EXIT_OK) /* the view may have been refreshed by the login */
		rc = tool_key_find(&card, &sel, &c, &slot);
	if (rc != TOOL_EXIT_OK)
		goto out;
	if (selfsign)
		rc = make_cert(&card, c, slot, subject, o.days ? o.days : SELFSIGN_DEFAULT_DAYS,
			       &plan, &x);
	else
		rc = make_req(&card, c, slot, subject, &plan, &req);
	if (rc == TOOL_EXIT_OK)
		rc = write_result(&o, x, req);
	if (rc == TOOL_EXIT_OK && o.store)
		rc = store_cert(&card, c, slot, x);
out:
	X509_free(x);
	X509_REQ_free(req);
	tool_card_close(&card);
	tool_ctx_clear(&ctx);
	tool_key_sel_clear(&sel);
out_name:
	X509_NAME_free(subject);
	return rc;
}

int
tool_cmd_req(int argc, char **argv)
{
	return run_sign(argc, argv, false);
}

int
tool_cmd_selfsign(int argc, char **argv)
{
	return run_sign(argc, argv, true);
}
