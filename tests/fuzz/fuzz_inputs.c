/* Fuzzes the small parsers that take request input: ids, durations, sizes,
 * HTTP dates, media types, file names, base64url. */
#include "linksync/id.h"
#include "linksync/item.h"
#include "linksync/units.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *out = NULL;
	char id[LKS_ID_LEN + 1];
	uint8_t bytes[64];
	size_t n;
	int64_t i64;
	uint64_t u64;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	lks_id_parse(id, s, size);
	lks_duration_parse(&i64, s);
	lks_size_parse(&u64, s);
	lks_time_http_parse(&i64, s);
	if (lks_type_normalize(&out, s) == 0) {
		/* Normalising is idempotent. */
		char *again = NULL;
		if (lks_type_normalize(&again, out) != 0 || strcmp(again, out) != 0)
			abort();
		lks_kind_from_type(out);
		lks_type_is_inline_safe(out);
		free(again);
	}
	free(out);
	out = NULL;
	if (lks_name_sanitize(&out, (const char *)data, size) == 0 && out != NULL) {
		if (strlen(out) > LKS_NAME_MAX || strchr(out, '/') || strchr(out, '"') ||
		    !lks_utf8_valid(out, strlen(out)))
			abort();
	}
	free(out);
	lks_base64url_decode(bytes, sizeof(bytes), &n, s, size);
	lks_utf8_valid(s, size);
	free(s);
	return 0;
}
