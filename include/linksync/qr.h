/* QR codes: draw a link (libqrencode: error correction M, a quiet zone of 4
 * modules, dark modules on light, never inverted) as SVG, PNG or terminal text,
 * and read one back from a PNG or JPEG photo or screenshot (zbar). */
#ifndef LINKSYNC_QR_H
#define LINKSYNC_QR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Module size in pixels of lks_qr_png when the caller passes 0: large enough
 * for a phone camera to read it from a laptop screen. */
#define LKS_QR_PNG_DEFAULT_SCALE 8

/* Draws text as an SVG document: one <path> for all dark modules on a white
 * rectangle, a viewBox in modules so it scales cleanly. On success *out is a
 * NUL-terminated string the caller frees with free(), *out_len its length.
 * Returns 0, LKS_EINVAL (empty or NULL text), LKS_ETOOBIG (does not fit a
 * QR code) or LKS_ENOMEM. */
int lks_qr_svg(char **out, size_t *out_len, const char *text);

/* Draws text as a 1-bit grayscale PNG, scale pixels per module (0 = default,
 * at most 32). *out is the PNG file's bytes, freed by the caller with free().
 * Codes as for lks_qr_svg, and LKS_EINVAL for a scale above 32. */
int lks_qr_png(unsigned char **out, size_t *out_len, const char *text, unsigned scale);

/* lks_qr_text flags. */
#define LKS_QR_TEXT_COLOR 1u /* explicit ANSI colours: black modules on white */

/* Draws text for a terminal with UTF-8 half blocks (two module rows per line).
 * With LKS_QR_TEXT_COLOR every cell sets both its foreground and background
 * colour (dark on light), so the code reads the same on a dark or a light
 * terminal; without it (output to a file or pipe), plain characters are drawn
 * with light modules as blocks, which reads as a normal code on a dark
 * background and as an inverted one (still read by phone cameras) on a light
 * one. *out is NUL-terminated, one line per row ending in '\n', freed by the
 * caller. Codes as for lks_qr_svg. */
int lks_qr_text(char **out, const char *text, unsigned flags);

/* Finds the first QR code in an image file (PNG or JPEG, told apart by its
 * first bytes) and returns its payload in *out (NUL-terminated, freed by the
 * caller; NULL on failure). Light-on-dark (inverted) codes are read too.
 * Returns 0, LKS_EINVAL (no path), LKS_EIO (cannot read), LKS_EUNSUPPORTED
 * (neither PNG nor JPEG, or a broken or truncated image), LKS_ETOOBIG (a file
 * above 256 MiB, or an image above 20000 pixels a side or 64 megapixels:
 * refused before its pixels are decoded), LKS_ENOQR (no QR code in it),
 * LKS_ENOMEM. Safe to call from several threads at once, as are all the
 * functions here. */
int lks_qr_decode_file(char **out, const char *path);

/* The same for an image already in memory (data is only read; len 0 gives
 * LKS_EUNSUPPORTED). */
int lks_qr_decode_image(char **out, const unsigned char *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
