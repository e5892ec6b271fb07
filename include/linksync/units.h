/* Text forms of the quantities users type and read: durations ("10m", "7d"),
 * sizes ("25M") and times (RFC 3339 and HTTP dates). */
#ifndef LINKSYNC_UNITS_H
#define LINKSYNC_UNITS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parses a duration: a positive whole number with an optional unit s, m, h,
 * d or w (seconds when none), or several such parts ("1h30m"). Writes seconds
 * to *out. Returns 0 or LKS_EINVAL (empty, zero, unknown unit, overflow past
 * ten years). */
int lks_duration_parse(int64_t *out, const char *s);

/* Writes a duration in its shortest exact form ("90m" is "1h30m", "86400" is
 * "1d") into out (at least 32 bytes). */
void lks_duration_format(char *out, size_t outsz, int64_t seconds);

/* Parses a size in bytes with an optional binary suffix K, M or G (KiB, MiB,
 * GiB: "25M" is 26214400; "KB"/"KiB" forms too). Returns 0 or LKS_EINVAL. */
int lks_size_parse(uint64_t *out, const char *s);

/* Formats a Unix time as RFC 3339 UTC ("2026-11-27T15:07:06Z"); out holds at
 * least 32 bytes. */
void lks_time_rfc3339(char *out, size_t outsz, int64_t t);

/* Formats a Unix time as an HTTP date ("Fri, 27 Nov 2026 15:07:06 GMT");
 * out holds at least 32 bytes. */
void lks_time_http(char *out, size_t outsz, int64_t t);

/* Parses an HTTP date (IMF-fixdate). Returns 0 or LKS_EINVAL. */
int lks_time_http_parse(int64_t *out, const char *s);

/* The current Unix time in seconds. */
int64_t lks_now(void);

#ifdef __cplusplus
}
#endif
#endif
