/* Error codes shared by every linksync module: one list gives the enum, the code
 * names and lks_strerror, and a per-thread message carries the details. */
#ifndef LINKSYNC_ERROR_H
#define LINKSYNC_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, short description). 0 is success, every failure is negative. */
#define LKS_ERROR_LIST(X)                                                    \
	X(LKS_OK, 0, "success")                                              \
	X(LKS_ENOMEM, -1, "out of memory")                                   \
	X(LKS_EINVAL, -2, "invalid argument")                                \
	X(LKS_ENOTFOUND, -3, "not found")                                    \
	X(LKS_ETOOBIG, -4, "too large")                                      \
	X(LKS_EUNSUPPORTED, -5, "unsupported type")                          \
	X(LKS_EBADCONTENT, -6, "content is not what its type says")          \
	X(LKS_EUNAUTHORIZED, -7, "credentials missing")                      \
	X(LKS_EFORBIDDEN, -8, "credentials wrong")                           \
	X(LKS_ESTORE, -9, "storage failure")                                 \
	X(LKS_EIO, -10, "input/output error")                                \
	X(LKS_ENETWORK, -11, "network failure")                              \
	X(LKS_EPROTO, -12, "unexpected answer from the server")              \
	X(LKS_ERATELIMIT, -13, "too many requests")                          \
	X(LKS_ENOQR, -14, "no QR code found")                                \
	X(LKS_ECRYPTO, -15, "decryption failed")                             \
	X(LKS_EMETHOD, -16, "method not allowed")                            \
	X(LKS_EUNAVAILABLE, -17, "temporarily unavailable")                  \
	X(LKS_EINTERNAL, -18, "internal error")

typedef enum lks_err {
#define LKS_X_ENUM(name, value, text) name = value,
	LKS_ERROR_LIST(LKS_X_ENUM)
#undef LKS_X_ENUM
} lks_err;

/* Short English description of a code ("not found"); never NULL. */
const char *lks_strerror(int code);

/* The code's symbolic name ("LKS_ENOTFOUND"); never NULL. */
const char *lks_error_name(int code);

/* Records a detailed message for the calling thread and returns code, so that a
 * failure reads `return lks_error_set(LKS_EINVAL, "bad ttl '%s'", s);`. */
int lks_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The calling thread's last message (borrowed, valid until the next
 * lks_error_set on this thread); "" when none was recorded. */
const char *lks_error_message(void);

/* Forgets the calling thread's last message. */
void lks_error_clear(void);

#ifdef __cplusplus
}
#endif
#endif
