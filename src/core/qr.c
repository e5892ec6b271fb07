/* QR codes in and out: lks_qr_svg, lks_qr_png and lks_qr_text draw a link with
 * libqrencode (level M, quiet zone of 4 modules, dark on light), and
 * lks_qr_decode_* read one back from a PNG or JPEG photo or screenshot with zbar.
 * Decoding takes untrusted bytes, so the image readers bound the image size and
 * libjpeg's work, turn every libpng/libjpeg error into a code (their error
 * paths longjmp out of the library; all state they touch lives in a job struct
 * owned by the caller of the setjmp frame, so nothing is lost or leaked), and
 * never print to stderr. Nothing here keeps global state: every call is
 * independent, so the server may call them from any number of threads. */
#include "linksync/qr.h"

#include "linksync/error.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h> /* before jpeglib.h, which needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <qrencode.h>
#include <zbar.h>

/* Light modules around the code: the 4 the QR specification asks for. */
#define QUIET 4

/* The largest QR code (version 40) holds 7089 digits; anything longer cannot
 * fit, so refuse it before libqrencode spends time on it. */
#define ENCODE_MAX_TEXT 7089

/* Pixels per module of lks_qr_png at most: 185 modules (version 40 with the
 * quiet zone) at 32 pixels is a 5920-pixel square, already absurd. */
#define PNG_MAX_SCALE 32

/* Decompression-bomb guards for decoding: a tiny file can claim a huge image. */
#define DECODE_MAX_SIDE 20000u
#define DECODE_MAX_PIXELS (64u * 1000u * 1000u)
#define DECODE_MAX_FILE (256u * 1024u * 1024u)
/* A progressive JPEG can carry thousands of tiny scans, each a full pass over
 * the image (libjpeg-turbo's own fuzzers stop at 500). */
#define JPEG_MAX_SCANS 500
/* libjpeg's whole-image buffers (progressive and multi-scan files). */
#define JPEG_MAX_MEMORY (512L * 1024 * 1024)
/* Smallest image side worth a scan: a version 1 code with its quiet zone is
 * 29 modules. */
#define SCAN_MIN_SIDE 64u
/* Room for a libpng error message. */
#define PNG_MSG_LEN 256

/* ---- encoding -------------------------------------------------------- */

/* Encodes text as libqrencode's module matrix: level M, mixed modes chosen by
 * libqrencode with 8-bit as the hint, case kept as written. */
static int encode(QRcode **out, const char *text)
{
	QRcode *qr;
	size_t len;

	*out = NULL;
	if (text == NULL || text[0] == '\0')
		return lks_error_set(LKS_EINVAL, "QR code: empty text");
	len = strnlen(text, ENCODE_MAX_TEXT + 1);
	if (len > ENCODE_MAX_TEXT)
		return lks_error_set(LKS_ETOOBIG,
				     "QR code: the text is too long (more than %d bytes)",
				     ENCODE_MAX_TEXT);
	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (qr == NULL) {
		if (errno == ERANGE)
			return lks_error_set(
			    LKS_ETOOBIG, "QR code: %zu bytes do not fit a QR code at level M", len);
		if (errno == ENOMEM)
			return lks_error_set(LKS_ENOMEM, "QR code: out of memory");
		return lks_error_set(LKS_EINVAL, "QR code: cannot encode the text (%s)",
				     strerror(errno));
	}
	*out = qr;
	return 0;
}

/* Side of the drawing in modules, quiet zone included. */
static int full_side(const QRcode *qr)
{
	return qr->width + 2 * QUIET;
}

/* Whether the module at (x, y) of the drawing (quiet zone included) is dark;
 * anything outside the code is light. */
static int dark(const QRcode *qr, int x, int y)
{
	x -= QUIET;
	y -= QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return 0;
	return qr->data[(size_t)y * (size_t)qr->width + (size_t)x] & 1;
}

/* A growing NUL-terminated string; a failed allocation sets failed and turns
 * later appends into no-ops, so callers check once at the end. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
};

static void buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->failed || b->len + extra + 1 <= b->cap)
		return;
	cap = b->cap != 0 ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = 1;
		return;
	}
	b->data = p;
	b->cap = cap;
}

static void buf_append(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_reserve(b, n);
	if (b->failed)
		return;
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	buf_reserve(b, (size_t)n);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int lks_qr_svg(char **out, size_t *out_len, const char *text)
{
	QRcode *qr = NULL;
	struct buf b = {0};
	int side, x, y, px = 0, py = 0, first = 1;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	rc = encode(&qr, text);
	if (rc < 0)
		goto out;
	side = full_side(qr);
	/* width/height only give a default size (the PNG's); the viewBox lets any
	 * CSS size scale it, and crispEdges keeps module edges sharp. */
	buf_printf(&b,
		   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
		   "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
		   "shape-rendering=\"crispEdges\">\n"
		   "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
		   "<path fill=\"#000\" d=\"",
		   side, side, side * LKS_QR_PNG_DEFAULT_SCALE, side * LKS_QR_PNG_DEFAULT_SCALE,
		   side, side);
	/* One closed rectangle per horizontal run of dark modules. After "z" the
	 * pen is back at the run's start, so each "m" is relative to the previous
	 * run: small numbers, a compact path. */
	for (y = QUIET; y < side - QUIET; y++) {
		x = QUIET;
		while (x < side - QUIET) {
			int n = 0;

			if (!dark(qr, x, y)) {
				x++;
				continue;
			}
			while (dark(qr, x + n, y))
				n++;
			if (first)
				buf_printf(&b, "M%d %d", x, y);
			else
				buf_printf(&b, "m%d %d", x - px, y - py);
			buf_printf(&b, "h%dv1h-%dz", n, n);
			first = 0;
			px = x;
			py = y;
			x += n;
		}
	}
	buf_append(&b, "\"/>\n</svg>\n");
	if (b.failed) {
		rc = lks_error_set(LKS_ENOMEM, "QR code: out of memory");
		goto out;
	}
	*out = b.data;
	if (out_len != NULL)
		*out_len = b.len;
	b.data = NULL;
	rc = 0;
out:
	free(b.data);
	QRcode_free(qr);
	return rc;
}

/* The two module rows of a text line, drawn with the character whose
 * foreground covers the halves that are "on". */
static const char *half_block(int top_on, int bottom_on)
{
	if (top_on && bottom_on)
		return "\xe2\x96\x88"; /* U+2588 full block */
	if (top_on)
		return "\xe2\x96\x80"; /* U+2580 upper half block */
	if (bottom_on)
		return "\xe2\x96\x84"; /* U+2584 lower half block */
	return " ";
}

int lks_qr_text(char **out, const char *text, unsigned flags)
{
	QRcode *qr = NULL;
	struct buf b = {0};
	int color = (flags & LKS_QR_TEXT_COLOR) != 0;
	int side, x, y;
	int rc;

	assert(out != NULL);
	*out = NULL;
	rc = encode(&qr, text);
	if (rc < 0)
		goto out;
	side = full_side(qr);
	/* side is odd, so the last line's lower half lies below the drawing: it
	 * counts as light, a half module more of quiet zone. */
	for (y = 0; y < side; y += 2) {
		/* With colour the foreground is black and the background white, so
		 * "on" means dark; the reset before the newline keeps the colours
		 * from bleeding into the rest of the terminal. Without colour the
		 * terminal's own (usually light on dark) foreground draws the light
		 * modules. */
		if (color)
			buf_append(&b, "\x1b[30;47m");
		for (x = 0; x < side; x++) {
			int top = dark(qr, x, y);
			int bottom = y + 1 < side ? dark(qr, x, y + 1) : 0;

			if (color)
				buf_append(&b, half_block(top, bottom));
			else
				buf_append(&b, half_block(!top, !bottom));
		}
		buf_append(&b, color ? "\x1b[0m\n" : "\n");
	}
	if (b.failed) {
		rc = lks_error_set(LKS_ENOMEM, "QR code: out of memory");
		goto out;
	}
	*out = b.data;
	b.data = NULL;
	rc = 0;
out:
	free(b.data);
	QRcode_free(qr);
	return rc;
}

/* ---- PNG output ------------------------------------------------------ */

/* Everything libpng's error path may leave behind, owned by lks_qr_png so it
 * survives the longjmp out of png_write_run. */
struct png_write_job {
	png_structp png;
	png_infop info;
	const QRcode *qr;
	unsigned scale;
	unsigned char *row;
	struct buf file; /* the PNG bytes */
	char message[PNG_MSG_LEN];
};

static void png_error_cb(png_structp png, png_const_charp msg)
{
	char *message = png_get_error_ptr(png);

	snprintf(message, PNG_MSG_LEN, "%s", msg != NULL ? msg : "unknown libpng error");
	png_longjmp(png, 1);
}

static void png_warning_cb(png_structp png, png_const_charp msg)
{
	/* libpng would print to stderr; a warning never changes our result. */
}

static void png_write_cb(png_structp png, png_bytep data, png_size_t len)
{
	struct png_write_job *job = png_get_io_ptr(png);

	buf_reserve(&job->file, len);
	if (job->file.failed)
		png_error(png, "out of memory");
	memcpy(job->file.data + job->file.len, data, len);
	job->file.len += len;
}

static void png_flush_cb(png_structp png)
{
}

/* Bytes of one 1-bit row of the image. */
static size_t row_bytes(int side, unsigned scale)
{
	return ((size_t)side * scale + 7) / 8;
}

/* Writes the image; returns 0, or -1 when libpng failed (job->message says
 * why). The only state changed after setjmp lives in *job. */
static int png_write_run(struct png_write_job *job)
{
	int side, x, y;
	unsigned s, px;

	if (setjmp(png_jmpbuf(job->png)))
		return -1;
	side = full_side(job->qr);
	png_set_write_fn(job->png, job, png_write_cb, png_flush_cb);
	/* One bit per pixel: an eighth of the pixels for deflate to chew on
	 * (1.3 ms a code at 8 bits, a small fraction of it at 1). */
	png_set_IHDR(job->png, job->info, (png_uint_32)side * job->scale,
		     (png_uint_32)side * job->scale, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* Rows of a QR code repeat scale times: the "up" filter turns each
	 * repeat into zeros, which deflate shrinks to almost nothing. */
	png_set_filter(job->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE | PNG_FILTER_UP);
	png_write_info(job->png, job->info);
	for (y = 0; y < side; y++) {
		memset(job->row, 0, row_bytes(side, job->scale));
		for (x = 0; x < side; x++) {
			if (dark(job->qr, x, y))
				continue; /* 0 bits are black */
			for (px = 0; px < job->scale; px++) {
				size_t bit = (size_t)x * job->scale + px;
				job->row[bit / 8] |= (unsigned char)(0x80u >> (bit % 8));
			}
		}
		for (s = 0; s < job->scale; s++)
			png_write_row(job->png, job->row);
	}
	png_write_end(job->png, job->info);
	return 0;
}

int lks_qr_png(unsigned char **out, size_t *out_len, const char *text, unsigned scale)
{
	struct png_write_job job = {0};
	QRcode *qr = NULL;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (out_len != NULL)
		*out_len = 0;
	if (scale == 0)
		scale = LKS_QR_PNG_DEFAULT_SCALE;
	if (scale > PNG_MAX_SCALE) {
		rc = lks_error_set(LKS_EINVAL, "QR code: %u pixels per module (at most %d)", scale,
				   PNG_MAX_SCALE);
		goto out;
	}
	rc = encode(&qr, text);
	if (rc < 0)
		goto out;
	job.qr = qr;
	job.scale = scale;
	job.row = malloc(row_bytes(full_side(qr), scale));
	if (job.row == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "QR code: out of memory");
		goto out;
	}
	job.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job.message, png_error_cb,
					  png_warning_cb);
	if (job.png != NULL)
		job.info = png_create_info_struct(job.png);
	if (job.png == NULL || job.info == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "QR code: out of memory");
		goto out;
	}
	if (png_write_run(&job) < 0) {
		rc = job.file.failed
			 ? lks_error_set(LKS_ENOMEM, "QR code: out of memory")
			 : lks_error_set(LKS_EINTERNAL, "QR code: libpng: %s", job.message);
		goto out;
	}
	*out = (unsigned char *)job.file.data;
	if (out_len != NULL)
		*out_len = job.file.len;
	job.file.data = NULL;
	rc = 0;
out:
	if (job.png != NULL)
		png_destroy_write_struct(&job.png, job.info != NULL ? &job.info : NULL);
	free(job.file.data);
	free(job.row);
	QRcode_free(qr);
	return rc;
}

/* ---- image input ----------------------------------------------------- */

/* An 8-bit grayscale image (zbar's Y800), rows packed. */
struct gray {
	unsigned char *pix;
	unsigned w;
	unsigned h;
};

static int check_size(const char *kind, unsigned long w, unsigned long h)
{
	if (w == 0 || h == 0)
		return lks_error_set(LKS_EUNSUPPORTED, "broken %s: the image is empty", kind);
	if (w > DECODE_MAX_SIDE || h > DECODE_MAX_SIDE ||
	    (unsigned long long)w * h > DECODE_MAX_PIXELS)
		return lks_error_set(LKS_ETOOBIG,
				     "%s of %lux%lu pixels is too large to scan (at most %u "
				     "pixels a side and %u megapixels)",
				     kind, w, h, DECODE_MAX_SIDE, DECODE_MAX_PIXELS / 1000000u);
	return 0;
}

/* ---- PNG input ------------------------------------------------------- */

struct png_read_job {
	png_structp png;
	png_infop info;
	const unsigned char *data;
	size_t len;
	size_t pos;
	png_bytep *rows;
	unsigned char *pix; /* gray or gray+alpha, as libpng delivers it */
	unsigned w;
	unsigned h;
	unsigned channels;
	char message[PNG_MSG_LEN];
};

static void png_read_cb(png_structp png, png_bytep data, png_size_t len)
{
	struct png_read_job *job = png_get_io_ptr(png);

	if (len > job->len - job->pos)
		png_error(png, "the file is truncated");
	memcpy(data, job->data + job->pos, len);
	job->pos += len;
}

/* Reads the PNG into job->pix as 8-bit gray (channels 1) or gray+alpha
 * (channels 2). Returns 0 or a code; the only state changed after setjmp
 * lives in *job, which the caller frees whatever happens. */
static int png_read_run(struct png_read_job *job)
{
	png_uint_32 w, h, y;
	int depth, ctype, rc;
	size_t rowbytes;

	if (setjmp(png_jmpbuf(job->png)))
		return lks_error_set(LKS_EUNSUPPORTED, "broken PNG: %s", job->message);
	png_set_read_fn(job->png, job, png_read_cb);
	/* Our own limits below give a clearer answer than libpng's defaults. */
	png_set_user_limits(job->png, 0x7fffffff, 0x7fffffff);
	png_read_info(job->png, job->info);
	png_get_IHDR(job->png, job->info, &w, &h, &depth, &ctype, NULL, NULL, NULL);
	/* Checked before any row buffer exists: the file may lie about its size. */
	rc = check_size("PNG", w, h);
	if (rc < 0)
		return rc;

	/* Any colour type, bit depth and interlacing down to 8-bit gray, with
	 * alpha (from an alpha channel or tRNS) kept for compositing. */
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(job->png);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(job->png);
	if (png_get_valid(job->png, job->info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(job->png);
	if (depth == 16)
		png_set_scale_16(job->png);
	if (ctype & PNG_COLOR_MASK_COLOR)
		png_set_rgb_to_gray_fixed(job->png, PNG_ERROR_ACTION_NONE, -1, -1);
	png_set_interlace_handling(job->png);
	png_read_update_info(job->png, job->info);

	job->channels = png_get_channels(job->png, job->info);
	rowbytes = png_get_rowbytes(job->png, job->info);
	if (png_get_bit_depth(job->png, job->info) != 8 ||
	    (job->channels != 1 && job->channels != 2) || rowbytes != (size_t)w * job->channels)
		return lks_error_set(LKS_EUNSUPPORTED, "PNG: unexpected pixel layout");
	job->w = w;
	job->h = h;
	job->pix = malloc(rowbytes * h);
	job->rows = malloc(sizeof(*job->rows) * h);
	if (job->pix == NULL || job->rows == NULL)
		return lks_error_set(LKS_ENOMEM, "PNG: out of memory for %ux%u pixels", w, h);
	for (y = 0; y < h; y++)
		job->rows[y] = job->pix + (size_t)y * rowbytes;
	png_read_image(job->png, job->rows);
	/* No png_read_end: the pixels are all there, and a missing IEND or junk
	 * after the image should not cost the user the QR code. */
	return 0;
}

static int read_png(struct gray *img, const unsigned char *data, size_t len)
{
	struct png_read_job job = {0};
	size_t i, n;
	int rc;

	job.data = data;
	job.len = len;
	job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job.message, png_error_cb,
					 png_warning_cb);
	if (job.png != NULL)
		job.info = png_create_info_struct(job.png);
	if (job.png == NULL || job.info == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "PNG: out of memory");
		goto out;
	}
	rc = png_read_run(&job);
	if (rc < 0)
		goto out;
	n = (size_t)job.w * job.h;
	if (job.channels == 2) {
		/* Composite on white, as a viewer shows a transparent image, and
		 * pack the gray values in place (index i only reads at 2i). */
		for (i = 0; i < n; i++) {
			unsigned g = job.pix[2 * i], a = job.pix[2 * i + 1];

			job.pix[i] = (unsigned char)((g * a + 255u * (255u - a) + 127u) / 255u);
		}
	}
	img->pix = job.pix;
	img->w = job.w;
	img->h = job.h;
	job.pix = NULL;
out:
	if (job.png != NULL)
		png_destroy_read_struct(&job.png, job.info != NULL ? &job.info : NULL, NULL);
	free(job.rows);
	free(job.pix);
	return rc;
}

/* ---- JPEG input ------------------------------------------------------ */

struct jpeg_job {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr err;
	struct jpeg_progress_mgr progress;
	jmp_buf jmp;
	unsigned char *pix;
	unsigned char *cmyk_row;
	int truncated; /* libjpeg padded a file that ended early */
	char message[JMSG_LENGTH_MAX];
};

/* libjpeg's default calls exit(): leave through the job's setjmp instead. */
static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
	struct jpeg_job *job = cinfo->client_data;

	cinfo->err->format_message(cinfo, job->message);
	longjmp(job->jmp, 1);
}

/* Warnings (level -1) are corrupt-data notices libjpeg recovers from; keep
 * quiet about them (the default prints to stderr) but remember a truncation. */
static void jpeg_emit_message_cb(j_common_ptr cinfo, int level)
{
	struct jpeg_job *job = cinfo->client_data;

	if (level >= 0)
		return;
	cinfo->err->num_warnings++;
	if (cinfo->err->msg_code == JWRN_JPEG_EOF)
		job->truncated = 1;
}

static void jpeg_progress_cb(j_common_ptr cinfo)
{
	struct jpeg_job *job = cinfo->client_data;
	j_decompress_ptr d = (j_decompress_ptr)cinfo;

	if (cinfo->is_decompressor && d->input_scan_number > JPEG_MAX_SCANS) {
		snprintf(job->message, sizeof(job->message), "more than %d progressive scans",
			 JPEG_MAX_SCANS);
		longjmp(job->jmp, 1);
	}
}

/* Adobe's CMYK JPEGs store inverted values (255 = no ink); others do not. */
static unsigned char cmyk_to_gray(const unsigned char *p, int inverted)
{
	unsigned c = p[0], m = p[1], y = p[2], k = p[3];
	unsigned r, g, b;

	if (!inverted) {
		c = 255 - c;
		m = 255 - m;
		y = 255 - y;
		k = 255 - k;
	}
	r = c * k / 255;
	g = m * k / 255;
	b = y * k / 255;
	return (unsigned char)((299 * r + 587 * g + 114 * b + 500) / 1000);
}

/* Decodes the JPEG into job->pix (8-bit gray). Returns 0 or a code; the only
 * state changed after setjmp lives in *job, which the caller frees. */
static int jpeg_run(struct jpeg_job *job, const unsigned char *data, size_t len)
{
	struct jpeg_decompress_struct *ci = &job->cinfo;
	int cmyk, rc;
	JSAMPROW row;

	if (setjmp(job->jmp))
		return lks_error_set(LKS_EUNSUPPORTED, "broken JPEG: %s", job->message);
	/* jpeg_create_decompress keeps err and client_data. */
	jpeg_create_decompress(ci);
	jpeg_mem_src(ci, data, (unsigned long)len);
	ci->mem->max_memory_to_use = JPEG_MAX_MEMORY;
	ci->progress = &job->progress;
	jpeg_read_header(ci, TRUE);
	rc = check_size("JPEG", ci->image_width, ci->image_height);
	if (rc < 0)
		return rc;
	/* libjpeg converts YCbCr and gray to gray itself, but not CMYK. */
	cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
	ci->out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
	jpeg_start_decompress(ci);
	if ((size_t)ci->output_components != (cmyk ? 4u : 1u))
		return lks_error_set(LKS_EUNSUPPORTED, "JPEG: unexpected pixel layout");
	job->pix = malloc((size_t)ci->output_width * ci->output_height);
	if (cmyk)
		job->cmyk_row = malloc((size_t)ci->output_width * 4);
	if (job->pix == NULL || (cmyk && job->cmyk_row == NULL))
		return lks_error_set(LKS_ENOMEM, "JPEG: out of memory for %ux%u pixels",
				     ci->output_width, ci->output_height);
	while (ci->output_scanline < ci->output_height) {
		unsigned char *dst = job->pix + (size_t)ci->output_scanline * ci->output_width;

		row = cmyk ? job->cmyk_row : dst;
		if (jpeg_read_scanlines(ci, &row, 1) != 1)
			return lks_error_set(LKS_EUNSUPPORTED, "broken JPEG: no more scanlines");
		if (cmyk) {
			JDIMENSION x;

			for (x = 0; x < ci->output_width; x++)
				dst[x] = cmyk_to_gray(job->cmyk_row + 4 * (size_t)x,
						      ci->saw_Adobe_marker);
		}
	}
	/* No jpeg_finish_decompress: every row is read, and what follows the
	 * image (or is missing after it) does not matter to us. */
	return 0;
}

static int read_jpeg(struct gray *img, int *truncated, const unsigned char *data, size_t len)
{
	struct jpeg_job *job;
	int rc;

	/* On the heap: the job (jmp_buf, libjpeg structs, message) is large. */
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return lks_error_set(LKS_ENOMEM, "JPEG: out of memory");
	job->cinfo.err = jpeg_std_error(&job->err);
	job->err.error_exit = jpeg_error_exit_cb;
	job->err.emit_message = jpeg_emit_message_cb;
	job->progress.progress_monitor = jpeg_progress_cb;
	job->cinfo.client_data = job;
	rc = jpeg_run(job, data, len);
	if (rc < 0)
		goto out;
	img->pix = job->pix;
	img->w = job->cinfo.output_width;
	img->h = job->cinfo.output_height;
	*truncated = job->truncated;
	job->pix = NULL;
out:
	/* Safe at any stage: a never-created cinfo has mem == NULL. */
	jpeg_destroy_decompress(&job->cinfo);
	free(job->cmyk_row);
	free(job->pix);
	free(job);
	return rc;
}

/* ---- scanning -------------------------------------------------------- */

/* Halves the image in place, each pixel the mean of a 2x2 block. Destination
 * index y*w/2+x never exceeds a source index still to be read, so one buffer
 * is enough. */
static void halve(struct gray *img)
{
	unsigned w = img->w / 2, h = img->h / 2, x, y;

	for (y = 0; y < h; y++) {
		const unsigned char *a = img->pix + (size_t)2 * y * img->w;
		const unsigned char *b = a + img->w;

		for (x = 0; x < w; x++) {
			unsigned sum = a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1];

			img->pix[(size_t)y * w + x] = (unsigned char)((sum + 2) / 4);
		}
	}
	img->w = w;
	img->h = h;
}

/* Copies the first QR code's payload zbar finds in img into *out. */
static int scan_gray(char **out, const struct gray *img)
{
	zbar_image_scanner_t *scanner = NULL;
	zbar_image_t *zimg = NULL;
	const zbar_symbol_t *sym;
	int rc, n;

	scanner = zbar_image_scanner_create();
	zimg = zbar_image_create();
	if (scanner == NULL || zimg == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "QR scan: out of memory");
		goto out;
	}
	/* QR codes only: the 1-D decoders would cost time and could report a
	 * stray barcode. Inverted codes (light on dark, e.g. a screenshot of
	 * lks_qr_text's plain output on a light terminal) get a second pass. */
	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0);
	zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1);
	zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_TEST_INVERTED, 1);
	zbar_image_set_format(zimg, zbar_fourcc('Y', '8', '0', '0'));
	zbar_image_set_size(zimg, img->w, img->h);
	/* Borrowed: no cleanup handler, so zbar never frees our pixels. */
	zbar_image_set_data(zimg, img->pix, (unsigned long)img->w * img->h, NULL);
	n = zbar_scan_image(scanner, zimg);
	if (n < 0) {
		rc = lks_error_set(LKS_EINTERNAL, "QR scan: zbar failed");
		goto out;
	}
	for (sym = zbar_image_first_symbol(zimg); sym != NULL; sym = zbar_symbol_next(sym)) {
		const char *data;
		unsigned len;

		if (zbar_symbol_get_type(sym) != ZBAR_QRCODE)
			continue;
		data = zbar_symbol_get_data(sym);
		len = zbar_symbol_get_data_length(sym);
		*out = malloc((size_t)len + 1);
		if (*out == NULL) {
			rc = lks_error_set(LKS_ENOMEM, "QR scan: out of memory");
			goto out;
		}
		memcpy(*out, data, len);
		(*out)[len] = '\0';
		rc = 0;
		goto out;
	}
	rc = lks_error_set(LKS_ENOQR, "no QR code found in the image");
out:
	if (zimg != NULL)
		zbar_image_destroy(zimg);
	if (scanner != NULL)
		zbar_image_scanner_destroy(scanner);
	return rc;
}

/* Names a few formats people will try, for a message that says what to do. */
static const char *other_format(const unsigned char *d, size_t len)
{
	if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return "GIF";
	if (len >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
		return "WebP";
	if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0 &&
	    (memcmp(d + 8, "heic", 4) == 0 || memcmp(d + 8, "heix", 4) == 0 ||
	     memcmp(d + 8, "mif1", 4) == 0 || memcmp(d + 8, "avif", 4) == 0))
		return "HEIF/AVIF";
	if (len >= 2 && memcmp(d, "BM", 2) == 0)
		return "BMP";
	if (len >= 5 && memcmp(d, "<?xml", 5) == 0)
		return "XML/SVG";
	if (len >= 4 && memcmp(d, "<svg", 4) == 0)
		return "SVG";
	return NULL;
}

int lks_qr_decode_image(char **out, const unsigned char *data, size_t len)
{
	static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	static const unsigned char jpeg_magic[3] = {0xff, 0xd8, 0xff};
	struct gray img = {0};
	const char *kind;
	int truncated = 0;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (data == NULL || len == 0) {
		rc = lks_error_set(LKS_EUNSUPPORTED, "the image is empty");
		goto out;
	}
	if (len >= sizeof(png_magic) && memcmp(data, png_magic, sizeof(png_magic)) == 0) {
		rc = read_png(&img, data, len);
	} else if (len >= sizeof(jpeg_magic) && memcmp(data, jpeg_magic, sizeof(jpeg_magic)) == 0) {
		rc = read_jpeg(&img, &truncated, data, len);
	} else {
		kind = other_format(data, len);
		if (kind != NULL)
			rc = lks_error_set(LKS_EUNSUPPORTED,
					   "%s images are not supported: use PNG or JPEG", kind);
		else
			rc = lks_error_set(LKS_EUNSUPPORTED, "not a PNG or JPEG image");
	}
	if (rc < 0)
		goto out;
	rc = scan_gray(out, &img);
	/* zbar finds codes with large modules poorly when the pixels are noisy
	 * (a phone's photo of a screen: 20 pixels a module and sensor noise).
	 * Each halving averages the noise away and shrinks the modules; it costs
	 * a third more work in all, and only when the full image had nothing. */
	while (rc == LKS_ENOQR && img.w / 2 >= SCAN_MIN_SIDE && img.h / 2 >= SCAN_MIN_SIDE) {
		halve(&img);
		rc = scan_gray(out, &img);
	}
	/* libjpeg fills a truncated file's missing rows with gray; a QR code in
	 * what remains is still good, but "no QR code" would mislead. */
	if (rc == LKS_ENOQR && truncated)
		rc = lks_error_set(LKS_EUNSUPPORTED, "broken JPEG: the file is truncated");
out:
	free(img.pix);
	return rc;
}

int lks_qr_decode_file(char **out, const char *path)
{
	FILE *f = NULL;
	unsigned char *data = NULL;
	size_t len = 0, cap = 0;
	int rc;

	assert(out != NULL);
	*out = NULL;
	if (path == NULL || path[0] == '\0') {
		rc = lks_error_set(LKS_EINVAL, "no image file named");
		goto out;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		rc = lks_error_set(LKS_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* Read to the end rather than trust a size: pipes and /dev/stdin work.
	 * The buffer keeps one spare byte, so a file of exactly the limit is
	 * told apart from a larger one. */
	for (;;) {
		size_t n;

		if (len == cap) {
			unsigned char *p;

			if (cap >= DECODE_MAX_FILE) {
				if (fread(data + len, 1, 1, f) == 0 && !ferror(f))
					break;
				rc = lks_error_set(LKS_ETOOBIG, "%s: larger than %u MiB", path,
						   DECODE_MAX_FILE >> 20);
				goto out;
			}
			cap = cap == 0 ? 64 * 1024 : cap * 2;
			if (cap > DECODE_MAX_FILE)
				cap = DECODE_MAX_FILE;
			p = realloc(data, cap + 1);
			if (p == NULL) {
				rc = lks_error_set(LKS_ENOMEM, "%s: out of memory", path);
				goto out;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				rc = lks_error_set(LKS_EIO, "%s: %s", path, strerror(errno));
				goto out;
			}
			break;
		}
	}
	rc = lks_qr_decode_image(out, data, len);
out:
	if (f != NULL)
		fclose(f);
	free(data);
	return rc;
}
