/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Template helpers: typed reads of caller templates and the C_GetAttributeValue size rules. */
#include "config.h"

#include <string.h>

#include "pkcs11/module.h"

const CK_ATTRIBUTE *
attr_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	if (!tmpl)
		return NULL;
	for (i = 0; i < n; i++)
		if (tmpl[i].type == type)
			return &tmpl[i];
	return NULL;
}

CK_RV
attr_get_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_BBOOL *out)
{
	const CK_ATTRIBUTE *a = attr_find(tmpl, n, type);
	CK_BBOOL v;

	if (!a)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	v = *(const CK_BBOOL *)a->pValue;
	if (v != CK_TRUE && v != CK_FALSE)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	*out = v;
	return CKR_OK;
}

CK_RV
attr_get_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type, CK_ULONG *out)
{
	const CK_ATTRIBUTE *a = attr_find(tmpl, n, type);

	if (!a)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!a->pValue || a->ulValueLen != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(out, a->pValue, sizeof(CK_ULONG));
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
