/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target: caller templates through the module (C_CreateObject, C_GenerateKeyPair,
 * C_FindObjectsInit, C_Get/SetAttributeValue, C_DeriveKey) on an embedded virtual card.
 */
#include "config.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdp11/pkcs11-vendor.h"
#include "pkcs11/pkcs11-3.h"
#include "vcard/vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: byte 0 chooses the call (bits 0-2: create, generate RSA, generate EC, find, get,
 * set, derive; bit 6: read-only session; bit 7: no login), byte 1 the object for get/set
 * (index into the card's objects) or, for a key pair, how many entries go to the public
 * template. Then up to 32 template entries: a type byte (an index into the table below, or
 * FF followed by a 4-byte little-endian raw type), a flag byte (bit 0: pValue NULL; bit 1:
 * a 2-byte length follows instead of 1), the length, and as many value bytes as the input
 * still holds (the rest of the buffer is zero: pValue always points at ulValueLen bytes).
 *
 * The card starts each input from the same state file: a P-256 signature key ("ec"), a P-256
 * ECDH key ("dh") and a public data object. Checked besides the sanitizers: a template with a
 * NULL pValue and a length is never accepted; an object made is there afterwards; a key pair
 * with CKA_MODULUS_BITS 0 is never made; C_GetAttributeValue never reports more than the
 * buffer it was given. FUZZ_TEMPLATE_VERBOSE=1 prints each call's result (for writing seeds).
 */

#define PIN "123456"
#define MAX_ENTRIES 32

static const CK_ATTRIBUTE_TYPE types[] = {
	CKA_CLASS,
	CKA_TOKEN,
	CKA_PRIVATE,
	CKA_LABEL,
	CKA_APPLICATION,
	CKA_VALUE,
	CKA_OBJECT_ID,
	CKA_CERTIFICATE_TYPE,
	CKA_KEY_TYPE,
	CKA_ID,
	CKA_SENSITIVE,
	CKA_ENCRYPT,
	CKA_DECRYPT,
	CKA_WRAP,
	CKA_UNWRAP,
	CKA_SIGN,
	CKA_VERIFY,
	CKA_DERIVE,
	CKA_MODULUS,
	CKA_MODULUS_BITS,
	CKA_PUBLIC_EXPONENT,
	CKA_PRIVATE_EXPONENT,
	CKA_PRIME_1,
	CKA_PRIME_2,
	CKA_EXPONENT_1,
	CKA_EXPONENT_2,
	CKA_COEFFICIENT,
	CKA_EXTRACTABLE,
	CKA_VALUE_LEN,
	CKA_EC_PARAMS,
	CKA_EC_POINT,
	CKA_MODIFIABLE,
	CKA_SUBJECT,
	CKA_ISSUER,
	CKA_SERIAL_NUMBER,
	CKA_PUBLIC_KEY_INFO,
	CKA_ALLOWED_MECHANISMS,
	CKA_MDP11_CONTAINER_INDEX,
	CKA_MDP11_KEY_SPEC,
	CKA_MDP11_OVERWRITE,
	CKA_MDP11_DEFAULT_CONTAINER,
	CKA_MDP11_CONTAINER_NAME,
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static CK_FUNCTION_LIST_PTR f;
static bool verbose;
static char dir[64], card[128], conf[128];
static uint8_t *pristine, peer_point[65];
static size_t pristine_len;

static void
cleanup(void)
{
	unlink(card);
	unlink(conf);
	rmdir(dir);
	free(pristine);
}

static bool
write_file(const char *path, const void *p, size_t len)
{
	FILE *fp = fopen(path, "wb");
	bool ok = fp && fwrite(p, 1, len, fp) == len;

	if (fp && fclose(fp) != 0)
		ok = false;
	return ok;
}

static CK_SLOT_ID
the_slot(void)
{
	CK_SLOT_ID s[2];
	CK_ULONG n = 2;

	if (f->C_GetSlotList(CK_TRUE, s, &n) != CKR_OK || n != 1)
		abort();
	return s[0];
}

static CK_SESSION_HANDLE
open_session(bool rw, bool login)
{
	CK_SESSION_HANDLE s = 0;

	if (f->C_OpenSession(the_slot(), CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0), NULL, NULL,
			     &s) != CKR_OK)
		abort();
	if (login && f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, 6) != CKR_OK)
		abort();
	return s;
}

/* The card every input starts from, made once. */
static void
setup(void)
{
	static const uint8_t admin[VCARD_ADMIN_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	struct vcard_init_params params = {.pin = PIN, .admin_key = admin};
	CK_BBOOL t = CK_TRUE;
	CK_OBJECT_CLASS data = CKO_DATA;
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, (void *)p256, sizeof(p256)}};
	CK_ATTRIBUTE sig[] = {{CKA_SIGN, &t, 1}, {CKA_ID, (void *)"ec", 2}};
	CK_ATTRIBUTE dh[] = {{CKA_DERIVE, &t, 1}, {CKA_ID, (void *)"dh", 2}};
	CK_ATTRIBUTE dob[] = {{CKA_CLASS, &data, sizeof(data)},
			      {CKA_LABEL, (void *)"note", 4},
			      {CKA_VALUE, (void *)"fuzz", 4}};
	CK_OBJECT_HANDLE h1, h2;
	CK_SESSION_HANDLE s;
	EVP_PKEY *peer = EVP_EC_gen("P-256");
	size_t pl = sizeof(peer_point);
	FILE *fp;
	long n;

	snprintf(dir, sizeof(dir), "%s/mdp11-fuzz-XXXXXX", "/tmp");
	if (!mkdtemp(dir) || !peer ||
	    EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key", peer_point, sizeof(peer_point),
					    &pl) != 1)
		abort();
	EVP_PKEY_free(peer);
	atexit(cleanup);
	snprintf(card, sizeof(card), "%s/card.vcard", dir);
	snprintf(conf, sizeof(conf), "%s/mdp11.conf", dir);
	/* RSA keys of 1024 bits only (the fastest the card makes), no PC/SC, nothing logged. */
	{
		static const char text[] =
			"debug = 0\n[readers]\npcsc = no\n[policy]\nrsa_min_bits = 1024\n"
			"rsa_max_bits = 1024\nrsa_default_bits = 1024\n";

		if (!write_file(conf, text, sizeof(text) - 1))
			abort();
	}
	setenv("MDP11_VCARD_KDF_COST", "4", 1);
	setenv("MDP11_CONF", conf, 1);
	setenv("MDP11_VCARD", card, 1);
	unsetenv("MDP11_DEBUG");
	if (vcard_create(card, &params) != MDP_OK || C_GetFunctionList(&f) != CKR_OK ||
	    f->C_Initialize(NULL) != CKR_OK)
		abort();
	s = open_session(true, true);
	if (f->C_GenerateKeyPair(s, &gen, pub, 1, sig, 2, &h1, &h2) != CKR_OK ||
	    f->C_GenerateKeyPair(s, &gen, pub, 1, dh, 2, &h1, &h2) != CKR_OK ||
	    f->C_CreateObject(s, dob, 3, &h1) != CKR_OK || f->C_Finalize(NULL) != CKR_OK)
		abort();
	fp = fopen(card, "rb");
	if (!fp || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 ||
	    fseek(fp, 0, SEEK_SET) != 0 || !(pristine = malloc((size_t)n)) ||
	    fread(pristine, 1, (size_t)n, fp) != (size_t)n)
		abort();
	fclose(fp);
	pristine_len = (size_t)n;
}

struct tmpl {
	CK_ATTRIBUTE a[MAX_ENTRIES];
	CK_ULONG n;
	CK_ULONG sizes[MAX_ENTRIES]; /* the buffer behind each pValue */
	bool null_with_len;
	bool bits_zero;
};

static void
tmpl_free(struct tmpl *t)
{
	CK_ULONG i;

	for (i = 0; i < t->n; i++)
		free(t->a[i].pValue);
	t->n = 0;
}

/* Up to max entries from the input; returns the bytes used. */
static size_t
parse(const uint8_t *p, size_t len, CK_ULONG max, struct tmpl *t)
{
	size_t pos = 0;

	memset(t, 0, sizeof(*t));
	while (t->n < max && len - pos >= 3) {
		CK_ATTRIBUTE *a = &t->a[t->n];
		uint8_t flags;
		size_t vlen, take;

		if (p[pos] == 0xFF) {
			if (len - pos < 7)
				break;
			a->type = (CK_ATTRIBUTE_TYPE)p[pos + 1] |
				  (CK_ATTRIBUTE_TYPE)p[pos + 2] << 8 |
				  (CK_ATTRIBUTE_TYPE)p[pos + 3] << 16 |
				  (CK_ATTRIBUTE_TYPE)p[pos + 4] << 24;
			pos += 5;
		} else {
			a->type = types[p[pos] % N_TYPES];
			pos++;
		}
		flags = p[pos++];
		if (pos >= len)
			break;
		vlen = p[pos++];
		if ((flags & 2) && pos < len)
			vlen |= (size_t)p[pos++] << 8;
		a->ulValueLen = vlen;
		if (!(flags & 1)) {
			a->pValue = calloc(1, vlen ? vlen : 1);
			if (!a->pValue)
				abort();
			take = vlen < len - pos ? vlen : len - pos;
			memcpy(a->pValue, p + pos, take);
			pos += take;
			t->sizes[t->n] = vlen;
		} else if (vlen) {
			t->null_with_len = true;
		}
		if (a->type == CKA_MODULUS_BITS && a->pValue && vlen == sizeof(CK_ULONG)) {
			CK_ULONG bits;

			memcpy(&bits, a->pValue, sizeof(bits));
			t->bits_zero = t->bits_zero || bits == 0;
		}
		t->n++;
	}
	return pos;
}

/* The index-th object of the session's view (every object, in the card's order). */
static CK_OBJECT_HANDLE
object_at(CK_SESSION_HANDLE s, unsigned index)
{
	CK_OBJECT_HANDLE h[16];
	CK_ULONG n = 0;

	if (f->C_FindObjectsInit(s, NULL, 0) != CKR_OK)
		abort();
	if (f->C_FindObjects(s, h, 16, &n) != CKR_OK || f->C_FindObjectsFinal(s) != CKR_OK)
		abort();
	return n ? h[index % n] : CK_INVALID_HANDLE;
}

static void
must_exist(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};

	if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK)
		abort();
}

static void
run(uint8_t op, uint8_t arg, const uint8_t *p, size_t len)
{
	CK_SESSION_HANDLE s = open_session(!(op & 0x40), !(op & 0x80));
	struct tmpl t, t2;
	CK_OBJECT_HANDLE h = 0, h2 = 0, obj;
	CK_RV rv = CKR_OK;
	size_t used;

	memset(&t2, 0, sizeof(t2));
	switch (op & 7) {
	case 0: /* C_CreateObject */
		parse(p, len, MAX_ENTRIES, &t);
		rv = f->C_CreateObject(s, t.a, t.n, &h);
		if (rv == CKR_OK && t.null_with_len)
			abort();
		if (rv == CKR_OK)
			must_exist(s, h);
		break;
	case 1: /* C_GenerateKeyPair */
	case 2: {
		CK_MECHANISM m = {(op & 7) == 1 ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
				  NULL, 0};

		used = parse(p, len, arg % (MAX_ENTRIES + 1), &t);
		parse(p + used, len - used, MAX_ENTRIES, &t2);
		rv = f->C_GenerateKeyPair(s, &m, t.a, t.n, t2.a, t2.n, &h, &h2);
		if (rv == CKR_OK && (t.null_with_len || t2.null_with_len || t.bits_zero))
			abort();
		if (rv == CKR_OK) {
			must_exist(s, h);
			must_exist(s, h2);
		}
		break;
	}
	case 3: { /* C_FindObjectsInit */
		CK_OBJECT_HANDLE found[8];
		CK_ULONG n = 0;

		parse(p, len, MAX_ENTRIES, &t);
		rv = f->C_FindObjectsInit(s, t.a, t.n);
		if (rv == CKR_OK && t.null_with_len)
			abort();
		if (rv == CKR_OK) {
			if (f->C_FindObjects(s, found, 8, &n) != CKR_OK || n > 8 ||
			    f->C_FindObjectsFinal(s) != CKR_OK)
				abort();
		}
		break;
	}
	case 4: { /* C_GetAttributeValue: pValue NULL asks for the size */
		CK_ULONG i;

		parse(p, len, MAX_ENTRIES, &t);
		obj = object_at(s, arg);
		rv = f->C_GetAttributeValue(s, obj, t.a, t.n);
		for (i = 0; i < t.n; i++)
			if (t.a[i].pValue && t.a[i].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
			    t.a[i].ulValueLen > t.sizes[i])
				abort();
		break;
	}
	case 5: /* C_SetAttributeValue */
		parse(p, len, MAX_ENTRIES, &t);
		obj = object_at(s, arg);
		rv = f->C_SetAttributeValue(s, obj, t.a, t.n);
		if (rv == CKR_OK && t.null_with_len)
			abort();
		break;
	default: { /* C_DeriveKey on the ECDH key */
		CK_ECDH1_DERIVE_PARAMS dp = {CKD_NULL, 0, NULL, sizeof(peer_point), peer_point};
		CK_MECHANISM m = {CKM_ECDH1_DERIVE, &dp, sizeof(dp)};
		CK_OBJECT_CLASS key = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE q[] = {{CKA_CLASS, &key, sizeof(key)}, {CKA_ID, (void *)"dh", 2}};
		CK_ULONG n = 0;

		parse(p, len, MAX_ENTRIES, &t);
		if (f->C_FindObjectsInit(s, q, 2) != CKR_OK)
			abort();
		if (f->C_FindObjects(s, &obj, 1, &n) != CKR_OK ||
		    f->C_FindObjectsFinal(s) != CKR_OK)
			abort();
		rv = f->C_DeriveKey(s, &m, n ? obj : CK_INVALID_HANDLE, t.a, t.n, &h);
		if (rv == CKR_OK && t.null_with_len)
			abort();
		if (rv == CKR_OK)
			must_exist(s, h);
		break;
	}
	}
	if (verbose)
		fprintf(stderr, "op %u: %lu entries (+%lu): CK_RV 0x%lx\n", op & 7, t.n, t2.n, rv);
	tmpl_free(&t);
	tmpl_free(&t2);
	f->C_CloseSession(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!f) {
		verbose = getenv("FUZZ_TEMPLATE_VERBOSE") != NULL;
		setup();
	}
	if (size < 2)
		return 0;
	if (!write_file(card, pristine, pristine_len) || f->C_Initialize(NULL) != CKR_OK)
		abort();
	run(data[0], data[1], data + 2, size - 2);
	if (f->C_Finalize(NULL) != CKR_OK)
		abort();
	return 0;
}
