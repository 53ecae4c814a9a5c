/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The PIV card module's minidriver view: key slots, mdp11's store, Key History, the container
 * table from MSCMAP and the slots' certificates. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define MDP_LOG_AREA MDP_AREA_CARD
#include "blob/blob.h"
#include "common/log.h"
#include "common/secmem.h"
#include "minidriver/card-piv.h"

#define CMAP_RECORD 86
#define CMAP_VALID 0x01
#define CMAP_DEFAULT 0x02

/* ---- slots: certificates and public keys ---- */

enum md_rv
piv_slot_cert(struct md_card *card, int si, const uint8_t **cert, size_t *len)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[si];
	struct mdp_buf b;
	enum md_rv rv;

	if (!s->cert_known) {
		buf_init(&b);
		rv = piv_get_object(card, piv_cert_tag(piv_slot_ref(si)), &b);
		if (rv == MD_OK && b.len) {
			enum mdp_err e =
				piv_cert_object_parse(b.data, b.len, &s->cert, &s->cert_len);

			if (e == MDP_ERR_NOT_FOUND) {
				s->cert = NULL;
			} else if (e != MDP_OK) {
				/* a slot whose certificate cannot be read is never taken as free */
				log_warn("PIV slot %02X: certificate unreadable (%s)",
					 piv_slot_ref(si), mdp_err_last());
				s->unsupported = true;
			}
		} else if (rv != MD_OK && rv != MD_E_FILE_NOT_FOUND) {
			buf_free(&b);
			return rv;
		}
		buf_free(&b);
		s->cert_known = true;
	}
	*cert = s->cert;
	*len = s->cert_len;
	return MD_OK;
}

/* The public key of a DER certificate, NULL when it has none mdp11 can use. */
static struct mdp_key *
cert_key(const uint8_t *der, size_t len)
{
	const unsigned char *q = der;
	X509 *x = d2i_X509(NULL, &q, (long)len);
	EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
	struct mdp_key *out = NULL;

	if (k && mdp_key_from_pkey(k, MDP_AT_NONE, &out) != MDP_OK)
		out = NULL;
	EVP_PKEY_free(k);
	X509_free(x);
	return out;
}

enum md_rv
piv_slot_pub(struct md_card *card, int si, struct mdp_key **pub)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[si];
	const uint8_t *cert = NULL;
	size_t len = 0;
	enum md_rv rv;

	if (!s->pub) {
		rv = piv_slot_cert(card, si, &cert, &len);
		if (rv != MD_OK)
			return rv;
		if (cert)
			s->pub = cert_key(cert, len);
	}
	if (!s->pub && p->store.spki[si] &&
	    blob_parse(p->store.spki[si], p->store.spki_len[si], BLOB_FMT_SPKI, 0, &s->pub) !=
		    MDP_OK)
		s->pub = NULL;
	if (!s->pub && !s->meta_known) {
		struct mdp_buf b;
		struct piv_metadata md;

		buf_init(&b);
		s->meta_known = true;
		rv = piv_get_metadata(card, piv_slot_ref(si), &b, &md);
		if (rv == MD_OK) {
			s->has_meta = true;
			s->alg = md.alg;
			s->pin_policy = md.pin_policy;
			if (md.pub &&
			    piv_public_key_parse(md.pub, md.pub_len, md.alg, &s->pub) != MDP_OK)
				s->pub = NULL;
		} else if (rv != MD_E_NO_KEY_CONTAINER && rv != MD_E_UNSUPPORTED_FEATURE) {
			buf_free(&b);
			return rv;
		}
		buf_free(&b);
	}
	if (!s->pub)
		return MD_E_NO_KEY_CONTAINER;
	*pub = s->pub;
	return MD_OK;
}

enum md_rv
piv_slot_set_pub(struct md_card *card, int si, struct mdp_key *pub, bool persist)
{
	struct piv *p = piv_of(card);
	uint8_t *spki = NULL;
	size_t n = 0;

	mdp_key_free(p->slots[si].pub);
	p->slots[si].pub = pub;
	/* cards with GET METADATA tell the public key themselves (§6.6) */
	if (!persist || piv_version_at_least(card, 5, 3, 0))
		return MD_OK;
	if (blob_write(pub, BLOB_FMT_SPKI, MDP_AT_NONE, &spki, &n) != MDP_OK)
		return MD_E_NO_MEMORY;
	free(p->store.spki[si]);
	p->store.spki[si] = spki;
	p->store.spki_len[si] = n;
	return piv_store_save(card);
}

enum md_rv
piv_slot_write_cert(struct md_card *card, int si, const uint8_t *der, size_t len)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[si];
	struct mdp_buf v;
	uint8_t *copy = NULL;
	enum md_rv rv;

	buf_init(&v);
	if (der && len) {
		const unsigned char *q = der;
		X509 *x = d2i_X509(NULL, &q, (long)len);

		X509_free(x);
		if (!x || q != der + len)
			return piv_refuse(
				MD_E_INVALID_PARAMETER,
				"a PIV certificate object holds one DER X.509 certificate");
		if (piv_cert_object_build(der, len, PIV_OBJECT_MAX, &v) != MDP_OK) {
			buf_free(&v);
			return piv_refuse(MD_E_WRITE_TOO_MANY, "%s", mdp_err_last());
		}
		copy = mdp_memdup(der, len);
		if (!copy) {
			buf_free(&v);
			return MD_E_NO_MEMORY;
		}
	}
	rv = piv_put_object(card, piv_cert_tag(piv_slot_ref(si)), v.data, v.len);
	buf_free(&v);
	if (rv != MD_OK) {
		free(copy);
		s->cert_known = false; /* read it again: the card decides what it holds */
		return rv;
	}
	free(s->cert);
	s->cert = copy;
	s->cert_len = copy ? len : 0;
	s->cert_known = true;
	s->unsupported = false;
	/* the store's copy of the public key is not needed once the certificate carries it */
	if (copy && p->store.spki[si]) {
		free(p->store.spki[si]);
		p->store.spki[si] = NULL;
		p->store.spki_len[si] = 0;
		rv = piv_store_save(card);
	}
	return rv;
}

/* ---- mdp11's store, chunked over PIV_OBJ_STORE.. ---- */

/* Read chunk objects from tag on until the last one; MD_E_FILE_NOT_FOUND when the first is
 * absent. */
enum md_rv
piv_read_chunks(struct md_card *card, uint32_t tag, size_t max, struct mdp_buf *out,
		size_t *objects)
{
	struct mdp_buf b;
	struct mdp_cursor d;
	bool last = false;
	size_t i;
	enum md_rv rv = MD_OK;

	*objects = 0;
	for (i = 0; i < max && !last; i++) {
		buf_init(&b);
		rv = piv_get_object(card, tag + (uint32_t)i, &b);
		if (rv == MD_E_FILE_NOT_FOUND && i > 0) {
			log_warn("PIV object %X: chunk missing, data truncated",
				 (unsigned)(tag + (uint32_t)i));
			rv = MD_E_COMM_DATA_LOST;
		}
		if (rv == MD_OK && piv_chunk_parse(b.data, b.len, &d, &last) != MDP_OK) {
			log_warn("PIV object %X: %s", (unsigned)(tag + (uint32_t)i),
				 mdp_err_last());
			rv = MD_E_COMM_DATA_LOST;
		}
		if (rv == MD_OK)
			buf_put_bytes(out, d.p + d.pos, cur_left(&d));
		buf_free(&b);
		if (rv != MD_OK)
			return rv;
		*objects = i + 1;
	}
	if (!last) {
		log_warn("PIV object %X: no last chunk", (unsigned)tag);
		return MD_E_COMM_DATA_LOST;
	}
	return out->bad ? MD_E_NO_MEMORY : MD_OK;
}

/* Write data as chunk objects from tag on; objects the old copy used beyond are emptied. */
enum md_rv
piv_write_chunks(struct md_card *card, uint32_t tag, size_t max, const uint8_t *data, size_t len,
		 size_t old_objects, size_t *objects)
{
	size_t n = piv_chunk_count(len), i;
	enum md_rv rv = MD_OK;

	if (n > max)
		return piv_refuse(MD_E_WRITE_TOO_MANY, "%zu bytes do not fit %zu PIV objects", len,
				  max);
	for (i = 0; i < n && rv == MD_OK; i++) {
		size_t off = i * PIV_CHUNK_MAX,
		       cl = len - off < PIV_CHUNK_MAX ? len - off : PIV_CHUNK_MAX;
		struct mdp_buf v;

		buf_init(&v);
		if (len == 0)
			cl = 0;
		piv_chunk_build(data + off, cl, i + 1 == n, &v);
		rv = v.bad ? MD_E_NO_MEMORY
			   : piv_put_object(card, tag + (uint32_t)i, v.data, v.len);
		buf_free(&v);
	}
	for (; i < old_objects && rv == MD_OK; i++)
		rv = piv_put_object(card, tag + (uint32_t)i, NULL, 0);
	if (rv == MD_OK)
		*objects = n;
	return rv;
}

static enum md_rv
load_store(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	enum md_rv rv;

	if (p->store_valid)
		return MD_OK;
	buf_init(&b);
	rv = piv_read_chunks(card, PIV_OBJ_STORE, PIV_STORE_OBJECTS, &b, &p->store_objects);
	if (rv == MD_E_FILE_NOT_FOUND) {
		rv = MD_OK;
	} else if (rv == MD_OK && piv_store_parse(b.data, b.len, &p->store) != MDP_OK) {
		/* never overwrite what cannot be read */
		log_warn("PIV: mdp11's data object is damaged: %s", mdp_err_last());
		rv = MD_E_COMM_DATA_LOST;
	}
	if (rv == MD_OK)
		p->store_valid = true;
	buf_free(&b);
	return rv;
}

enum md_rv
piv_store_save(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	enum md_rv rv;

	rv = load_store(card);
	if (rv != MD_OK)
		return rv;
	buf_init(&b);
	piv_store_build(&p->store, &b);
	if (b.bad)
		rv = MD_E_NO_MEMORY;
	else if (b.len == 0 && p->store_objects == 0)
		rv = MD_OK; /* nothing stored, nothing on the card */
	else if (b.len == 0) {
		/* an empty store: its objects are deleted (53 00) */
		size_t i;

		for (i = 0; i < p->store_objects && rv == MD_OK; i++)
			rv = piv_put_object(card, PIV_OBJ_STORE + (uint32_t)i, NULL, 0);
		if (rv == MD_OK)
			p->store_objects = 0;
	} else
		rv = piv_write_chunks(card, PIV_OBJ_STORE, PIV_STORE_OBJECTS, b.data, b.len,
				      p->store_objects, &p->store_objects);
	if (rv != MD_OK)
		p->store_valid = false; /* read back what the card holds */
	buf_free(&b);
	return rv;
}

/* ---- Key History (§5.4) ---- */

static enum md_rv
load_key_history(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct mdp_buf b;
	enum md_rv rv;

	if (p->kh_valid)
		return MD_OK;
	buf_init(&b);
	rv = piv_get_object(card, PIV_OBJ_KEY_HISTORY, &b);
	memset(&p->kh, 0, sizeof(p->kh));
	if (rv == MD_E_FILE_NOT_FOUND || (rv == MD_OK && b.len == 0)) {
		rv = MD_OK;
	} else if (rv == MD_OK && piv_key_history_parse(b.data, b.len, &p->kh) != MDP_OK) {
		log_warn("PIV: Key History object unreadable: retired slots not probed");
		memset(&p->kh, 0, sizeof(p->kh));
	}
	if (rv == MD_OK)
		p->kh_valid = true;
	buf_free(&b);
	return rv;
}

enum md_rv
piv_update_key_history(struct md_card *card)
{
	struct piv *p = piv_of(card);
	unsigned want = 0;
	struct mdp_buf b;
	size_t i;
	enum md_rv rv;

	rv = load_key_history(card);
	if (rv != MD_OK)
		return rv;
	/* OpenSC shows retired slots 82..81+n only (§5.4): n covers every retired slot in use */
	for (i = 0; i < p->ncont; i++) {
		const struct piv_cont *c = &p->cont[i];
		int si = piv_slot_index(c->slot);

		if (c->used && !c->key_gone && si >= 4 && (unsigned)(si - 3) > want)
			want = (unsigned)(si - 3);
	}
	if ((p->kh.present ? p->kh.on_card : 0) == want)
		return MD_OK;
	if (p->kh.off_card) {
		log_info("PIV: Key History names off-card keys: left as it is");
		return MD_OK;
	}
	buf_init(&b);
	if (want)
		piv_key_history_build(want, &b);
	rv = b.bad ? MD_E_NO_MEMORY : piv_put_object(card, PIV_OBJ_KEY_HISTORY, b.data, b.len);
	if (rv == MD_OK) {
		p->kh.present = want != 0;
		p->kh.on_card = want;
	}
	buf_free(&b);
	return rv;
}

/* ---- the container table (docs/piv.md "Containers") ---- */

enum md_rv
piv_view(struct md_card *card)
{
	enum md_rv rv = piv_sync(card);

	return rv == MD_OK ? piv_load_view(card) : rv;
}

enum md_rv
piv_container(struct md_card *card, uint8_t index, struct piv_cont **out)
{
	enum md_rv rv = piv_view(card);

	if (rv != MD_OK)
		return rv;
	*out = piv_cont_at(piv_of(card), index);
	return *out ? MD_OK : MD_E_NO_KEY_CONTAINER;
}

struct piv_cont *
piv_cont_at(struct piv *p, uint8_t index)
{
	if (index >= p->ncont || !p->cont[index].used || p->cont[index].key_gone)
		return NULL;
	return &p->cont[index];
}

static bool
slot_bound(const struct piv *p, uint8_t ref)
{
	size_t i;

	for (i = 0; i < p->ncont; i++)
		if (p->cont[i].used && p->cont[i].slot == ref)
			return true;
	return false;
}

static bool
spec_ok(uint32_t spec)
{
	return spec == MDP_AT_KEYEXCHANGE || spec == MDP_AT_SIGNATURE ||
	       spec == MDP_AT_ECDSA_P256 || spec == MDP_AT_ECDSA_P384 ||
	       spec == MDP_AT_ECDHE_P256 || spec == MDP_AT_ECDHE_P384;
}

/*
 * The name a container without a map record gets: the CHUID GUID with its last three bytes
 * replaced by the certificate object's tag, as a lower-case Windows GUID string (FreeRDP's
 * reconstruction of the name Windows' PIV driver uses, spec §8.5 reading 1).
 */
static void
synth_name(const struct piv *p, uint8_t ref, uint16_t out[40])
{
	const uint8_t *g = p->ch.has_guid ? p->ch.guid : p->cardid;
	uint32_t tag = piv_cert_tag(ref);
	char s[48];
	size_t i;

	snprintf(s, sizeof(s), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%06x", g[3],
		 g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12],
		 (unsigned)tag);
	memset(out, 0, 40 * sizeof(out[0]));
	for (i = 0; s[i] && i < 39; i++)
		out[i] = (uint8_t)s[i];
}

/* A container for a slot whose certificate the card holds but no map record names. */
static void
synthesise(struct md_card *card, int si)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[si];
	uint8_t ref = piv_slot_ref(si);
	struct piv_cont *c;
	unsigned bits;
	bool rsa;
	size_t idx;

	if (!s->cert)
		return;
	if (!s->pub)
		s->pub = cert_key(s->cert, s->cert_len);
	if (!s->pub) {
		/* Ed25519 / X25519 (YubiKey 5.7) have no minidriver key spec (spec §2.4) */
		log_info("PIV slot %02X: its key has no minidriver key spec (only RSA, P-256 and "
			 "P-384 keys are shown)",
			 ref);
		s->unsupported = true;
		return;
	}
	rsa = mdp_key_type(s->pub) == EVP_PKEY_RSA;
	bits = mdp_key_bits(s->pub);
	if (!piv_alg_for(rsa, bits)) {
		log_info("PIV slot %02X: %s key of %u bits is not a PIV key: not shown", ref,
			 rsa ? "RSA" : "EC", bits);
		s->unsupported = true;
		return;
	}
	/* the slot's own position when it is free, so an index stays with its slot */
	idx = (size_t)si;
	if (idx < p->ncont && p->cont[idx].used) {
		for (idx = 0; idx < PIV_MAX_CONTAINERS && idx < p->ncont && p->cont[idx].used;
		     idx++)
			;
	}
	if (idx >= PIV_MAX_CONTAINERS) {
		log_warn("PIV slot %02X: no container index left", ref);
		return;
	}
	c = &p->cont[idx];
	memset(c, 0, sizeof(*c));
	c->used = true;
	c->slot = ref;
	c->spec = piv_default_spec(ref, rsa, bits);
	c->bits = bits;
	c->flags = CMAP_VALID;
	c->ecdh = PIV_MSCMAP_NO_ECDH;
	c->synth = true;
	synth_name(p, ref, c->name);
	if (idx >= p->ncont)
		p->ncont = idx + 1;
}

static enum md_rv
load_map(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct piv_cmap_rec *r = NULL;
	struct mdp_buf b;
	size_t n = 0, i;
	bool wide = false;
	enum md_rv rv;

	buf_init(&b);
	rv = piv_get_object(card, PIV_OBJ_MSCMAP, &b);
	if (rv == MD_E_FILE_NOT_FOUND) {
		rv = MD_OK;
		goto out;
	}
	if (rv != MD_OK)
		goto out;
	if (piv_mscmap_parse(b.data, b.len, &r, &n, &wide) != MDP_OK) {
		log_warn("PIV: container map unreadable: %s", mdp_err_last());
		rv = MD_E_COMM_DATA_LOST;
		goto out;
	}
	if (wide)
		log_info("PIV: container map in libykpiv's 187-byte Linux form; mdp11 rewrites it "
			 "in Windows' 107-byte form at its next change");
	if (n > PIV_MAX_CONTAINERS)
		n = PIV_MAX_CONTAINERS;
	p->have_map = n > 0;
	for (i = 0; i < n; i++) {
		struct piv_cont *c = &p->cont[i];

		if (!(r[i].flags & CMAP_VALID))
			continue;
		if (piv_slot_index(r[i].slot) < 0 || slot_bound(p, r[i].slot) ||
		    !spec_ok(r[i].key_spec) || !r[i].name[0]) {
			log_warn("PIV: container map record %zu (slot %02X, key spec %u) ignored",
				 i, r[i].slot, r[i].key_spec);
			continue;
		}
		c->used = true;
		c->slot = r[i].slot;
		c->spec = r[i].key_spec;
		c->bits = MDP_KEY_SPEC_IS_RSA(c->spec) ? r[i].key_bits
			  : c->spec == MDP_AT_ECDSA_P256 || c->spec == MDP_AT_ECDHE_P256 ? 256
											 : 384;
		memcpy(c->name, r[i].name, sizeof(c->name));
		c->flags = r[i].flags & (CMAP_VALID | CMAP_DEFAULT);
		c->ecdh = r[i].ecdh;
	}
	p->ncont = n;
out:
	free(r);
	buf_free(&b);
	return rv;
}

enum md_rv
piv_load_view(struct md_card *card)
{
	struct piv *p = piv_of(card);
	const uint8_t *cert;
	size_t len, i;
	bool has_default = false;
	enum md_rv rv;
	int si;

	rv = piv_load_chuid(card);
	if (rv != MD_OK || p->view_valid)
		return rv;
	memset(p->cont, 0, sizeof(p->cont));
	p->ncont = 0;
	rv = load_map(card);
	if (rv == MD_OK)
		rv = load_store(card);
	if (rv == MD_OK)
		rv = load_key_history(card);
	/* the certificates of mapped slots (they are listed as kxcNN / kscNN) */
	for (i = 0; rv == MD_OK && i < p->ncont; i++)
		if (p->cont[i].used)
			rv = piv_slot_cert(card, piv_slot_index(p->cont[i].slot), &cert, &len);
	/* the four standard slots and the retired ones the Key History names, as OpenSC does */
	for (si = 0; rv == MD_OK && si < PIV_SLOTS; si++) {
		if (si >= 4 && (unsigned)(si - 4) >= p->kh.on_card)
			break;
		if (slot_bound(p, piv_slot_ref(si)))
			continue;
		rv = piv_slot_cert(card, si, &cert, &len);
		if (rv == MD_OK)
			synthesise(card, si);
	}
	if (rv != MD_OK) {
		piv_drop_view(p);
		return rv;
	}
	for (i = 0; i < p->ncont; i++)
		has_default |= p->cont[i].used && (p->cont[i].flags & CMAP_DEFAULT);
	/* no default yet: the first container behind the PIN (OpenSC's minidriver rule, §8.3) */
	for (i = 0; !has_default && i < p->ncont; i++) {
		if (p->cont[i].used && p->cont[i].slot != PIV_SLOT_CARDAUTH) {
			p->cont[i].flags |= CMAP_DEFAULT;
			has_default = true;
		}
	}
	p->view_valid = true;
	return MD_OK;
}

enum md_rv
piv_slot_free(struct md_card *card, int si, bool *is_free)
{
	struct piv *p = piv_of(card);
	struct piv_slot *s = &p->slots[si];
	struct piv_metadata md;
	struct mdp_buf b;
	const uint8_t *cert;
	size_t len;
	enum md_rv rv;

	*is_free = false;
	if (slot_bound(p, piv_slot_ref(si)) || s->unsupported)
		return MD_OK;
	if (p->store.freed & (1u << si)) {
		*is_free = true; /* its key was destroyed by mdp11 */
		return MD_OK;
	}
	rv = piv_slot_cert(card, si, &cert, &len);
	if (rv != MD_OK || cert || s->unsupported)
		return rv;
	buf_init(&b);
	rv = piv_get_metadata(card, piv_slot_ref(si), &b, &md);
	buf_free(&b);
	if (rv == MD_OK)
		return MD_OK; /* a key without certificate or record: not ours to overwrite */
	if (rv == MD_E_NO_KEY_CONTAINER || rv == MD_E_UNSUPPORTED_FEATURE) {
		*is_free = true;
		return MD_OK;
	}
	return rv;
}

/* ---- cmapfile <-> MSCMAP (§7.2) ---- */

void
piv_cmap_encode(const struct piv *p, struct mdp_buf *b)
{
	size_t i, j;

	for (i = 0; i < p->ncont; i++) {
		const struct piv_cont *c = &p->cont[i];
		bool sig = MDP_KEY_SPEC_IS_SIG_SLOT(c->spec);

		if (!c->used || c->pending) {
			buf_put_zeros(b, CMAP_RECORD);
			continue;
		}
		for (j = 0; j < 40; j++)
			buf_put_le16(b, j < 39 ? c->name[j] : 0);
		buf_put_u8(b, c->flags);
		buf_put_u8(b, 0);
		buf_put_le16(b, sig ? (uint16_t)c->bits : 0);
		buf_put_le16(b, sig ? 0 : (uint16_t)c->bits);
	}
}

/* The MSCMAP records of the table (fingerprints: SHA-1 of the slot's certificate, §7.2). */
static void
map_records(struct md_card *card, struct piv_cmap_rec *r, size_t n)
{
	struct piv *p = piv_of(card);
	size_t i;

	memset(r, 0, n * sizeof(*r));
	for (i = 0; i < n; i++) {
		const struct piv_cont *c = &p->cont[i];
		const struct piv_slot *s;
		unsigned hl = 0;

		if (!c->used || c->key_gone)
			continue;
		s = &p->slots[piv_slot_index(c->slot)];
		memcpy(r[i].name, c->name, sizeof(r[i].name));
		r[i].slot = c->slot;
		r[i].key_spec = (uint8_t)c->spec;
		r[i].key_bits = (uint16_t)c->bits;
		r[i].flags = c->flags;
		r[i].pin_id = MD_ROLE_USER;
		r[i].ecdh = c->ecdh;
		if (s->cert)
			EVP_Digest(s->cert, s->cert_len, r[i].fingerprint, &hl, EVP_sha1(), NULL);
	}
}

enum md_rv
piv_save_map(struct md_card *card)
{
	struct piv *p = piv_of(card);
	struct piv_cmap_rec r[PIV_MAX_CONTAINERS];
	struct mdp_buf b;
	size_t n = p->ncont;
	enum md_rv rv;

	/* trailing free records carry nothing */
	while (n > 0 && (!p->cont[n - 1].used || p->cont[n - 1].key_gone))
		n--;
	map_records(card, r, n);
	buf_init(&b);
	if (piv_mscmap_build(r, n, &b) != MDP_OK) {
		buf_free(&b);
		return piv_refuse(MD_E_WRITE_TOO_MANY, "%s", mdp_err_last());
	}
	rv = b.bad ? MD_E_NO_MEMORY : piv_put_object(card, PIV_OBJ_MSCMAP, b.data, b.len);
	buf_free(&b);
	if (rv == MD_OK) {
		size_t i;

		p->have_map = n > 0;
		for (i = 0; i < p->ncont; i++)
			p->cont[i].synth = false;
	}
	return rv;
}

/*
 * The host writes the whole cmapfile: its valid records become the map, records it zeroed
 * free their slots. A valid record must name a container the card has (a key the module
 * knows); its size must be the key's.
 */
enum md_rv
piv_write_cmap(struct md_card *card, const uint8_t *data, size_t len)
{
	struct piv *p = piv_of(card);
	struct piv_cont save[PIV_MAX_CONTAINERS];
	size_t n = len / CMAP_RECORD, i, save_n = p->ncont;
	enum md_rv rv;

	if (len % CMAP_RECORD)
		return MD_E_INVALID_PARAMETER;
	if (n > PIV_MAX_CONTAINERS)
		return piv_refuse(MD_E_WRITE_TOO_MANY,
				  "a PIV container map holds at most %d "
				  "records (%zu written)",
				  PIV_MAX_CONTAINERS, n);
	for (i = 0; i < n; i++) {
		const uint8_t *r = data + i * CMAP_RECORD;
		const struct piv_cont *c = i < p->ncont ? &p->cont[i] : NULL;
		unsigned bits;

		if (!(r[80] & CMAP_VALID))
			continue;
		if (!c || !c->used || c->key_gone)
			return piv_refuse(MD_E_INVALID_PARAMETER,
					  "cmapfile record %zu names no key on the card", i);
		bits = (unsigned)(MDP_KEY_SPEC_IS_SIG_SLOT(c->spec) ? (r[82] | r[83] << 8)
								    : (r[84] | r[85] << 8));
		if (bits != c->bits)
			return piv_refuse(MD_E_INVALID_PARAMETER,
					  "cmapfile record %zu: %u bits, the key has %u", i, bits,
					  c->bits);
	}
	memcpy(save, p->cont, sizeof(save));
	for (i = 0; i < PIV_MAX_CONTAINERS; i++) {
		struct piv_cont *c = &p->cont[i];
		const uint8_t *r = data + i * CMAP_RECORD;
		size_t j;

		if (i >= n || !(r[80] & CMAP_VALID)) {
			memset(c, 0, sizeof(*c));
			continue;
		}
		for (j = 0; j < 40; j++)
			c->name[j] = j < 39 ? (uint16_t)(r[2 * j] | r[2 * j + 1] << 8) : 0;
		c->flags = r[80] & (CMAP_VALID | CMAP_DEFAULT);
		c->pending = false;
		c->synth = false;
	}
	p->ncont = n;
	rv = piv_save_map(card);
	if (rv != MD_OK) {
		/* the map object is written whole or not at all: the old table still holds */
		memcpy(p->cont, save, sizeof(save));
		p->ncont = save_n;
		return rv;
	}
	/* OpenSC's view of retired slots only: a failure here loses nothing */
	if (piv_update_key_history(card) != MD_OK)
		log_warn("PIV: Key History object not updated");
	return MD_OK;
}
