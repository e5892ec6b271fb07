/* Unit tests of the QR module: what lks_qr_svg, lks_qr_png and lks_qr_text draw
 * is compared module by module with libqrencode's matrix and read back with
 * lks_qr_decode_image, which is also fed the images a user would give it (every
 * PNG flavour, a noisy JPEG "photo", progressive and CMYK JPEGs, inverted codes)
 * and the ones an attacker would (truncated, garbage, decompression bombs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <pthread.h>
#include <qrencode.h>
#include <unistd.h>

#include "linksync/error.h"
#include "linksync/qr.h"

#define URL_PLAIN "http://192.168.1.20:8080/abcdefghijklmnopqrstuvwxyz"
#define URL_FRAGMENT "http://192.168.1.20:8080/abcdefghijklmnopqrstuvwxyz#q83vEjRWeJCrze8BEjRWeA"
#define UTF8_TEXT "Grüße aus Zürich – 東京で会いましょう 🎉 «ok»"

/* ---- helpers --------------------------------------------------------- */

/* A module bitmap (1 = dark) with the 4-module quiet zone, or an image. */
struct bitmap {
	unsigned char *p;
	int w;
	int h;
};

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* What the module should draw: libqrencode's matrix with the same settings. */
static struct bitmap expected_modules(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	struct bitmap m;
	int x, y;

	assert_non_null(qr);
	m.w = m.h = qr->width + 8;
	m.p = calloc((size_t)m.w * m.h, 1);
	assert_non_null(m.p);
	for (y = 0; y < qr->width; y++)
		for (x = 0; x < qr->width; x++)
			m.p[(y + 4) * m.w + x + 4] = qr->data[y * qr->width + x] & 1;
	QRcode_free(qr);
	return m;
}

static void assert_same_modules(const struct bitmap *a, const struct bitmap *b)
{
	assert_int_equal(a->w, b->w);
	assert_int_equal(a->h, b->h);
	assert_memory_equal(a->p, b->p, (size_t)a->w * a->h);
}

/* Modules to gray pixels: scale pixels a module, dark and light values. */
static struct bitmap render(const struct bitmap *m, int scale, int dark, int light)
{
	struct bitmap img;
	int x, y;

	img.w = m->w * scale;
	img.h = m->h * scale;
	img.p = malloc((size_t)img.w * img.h);
	assert_non_null(img.p);
	for (y = 0; y < img.h; y++)
		for (x = 0; x < img.w; x++)
			img.p[y * img.w + x] = m->p[(y / scale) * m->w + x / scale] ? dark : light;
	return img;
}

/* PNG flavours the decoder must accept. */
enum png_flavour {
	PNG_GRAY8,
	PNG_GRAY1,
	PNG_GRAY16,
	PNG_GRAY_TRNS,
	PNG_GA8,
	PNG_RGB8,
	PNG_RGB16,
	PNG_RGBA8,
	PNG_PALETTE,
	PNG_PALETTE2_TRNS,
	PNG_GRAY8_ADAM7,
	PNG_RGBA16_ADAM7,
	PNG_FLAVOURS
};

struct membuf {
	unsigned char *p;
	size_t len;
};

static void membuf_write(png_structp png, png_bytep data, png_size_t len)
{
	struct membuf *b = png_get_io_ptr(png);

	b->p = realloc(b->p, b->len + len);
	assert_non_null(b->p);
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void membuf_flush(png_structp png)
{
}

/* Writes a gray image (0 = dark pixel, else light) as the given flavour.
 * Where the flavour has alpha, light pixels are transparent *black*: only a
 * decoder that composites on white sees a code at all. */
static struct membuf png_flavoured(const struct bitmap *img, enum png_flavour f)
{
	struct membuf out = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	int ctype = PNG_COLOR_TYPE_GRAY, depth = 8, bpp = 1, interlace = PNG_INTERLACE_NONE;
	unsigned char *row;
	int x, y, pass, passes;

	assert_non_null(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng failed writing a test image");
	png_set_write_fn(png, &out, membuf_write, membuf_flush);
	switch (f) {
	case PNG_GRAY1:
		depth = 1;
		break;
	case PNG_GRAY16:
		depth = 16;
		bpp = 2;
		break;
	case PNG_GA8:
		ctype = PNG_COLOR_TYPE_GRAY_ALPHA;
		bpp = 2;
		break;
	case PNG_RGB8:
		ctype = PNG_COLOR_TYPE_RGB;
		bpp = 3;
		break;
	case PNG_RGB16:
		ctype = PNG_COLOR_TYPE_RGB;
		depth = 16;
		bpp = 6;
		break;
	case PNG_RGBA8:
		ctype = PNG_COLOR_TYPE_RGB_ALPHA;
		bpp = 4;
		break;
	case PNG_PALETTE:
		ctype = PNG_COLOR_TYPE_PALETTE;
		break;
	case PNG_PALETTE2_TRNS:
		ctype = PNG_COLOR_TYPE_PALETTE;
		depth = 2;
		break;
	case PNG_GRAY8_ADAM7:
		interlace = PNG_INTERLACE_ADAM7;
		break;
	case PNG_RGBA16_ADAM7:
		ctype = PNG_COLOR_TYPE_RGB_ALPHA;
		depth = 16;
		bpp = 8;
		interlace = PNG_INTERLACE_ADAM7;
		break;
	default:
		break;
	}
	png_set_IHDR(png, info, img->w, img->h, depth, ctype, interlace,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (ctype == PNG_COLOR_TYPE_PALETTE) {
		png_color pal[2] = {{10, 10, 60}, {250, 250, 240}};
		png_byte trns[2] = {255, 0};

		if (f == PNG_PALETTE2_TRNS) {
			/* index 1: transparent black */
			pal[1].red = pal[1].green = pal[1].blue = 0;
			png_set_tRNS(png, info, trns, 2, NULL);
		}
		png_set_PLTE(png, info, pal, 2);
	}
	if (f == PNG_GRAY_TRNS) {
		png_color_16 t = {0};

		t.gray = 1; /* light pixels are 1, transparent */
		png_set_tRNS(png, info, NULL, 0, &t);
	}
	png_write_info(png, info);
	if (depth < 8)
		png_set_packing(png);
	passes = interlace == PNG_INTERLACE_ADAM7 ? png_set_interlace_handling(png) : 1;
	row = malloc((size_t)img->w * bpp);
	assert_non_null(row);
	for (pass = 0; pass < passes; pass++) {
		for (y = 0; y < img->h; y++) {
			for (x = 0; x < img->w; x++) {
				int light = img->p[y * img->w + x] != 0;
				unsigned char *px = row + (size_t)x * bpp;

				switch (f) {
				case PNG_GRAY1:
				case PNG_PALETTE:
				case PNG_PALETTE2_TRNS:
					px[0] = light;
					break;
				case PNG_GRAY_TRNS:
					px[0] = light ? 1 : 0;
					break;
				case PNG_GRAY16:
					px[0] = light ? 0xf0 : 0x08;
					px[1] = 0x55;
					break;
				case PNG_GA8:
					px[0] = 0;
					px[1] = light ? 0 : 255;
					break;
				case PNG_RGB8:
					/* dark navy on cream */
					px[0] = light ? 255 : 20;
					px[1] = light ? 250 : 20;
					px[2] = light ? 220 : 110;
					break;
				case PNG_RGB16:
					memset(px, light ? 0xee : 0x11, 6);
					px[5] = 0x42;
					break;
				case PNG_RGBA8:
					px[0] = px[1] = px[2] = 0;
					px[3] = light ? 0 : 255;
					break;
				case PNG_RGBA16_ADAM7:
					memset(px, 0, 6);
					px[6] = px[7] = light ? 0 : 255;
					break;
				default:
					px[0] = img->p[y * img->w + x];
					break;
				}
			}
			png_write_row(png, row);
		}
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(row);
	return out;
}

static struct membuf png_gray(const struct bitmap *img)
{
	return png_flavoured(img, PNG_GRAY8);
}

enum jpeg_kind { JPEG_GRAY, JPEG_RGB, JPEG_PROGRESSIVE, JPEG_CMYK, JPEG_MANY_SCANS };

/* Encodes a gray image as a JPEG of the given kind with libjpeg. */
static struct membuf jpeg_encode(const struct bitmap *img, int quality, enum jpeg_kind kind)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned char *mem = NULL;
	unsigned long memlen = 0;
	unsigned char *row;
	jpeg_scan_info *scans = NULL;
	struct membuf out;
	int comps, x;

	comps = kind == JPEG_RGB ? 3 : kind == JPEG_CMYK ? 4 : 1;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &mem, &memlen);
	c.image_width = img->w;
	c.image_height = img->h;
	c.input_components = comps;
	c.in_color_space = comps == 3 ? JCS_RGB : comps == 4 ? JCS_CMYK : JCS_GRAYSCALE;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	if (kind == JPEG_PROGRESSIVE)
		jpeg_simple_progression(&c);
	if (kind == JPEG_MANY_SCANS) {
		/* DC, then every AC coefficient on its own with 9 refinements:
		 * 631 legal scans, more than the decoder's limit. */
		int n = 0, k, al;

		scans = calloc(1 + 63 * 10, sizeof(*scans));
		assert_non_null(scans);
		scans[n].comps_in_scan = 1;
		n++;
		for (k = 1; k < 64; k++) {
			scans[n].comps_in_scan = 1;
			scans[n].Ss = scans[n].Se = k;
			scans[n].Al = 9;
			n++;
			for (al = 8; al >= 0; al--) {
				scans[n].comps_in_scan = 1;
				scans[n].Ss = scans[n].Se = k;
				scans[n].Ah = al + 1;
				scans[n].Al = al;
				n++;
			}
		}
		c.scan_info = scans;
		c.num_scans = n;
	}
	jpeg_start_compress(&c, TRUE);
	row = malloc((size_t)img->w * comps);
	assert_non_null(row);
	while (c.next_scanline < c.image_height) {
		const unsigned char *src = img->p + (size_t)c.next_scanline * img->w;

		for (x = 0; x < img->w; x++) {
			if (comps == 3) {
				/* a slightly warm photo */
				row[3 * x] = src[x];
				row[3 * x + 1] = src[x] * 95 / 100;
				row[3 * x + 2] = src[x] * 85 / 100;
			} else if (comps == 4) {
				/* libjpeg writes an Adobe marker for CMYK, so store
				 * values inverted as Photoshop does (255 = no ink):
				 * ink in K only. */
				row[4 * x] = row[4 * x + 1] = row[4 * x + 2] = 255;
				row[4 * x + 3] = src[x];
			} else {
				row[x] = src[x];
			}
		}
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	free(scans);
	out.p = mem;
	out.len = memlen;
	return out;
}

static void assert_decodes(const unsigned char *data, size_t len, const char *want)
{
	char *got = NULL;
	int rc = lks_qr_decode_image(&got, data, len);

	if (rc != 0)
		fail_msg("decode failed: %s (%s)", lks_error_name(rc), lks_error_message());
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void assert_decode_fails(const unsigned char *data, size_t len, int want)
{
	char *got = NULL;
	int rc = lks_qr_decode_image(&got, data, len);

	if (rc != want)
		fail_msg("want %s, got %s (%s)", lks_error_name(want), lks_error_name(rc),
			 lks_error_message());
	assert_null(got);
	assert_true(lks_error_message()[0] != '\0');
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- PNG round trips --------------------------------------------------- */

static void png_round_trip(const char *text, unsigned scale)
{
	unsigned char *png = NULL;
	size_t len = 0;
	struct bitmap m = expected_modules(text);
	unsigned want_side = (unsigned)m.w * (scale != 0 ? scale : LKS_QR_PNG_DEFAULT_SCALE);

	assert_int_equal(lks_qr_png(&png, &len, text, scale), 0);
	assert_non_null(png);
	assert_true(len > 33);
	assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
	assert_memory_equal(png + 12, "IHDR", 4);
	assert_int_equal(be32(png + 16), want_side);
	assert_int_equal(be32(png + 20), want_side);
	assert_int_equal(png[24], 1); /* bit depth: one bit a pixel */
	assert_int_equal(png[25], 0); /* grayscale */
	assert_decodes(png, len, text);
	free(png);
	free(m.p);
}

static void test_png_round_trip_url(void **state)
{
	png_round_trip(URL_PLAIN, 0);
	png_round_trip(URL_PLAIN, 1);
	png_round_trip(URL_PLAIN, 3);
}

static void test_png_round_trip_fragment(void **state)
{
	png_round_trip(URL_FRAGMENT, 0);
	png_round_trip(URL_FRAGMENT, 2);
}

static void test_png_round_trip_utf8(void **state)
{
	png_round_trip(UTF8_TEXT, 4);
}

static void test_png_round_trip_near_capacity(void **state)
{
	/* 2331 bytes is what version 40 holds at level M in 8-bit mode; mixed
	 * case and symbols keep libqrencode from a denser mode. */
	char *text = malloc(2332);
	size_t i;

	assert_non_null(text);
	for (i = 0; i < 2331; i++)
		text[i] = "abcdefghijklmnopqrstuvwxyz/#?=&-_~"[rng() % 34];
	text[2331] = '\0';
	png_round_trip(text, 3);
	free(text);
}

static void test_png_round_trip_short_and_binaryish(void **state)
{
	png_round_trip("x", 2);
	png_round_trip("HTTP://EXAMPLE.ORG/ABC", 2);		       /* alphanumeric mode */
	png_round_trip("0123456789012345678901234567890123456789", 2); /* numeric */
	png_round_trip("tab\tand\nnewline", 2);
}

static void test_png_default_scale_and_limits(void **state)
{
	unsigned char *png = (unsigned char *)"x";
	size_t len = 7;

	assert_int_equal(lks_qr_png(&png, &len, URL_PLAIN, 33), LKS_EINVAL);
	assert_null(png);
	assert_int_equal(len, 0);
	png_round_trip(URL_PLAIN, 32);
}

/* ---- input errors of the encoders ------------------------------------------ */

static void test_encode_empty_and_too_long(void **state)
{
	char *s = (char *)"x", *long_text;
	unsigned char *png = (unsigned char *)"x";
	size_t len = 9;

	assert_int_equal(lks_qr_svg(&s, &len, ""), LKS_EINVAL);
	assert_null(s);
	assert_int_equal(lks_qr_svg(&s, &len, NULL), LKS_EINVAL);
	assert_int_equal(lks_qr_png(&png, &len, "", 0), LKS_EINVAL);
	assert_null(png);
	assert_int_equal(lks_qr_text(&s, "", 0), LKS_EINVAL);
	assert_int_equal(lks_qr_text(&s, NULL, LKS_QR_TEXT_COLOR), LKS_EINVAL);

	long_text = repeat('a', 8000);
	assert_int_equal(lks_qr_svg(&s, &len, long_text), LKS_ETOOBIG);
	assert_null(s);
	assert_int_equal(lks_qr_png(&png, &len, long_text, 0), LKS_ETOOBIG);
	assert_int_equal(lks_qr_text(&s, long_text, 0), LKS_ETOOBIG);
	free(long_text);

	/* The exact boundary of 8-bit data at level M. */
	long_text = repeat('a', 2332);
	assert_int_equal(lks_qr_svg(&s, &len, long_text), LKS_ETOOBIG);
	long_text[2331] = '\0';
	assert_int_equal(lks_qr_svg(&s, &len, long_text), 0);
	free(s);
	free(long_text);

	/* Digits pack densely: 7089 fit, 7090 do not (and the early length
	 * check must not refuse the 7089). */
	long_text = repeat('7', 7090);
	assert_int_equal(lks_qr_svg(&s, &len, long_text), LKS_ETOOBIG);
	long_text[7089] = '\0';
	/* At level M version 40 holds 5596 digits: still too big. */
	assert_int_equal(lks_qr_svg(&s, &len, long_text), LKS_ETOOBIG);
	long_text[5596] = '\0';
	assert_int_equal(lks_qr_svg(&s, &len, long_text), 0);
	free(s);
	free(long_text);
}

/* ---- SVG ------------------------------------------------------------------- */

/* Reads the path data back into modules: only the M/m h v z subset the
 * module writes, each subpath a 1-module-high run. */
static struct bitmap svg_modules(const char *svg)
{
	struct bitmap m;
	const char *d, *p;
	int side, side2, x = 0, y = 0, n;
	char *end;

	assert_int_equal(sscanf(strstr(svg, "viewBox=\""), "viewBox=\"0 0 %d %d\"", &side, &side2),
			 2);
	assert_int_equal(side, side2);
	m.w = m.h = side;
	m.p = calloc((size_t)side * side, 1);
	assert_non_null(m.p);
	d = strstr(svg, " d=\"");
	assert_non_null(d);
	p = d + 4;
	while (*p != '"') {
		int rel = *p == 'm';

		assert_true(*p == 'M' || *p == 'm');
		p++;
		n = (int)strtol(p, &end, 10);
		assert_true(end != p);
		x = rel ? x + n : n;
		p = end + 1;
		assert_true(end[0] == ' ');
		n = (int)strtol(p, &end, 10);
		assert_true(end != p);
		y = rel ? y + n : n;
		p = end;
		assert_true(*p == 'h');
		n = (int)strtol(p + 1, &end, 10);
		assert_true(n > 0);
		assert_true(strncmp(end, "v1h-", 4) == 0);
		p = end + 4;
		assert_int_equal((int)strtol(p, &end, 10), n);
		assert_true(*end == 'z');
		p = end + 1;
		assert_true(x >= 0 && y >= 0 && x + n <= side && y < side);
		while (n-- > 0) {
			/* runs never overlap or touch: they are maximal */
			assert_int_equal(m.p[y * side + x + n], 0);
			m.p[y * side + x + n] = 1;
		}
		assert_true(x == 0 || m.p[y * side + x - 1] == 0);
	}
	return m;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (s = strstr(s, needle); s != NULL; s = strstr(s + strlen(needle), needle))
		n++;
	return n;
}

static void svg_check(const char *text)
{
	char *svg = NULL, viewbox[64];
	size_t len = 0;
	struct bitmap want = expected_modules(text), got, img;
	struct membuf png;
	const char *p;
	int depth = 0;

	assert_int_equal(lks_qr_svg(&svg, &len, text), 0);
	assert_non_null(svg);
	assert_int_equal(len, strlen(svg));
	assert_true(strncmp(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	assert_int_equal(count(svg, "<svg "), 1);
	assert_int_equal(count(svg, "<path "), 1);
	assert_int_equal(count(svg, "<rect "), 1);
	assert_non_null(strstr(svg, "xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
	assert_non_null(strstr(svg, "fill=\"#fff\""));
	assert_non_null(strstr(svg, "fill=\"#000\""));
	snprintf(viewbox, sizeof(viewbox), "viewBox=\"0 0 %d %d\"", want.w, want.w);
	assert_non_null(strstr(svg, viewbox));
	assert_true(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);
	/* Tags balance: every element opened after the prolog closes. */
	for (p = strstr(svg, "<svg"); *p != '\0'; p++) {
		if (p[0] == '<' && p[1] == '/')
			depth--;
		else if (p[0] == '<')
			depth++;
		else if (p[0] == '/' && p[1] == '>')
			depth--;
		assert_true(depth >= 0);
	}
	assert_int_equal(depth, 0);
	assert_null(strchr(svg, '&'));

	got = svg_modules(svg);
	assert_same_modules(&got, &want);
	/* The drawing itself must scan. */
	img = render(&got, 4, 0, 255);
	png = png_gray(&img);
	assert_decodes(png.p, png.len, text);
	free(png.p);
	free(img.p);
	free(got.p);
	free(want.p);
	free(svg);
}

static void test_svg(void **state)
{
	svg_check(URL_PLAIN);
	svg_check(URL_FRAGMENT);
	svg_check(UTF8_TEXT);
	svg_check("a");
}

/* ---- terminal text ---------------------------------------------------------- */

#define UPPER "\xe2\x96\x80"
#define LOWER "\xe2\x96\x84"
#define FULL "\xe2\x96\x88"

/* Reads the drawing back into dark modules; checks every byte on the way. */
static struct bitmap text_modules(const char *s, int color, int side)
{
	struct bitmap m;
	int lines = 0, x, y;

	m.w = m.h = side;
	m.p = calloc((size_t)side * (side + 1), 1);
	assert_non_null(m.p);
	for (y = 0; *s != '\0'; y += 2, lines++) {
		if (color) {
			assert_true(strncmp(s, "\x1b[30;47m", 8) == 0);
			s += 8;
		}
		for (x = 0; *s != '\n' && *s != '\x1b'; x++) {
			int top, bottom;

			/* Which halves the character covers. */
			if (*s == ' ') {
				top = 0;
				bottom = 0;
				s += 1;
			} else if (strncmp(s, UPPER, 3) == 0) {
				top = 1;
				bottom = 0;
				s += 3;
			} else if (strncmp(s, LOWER, 3) == 0) {
				top = 0;
				bottom = 1;
				s += 3;
			} else {
				assert_true(strncmp(s, FULL, 3) == 0);
				top = 1;
				bottom = 1;
				s += 3;
			}
			/* Without colour the blocks are the light modules. */
			if (!color) {
				top = !top;
				bottom = !bottom;
			}
			assert_true(x < side);
			m.p[y * side + x] = (unsigned char)top;
			m.p[(y + 1) * side + x] = (unsigned char)bottom;
		}
		assert_int_equal(x, side);
		if (color) {
			assert_true(strncmp(s, "\x1b[0m\n", 5) == 0);
			s += 5;
		} else {
			assert_int_equal(*s, '\n');
			s++;
		}
	}
	assert_int_equal(lines, (side + 1) / 2);
	/* The half row below the drawing is light. */
	for (x = 0; x < side; x++)
		assert_int_equal(m.p[side * side + x], 0);
	return m;
}

static void text_check(const char *text, unsigned flags)
{
	char *out = NULL;
	struct bitmap want = expected_modules(text), got;

	assert_int_equal(lks_qr_text(&out, text, flags), 0);
	assert_non_null(out);
	if (!(flags & LKS_QR_TEXT_COLOR))
		assert_null(strchr(out, '\x1b'));
	got = text_modules(out, (flags & LKS_QR_TEXT_COLOR) != 0, want.w);
	assert_same_modules(&got, &want);
	free(got.p);
	free(want.p);
	free(out);
}

static void test_text(void **state)
{
	text_check(URL_PLAIN, 0);
	text_check(URL_PLAIN, LKS_QR_TEXT_COLOR);
	text_check(URL_FRAGMENT, 0);
	text_check(UTF8_TEXT, LKS_QR_TEXT_COLOR);
}

/* A screenshot of the plain drawing on a light terminal is an inverted code
 * (light modules drawn dark): it must still scan. */
static void test_inverted_screenshot(void **state)
{
	struct bitmap m = expected_modules(URL_PLAIN);
	struct bitmap img = render(&m, 4, 250, 20);
	struct membuf png = png_gray(&img);

	assert_decodes(png.p, png.len, URL_PLAIN);
	free(png.p);
	free(img.p);
	free(m.p);
}

/* ---- decoding the images users give ---------------------------------------- */

static void test_png_flavours(void **state)
{
	struct bitmap m = expected_modules(URL_FRAGMENT);
	struct bitmap img = render(&m, 3, 0, 255);
	int f;

	for (f = 0; f < PNG_FLAVOURS; f++) {
		struct membuf png = png_flavoured(&img, (enum png_flavour)f);

		print_message("PNG flavour %d: %zu bytes\n", f, png.len);
		assert_decodes(png.p, png.len, URL_FRAGMENT);
		free(png.p);
	}
	free(img.p);
	free(m.p);
}

/* A photo or screenshot: the code scaled by 3, off centre on a larger grey
 * canvas with noise, saved as a quality-75 JPEG. */
static struct bitmap photo(const char *text, int with_code)
{
	struct bitmap m = expected_modules(text);
	struct bitmap img;
	int x, y, ox = 173, oy = 59, scale = 3;

	img.w = 640;
	img.h = 480;
	img.p = malloc((size_t)img.w * img.h);
	assert_non_null(img.p);
	for (y = 0; y < img.h; y++) {
		for (x = 0; x < img.w; x++) {
			int v = 120 + x / 16 - y / 24; /* uneven lighting */
			int mx = (x - ox) / scale, my = (y - oy) / scale;

			if (with_code && x >= ox && y >= oy && mx < m.w && my < m.h)
				v = m.p[my * m.w + mx] ? 40 : 215;
			v += (int)(rng() % 41) - 20;
			img.p[y * img.w + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	free(m.p);
	return img;
}

static void test_jpeg_photo(void **state)
{
	struct bitmap img = photo(URL_PLAIN, 1);
	struct membuf jpg;
	enum jpeg_kind kinds[] = {JPEG_RGB, JPEG_GRAY, JPEG_PROGRESSIVE, JPEG_CMYK};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		jpg = jpeg_encode(&img, 75, kinds[i]);
		print_message("JPEG kind %d: %zu bytes\n", (int)kinds[i], jpg.len);
		assert_decodes(jpg.p, jpg.len, URL_PLAIN);
		free(jpg.p);
	}
	free(img.p);

	img = photo(URL_FRAGMENT, 1);
	jpg = jpeg_encode(&img, 75, JPEG_RGB);
	assert_decodes(jpg.p, jpg.len, URL_FRAGMENT);
	free(jpg.p);
	free(img.p);
}

/* A phone's photo of a screen: big modules (16 pixels) under sensor noise,
 * which zbar alone does not read at full resolution. */
static void test_jpeg_big_modules(void **state)
{
	struct bitmap m = expected_modules(URL_FRAGMENT);
	struct bitmap img;
	struct membuf jpg;
	int x, y, ox = 110, oy = 50, scale = 16;

	img.w = 1000;
	img.h = 860;
	img.p = malloc((size_t)img.w * img.h);
	assert_non_null(img.p);
	for (y = 0; y < img.h; y++) {
		for (x = 0; x < img.w; x++) {
			int v = 140 + x / 30 - y / 40;
			int mx = (x - ox) / scale, my = (y - oy) / scale;

			if (x >= ox && y >= oy && mx < m.w && my < m.h)
				v = m.p[my * m.w + mx] ? 45 : 205;
			v += (int)(rng() % 31) - 15;
			img.p[y * img.w + x] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
		}
	}
	jpg = jpeg_encode(&img, 85, JPEG_RGB);
	assert_decodes(jpg.p, jpg.len, URL_FRAGMENT);
	free(jpg.p);
	free(img.p);
	free(m.p);
}

static void test_no_qr(void **state)
{
	struct bitmap img = photo(URL_PLAIN, 0);
	struct membuf jpg = jpeg_encode(&img, 75, JPEG_RGB);
	struct membuf png = png_gray(&img);

	assert_decode_fails(jpg.p, jpg.len, LKS_ENOQR);
	assert_decode_fails(png.p, png.len, LKS_ENOQR);
	free(jpg.p);
	free(png.p);
	free(img.p);
}

static void test_decode_file(void **state)
{
	char path[] = "/tmp/lks-test-qr-XXXXXX";
	unsigned char *png = NULL;
	size_t len = 0;
	char *got = NULL;
	int fd;

	assert_int_equal(lks_qr_png(&png, &len, URL_FRAGMENT, 0), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, png, len), (ssize_t)len);
	close(fd);
	assert_int_equal(lks_qr_decode_file(&got, path), 0);
	assert_string_equal(got, URL_FRAGMENT);
	free(got);
	got = NULL;
	unlink(path);
	free(png);

	assert_int_equal(lks_qr_decode_file(&got, path), LKS_EIO);
	assert_null(got);
	assert_non_null(strstr(lks_error_message(), path));
	assert_int_equal(lks_qr_decode_file(&got, "/tmp"), LKS_EIO);
	assert_int_equal(lks_qr_decode_file(&got, "/dev/null"), LKS_EUNSUPPORTED);
	assert_null(got);
}

/* The small images kept in the tree (also the fuzzer's seeds) keep scanning:
 * 1-bit interlaced palette PNG with tRNS, plain PNG, gray and progressive
 * colour JPEGs. */
static void test_fixture_files(void **state)
{
	static const struct {
		const char *file;
		const char *payload;
	} fixtures[] = {
	    {"url-gray8.png", URL_PLAIN},
	    {"linksync-palette1-adam7-trns.png", "linksync"},
	    {"linksync-gray.jpg", "linksync"},
	    {"linksync-rgb-progressive.jpg", "linksync"},
	};
	const char *src = getenv("LKS_SRC");
	char path[4096], *got;
	size_t i;

	if (src == NULL)
		skip();
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		snprintf(path, sizeof(path), "%s/tests/core/data/qr/%s", src, fixtures[i].file);
		got = NULL;
		if (lks_qr_decode_file(&got, path) != 0)
			fail_msg("%s: %s", path, lks_error_message());
		assert_string_equal(got, fixtures[i].payload);
		free(got);
	}
}

/* ---- hostile input ------------------------------------------------------------ */

static void test_broken_png(void **state)
{
	unsigned char *png = NULL, *junk;
	size_t len = 0, cut, i;

	assert_int_equal(lks_qr_png(&png, &len, URL_PLAIN, 4), 0);
	/* Truncated anywhere before the pixel data ends. */
	for (cut = 8; cut < len - 16; cut += cut < 64 ? 1 : 37)
		assert_decode_fails(png, cut, LKS_EUNSUPPORTED);
	/* A PNG signature followed by garbage, and a damaged IDAT. */
	junk = malloc(len);
	assert_non_null(junk);
	memcpy(junk, png, 8);
	for (i = 8; i < len; i++)
		junk[i] = (unsigned char)rng();
	assert_decode_fails(junk, len, LKS_EUNSUPPORTED);
	memcpy(junk, png, len);
	for (i = 41; i < 80 && i < len; i++)
		junk[i] ^= 0x5a;
	assert_decode_fails(junk, len, LKS_EUNSUPPORTED);
	free(junk);
	free(png);
}

static void test_broken_jpeg(void **state)
{
	struct bitmap img = photo(URL_PLAIN, 1);
	struct membuf jpg = jpeg_encode(&img, 75, JPEG_RGB);
	unsigned char *junk;
	size_t i, cut;
	char *got = NULL;
	int rc;

	for (cut = 3; cut < 700; cut += 41)
		assert_decode_fails(jpg.p, cut, LKS_EUNSUPPORTED);
	/* Cut through the code: a padded remainder must not read as "no QR". */
	cut = jpg.len * 3 / 10;
	rc = lks_qr_decode_image(&got, jpg.p, cut);
	assert_int_equal(rc, LKS_EUNSUPPORTED);
	assert_non_null(strstr(lks_error_message(), "truncated"));

	junk = malloc(jpg.len);
	assert_non_null(junk);
	memcpy(junk, jpg.p, 3);
	for (i = 3; i < jpg.len; i++)
		junk[i] = (unsigned char)rng();
	assert_decode_fails(junk, jpg.len, LKS_EUNSUPPORTED);
	free(junk);
	free(jpg.p);
	free(img.p);
}

static void test_not_an_image(void **state)
{
	static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";
	static const unsigned char text[] = "http://example.org/";

	assert_decode_fails(gif, sizeof(gif) - 1, LKS_EUNSUPPORTED);
	assert_non_null(strstr(lks_error_message(), "GIF"));
	assert_decode_fails(text, sizeof(text) - 1, LKS_EUNSUPPORTED);
	assert_decode_fails(text, 0, LKS_EUNSUPPORTED);
	assert_decode_fails(NULL, 0, LKS_EUNSUPPORTED);
	assert_decode_fails((const unsigned char *)"\x89PNG\r\n\x1a", 7, LKS_EUNSUPPORTED);
	assert_decode_fails((const unsigned char *)"\xff\xd8\xff", 3, LKS_EUNSUPPORTED);
}

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* A small real PNG whose IHDR claims w x h: the bomb must be refused before
 * any pixel memory is allocated. */
static void png_bomb(uint32_t w, uint32_t h, int want)
{
	struct bitmap m = expected_modules("x");
	struct bitmap img = render(&m, 1, 0, 255);
	struct membuf png = png_gray(&img);

	put32(png.p + 16, w);
	put32(png.p + 20, h);
	put32(png.p + 29, crc32_of(png.p + 12, 17));
	assert_decode_fails(png.p, png.len, want);
	free(png.p);
	free(img.p);
	free(m.p);
}

static void jpeg_bomb(unsigned w, unsigned h)
{
	struct bitmap m = expected_modules("x");
	struct bitmap img = render(&m, 1, 0, 255);
	struct membuf jpg = jpeg_encode(&img, 75, JPEG_GRAY);
	size_t i;

	for (i = 2; i + 9 < jpg.len; i++) {
		if (jpg.p[i] == 0xff && jpg.p[i + 1] == 0xc0) { /* SOF0 */
			jpg.p[i + 5] = (unsigned char)(h >> 8);
			jpg.p[i + 6] = (unsigned char)h;
			jpg.p[i + 7] = (unsigned char)(w >> 8);
			jpg.p[i + 8] = (unsigned char)w;
			break;
		}
	}
	assert_true(i + 9 < jpg.len);
	assert_decode_fails(jpg.p, jpg.len, LKS_ETOOBIG);
	free(jpg.p);
	free(img.p);
	free(m.p);
}

static void test_decompression_bombs(void **state)
{
	png_bomb(20001, 10, LKS_ETOOBIG);
	png_bomb(10, 20001, LKS_ETOOBIG);
	png_bomb(10000, 10000, LKS_ETOOBIG);
	png_bomb(0x7fffffff, 0x7fffffff, LKS_ETOOBIG);
	png_bomb(0x80000000u, 1, LKS_EUNSUPPORTED); /* beyond the PNG format */
	png_bomb(0, 1, LKS_EUNSUPPORTED);
	jpeg_bomb(30000, 30000);
	jpeg_bomb(9000, 9000); /* each side fine, 81 megapixels not */
}

static void test_jpeg_scan_limit(void **state)
{
	struct bitmap m = expected_modules(URL_PLAIN);
	struct bitmap img = render(&m, 2, 0, 255);
	struct membuf jpg = jpeg_encode(&img, 90, JPEG_MANY_SCANS);

	assert_decode_fails(jpg.p, jpg.len, LKS_EUNSUPPORTED);
	assert_non_null(strstr(lks_error_message(), "scans"));
	free(jpg.p);
	free(img.p);
	free(m.p);
}

/* ---- threads ---------------------------------------------------------------- */

static void *worker(void *arg)
{
	long id = (long)(intptr_t)arg;
	char text[128], *got = NULL, *got2 = NULL, *svg = NULL;
	unsigned char *png = NULL;
	size_t len;
	int i;
	long bad = 0;

	for (i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "http://10.0.0.%ld:8080/thread%ld-round%d#k", id, id,
			 i);
		if (lks_qr_svg(&svg, &len, text) != 0 || lks_qr_png(&png, &len, text, 2) != 0 ||
		    lks_qr_decode_image(&got, png, len) != 0 || strcmp(got, text) != 0)
			bad++;
		/* Each thread keeps its own error message. */
		if (lks_qr_decode_image(&got2, png, 10) != LKS_EUNSUPPORTED ||
		    strstr(lks_error_message(), "PNG") == NULL)
			bad++;
		free(svg);
		free(png);
		free(got);
		svg = NULL;
		png = NULL;
		got = NULL;
	}
	return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	long i;
	void *bad;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((long)(intptr_t)bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_png_round_trip_url),
	    cmocka_unit_test(test_png_round_trip_fragment),
	    cmocka_unit_test(test_png_round_trip_utf8),
	    cmocka_unit_test(test_png_round_trip_near_capacity),
	    cmocka_unit_test(test_png_round_trip_short_and_binaryish),
	    cmocka_unit_test(test_png_default_scale_and_limits),
	    cmocka_unit_test(test_encode_empty_and_too_long),
	    cmocka_unit_test(test_svg),
	    cmocka_unit_test(test_text),
	    cmocka_unit_test(test_inverted_screenshot),
	    cmocka_unit_test(test_png_flavours),
	    cmocka_unit_test(test_jpeg_photo),
	    cmocka_unit_test(test_jpeg_big_modules),
	    cmocka_unit_test(test_no_qr),
	    cmocka_unit_test(test_decode_file),
	    cmocka_unit_test(test_fixture_files),
	    cmocka_unit_test(test_broken_png),
	    cmocka_unit_test(test_broken_jpeg),
	    cmocka_unit_test(test_not_an_image),
	    cmocka_unit_test(test_decompression_bombs),
	    cmocka_unit_test(test_jpeg_scan_limit),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
