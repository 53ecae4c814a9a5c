/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Template helpers: the checked accessor for caller templates, the C_GetAttributeValue size rules.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define MDP_LOG_AREA MDP_AREA_PKCS11
#include "common/log.h"
#include "mdp11/pkcs11-vendor.h"
#include "pkcs11/module.h"

/*
 * The value types the module reads or compares. A template entry of one of these types must have
 * the type's size (and a CK_BBOOL must be CK_TRUE or CK_FALSE): anything else is a caller's
 * mistake, refused before any of the template is used.
 */
static const CK_ATTRIBUTE_TYPE bool_types[] = {
	CKA_TOKEN,
	CKA_PRIVATE,
	CKA_MODIFIABLE,
	CKA_COPYABLE,
	CKA_DESTROYABLE,
	CKA_SENSITIVE,
	CKA_EXTRACTABLE,
	CKA_ENCRYPT,
	CKA_DECRYPT,
	CKA_SIGN,
	CKA_VERIFY,
	CKA_WRAP,
	CKA_UNWRAP,
	CKA_DERIVE,
	CKA_SIGN_RECOVER,
	CKA_VERIFY_RECOVER,
	CKA_LOCAL,
	CKA_ALWAYS_SENSITIVE,
	CKA_NEVER_EXTRACTABLE,
	CKA_ALWAYS_AUTHENTICATE,
	CKA_WRAP_WITH_TRUSTED,
	CKA_TRUSTED,
	CKA_MDP11_OVERWRITE,
	CKA_MDP11_DEFAULT_CONTAINER,
};
static const CK_ATTRIBUTE_TYPE ulong_types[] = {
	CKA_CLASS,
	CKA_KEY_TYPE,
	CKA_CERTIFICATE_TYPE,
	CKA_MODULUS_BITS,
	CKA_VALUE_LEN,
	CKA_CERTIFICATE_CATEGORY,
	CKA_KEY_GEN_MECHANISM,
	CKA_NAME_HASH_ALGORITHM,
	CKA_JAVA_MIDP_SECURITY_DOMAIN,
	CKA_MDP11_CONTAINER_INDEX,
	CKA_MDP11_KEY_SPEC,
};

/* Longer than anything a card object holds (card files are at most 64 KiB). */
#define ATTR_MAX_LEN (1UL << 24)

static bool
type_in(CK_ATTRIBUTE_TYPE t, const CK_ATTRIBUTE_TYPE *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == t)
			return true;
	return false;
}

CK_RV
attr_value(const CK_ATTRIBUTE *a, const void **p, size_t *len)
{
	if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION || a->ulValueLen > ATTR_MAX_LEN)
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID, "template attribute %s: length %lu",
				  p11_attr_name(a->type), a->ulValueLen);
	if (!a->pValue && a->ulValueLen)
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: no value for its %lu bytes",
				  p11_attr_name(a->type), a->ulValueLen);
	if (type_in(a->type, bool_types, sizeof(bool_types) / sizeof(bool_types[0])) &&
	    (a->ulValueLen != sizeof(CK_BBOOL) ||
	     (*(const CK_BBOOL *)a->pValue != CK_TRUE && *(const CK_BBOOL *)a->pValue != CK_FALSE)))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: not a CK_BBOOL", p11_attr_name(a->type));
	if (type_in(a->type, ulong_types, sizeof(ulong_types) / sizeof(ulong_types[0])) &&
	    a->ulValueLen != sizeof(CK_ULONG))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: not a CK_ULONG", p11_attr_name(a->type));
	*p = a->ulValueLen ? a->pValue : NULL;
	*len = a->ulValueLen;
	return CKR_OK;
}

CK_RV
attr_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	const void *p;
	size_t len;
	CK_ULONG i;
	CK_RV rv;

	if (!tmpl && n)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++) {
		rv = attr_value(&tmpl[i], &p, &len);
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

static const CK_ATTRIBUTE *
find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	if (!tmpl)
		return NULL;
	for (i = 0; i < n; i++)
		if (tmpl[i].type == type)
			return &tmpl[i];
	return NULL;
}

bool
attr_has(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	return find(tmpl, n, type) != NULL;
}

CK_RV
attr_get(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, const void **p, size_t *len)
{
	const CK_ATTRIBUTE *a = find(tmpl, n, type);

	if (!a)
		return p11_refuse(CKR_TEMPLATE_INCOMPLETE, "the template has no %s",
				  p11_attr_name(type));
	return attr_value(a, p, len);
}

CK_RV
attr_get_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out)
{
	const void *p;
	size_t len;
	CK_RV rv = attr_get(tmpl, n, type, &p, &len);

	if (rv != CKR_OK)
		return rv;
	/* attr_value checked the size and the value of a CK_BBOOL type; others are checked here */
	if (len != sizeof(CK_BBOOL) ||
	    (*(const CK_BBOOL *)p != CK_TRUE && *(const CK_BBOOL *)p != CK_FALSE))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: not a CK_BBOOL", p11_attr_name(type));
	*out = *(const CK_BBOOL *)p;
	return CKR_OK;
}

CK_RV
attr_get_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
	const void *p;
	size_t len;
	CK_RV rv = attr_get(tmpl, n, type, &p, &len);

	if (rv != CKR_OK)
		return rv;
	if (len != sizeof(CK_ULONG))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: not a CK_ULONG", p11_attr_name(type));
	memcpy(out, p, sizeof(CK_ULONG));
	return CKR_OK;
}

CK_RV
attr_get_string(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, char **out)
{
	const void *p;
	size_t len;
	char *s;
	CK_RV rv = attr_get(tmpl, n, type, &p, &len);

	if (rv != CKR_OK)
		return rv;
	/* A string with a NUL inside would be stored cut short: refused instead. */
	if (len && memchr(p, '\0', len))
		return p11_refuse(CKR_ATTRIBUTE_VALUE_INVALID,
				  "template attribute %s: a NUL byte inside the string",
				  p11_attr_name(type));
	s = malloc(len + 1);
	if (!s)
		return CKR_HOST_MEMORY;
	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	*out = s;
	return CKR_OK;
}

bool
attr_is_true(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;

	return attr_get_bool(tmpl, n, type, &v) == CKR_OK && v == CK_TRUE;
}

bool
attr_is_false(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_TRUE;

	return attr_get_bool(tmpl, n, type, &v) == CKR_OK && v == CK_FALSE;
}

CK_RV
attr_put(CK_ATTRIBUTE *a, const void *value, size_t len)
{
	if (!a->pValue) {
		a->ulValueLen = len;
		return CKR_OK;
	}
	if (a->ulValueLen < len) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (len)
		memcpy(a->pValue, value, len);
	a->ulValueLen = len;
	return CKR_OK;
}

void
attr_pad(CK_UTF8CHAR *dst, size_t dstlen, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n > dstlen) {
		/* Cut at a character boundary: never half of a UTF-8 sequence. */
		n = dstlen;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memset(dst, ' ', dstlen);
	if (n)
		memcpy(dst, src, n);
}
