/* vCard 2.1, 3.0 and 4.0 (vCard 2.1 spec, RFC 2426, RFC 6350): a read-only
 * parser that turns the bytes a first terminal uploads into a small model a
 * page can render safely (every string is valid UTF-8 with no control
 * characters other than tab and newline), a one-line summary for the create
 * response, and a vCard 3.0 serialiser for "Save contact" on phones.
 *
 * Limits against abuse (each refusal is LKS_ETOOBIG with a message naming the
 * line): LKS_VCARD_MAX_CARDS cards per file, LKS_VCARD_MAX_PROPS properties per
 * card, LKS_VCARD_MAX_PARAMS parameters per property and values per parameter,
 * LKS_VCARD_MAX_LINE bytes per (unfolded) line, LKS_VCARD_MAX_DEPTH levels of
 * nested cards (2.1 AGENT). Parsing is linear in the input and never recursive. */
#ifndef LINKSYNC_VCARD_H
#define LINKSYNC_VCARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LKS_VCARD_MAX_CARDS 10000
#define LKS_VCARD_MAX_PROPS 5000
#define LKS_VCARD_MAX_PARAMS 64
#define LKS_VCARD_MAX_LINE (8u * 1024 * 1024)
#define LKS_VCARD_MAX_DEPTH 8

typedef enum lks_vcard_version {
	LKS_VCARD_21 = 21,
	LKS_VCARD_30 = 30,
	LKS_VCARD_40 = 40,
} lks_vcard_version;

/* One parameter: name in upper case; bare 2.1 parameters (TEL;CELL) appear as
 * TYPE, bare QUOTED-PRINTABLE/BASE64/8BIT as ENCODING. Repeated parameters are
 * merged (TYPE=home;TYPE=work gives TYPE with two values); commas split values
 * (inside quotes only for TYPE). Values are UTF-8, quotes removed, RFC 6868
 * ^-escapes decoded. */
typedef struct lks_vcard_param {
	const char *name;
	const char *const *values;
	size_t nvalues;
} lks_vcard_param;

/* One property as written, for anything the model does not cover. */
typedef struct lks_vcard_prop {
	const char *group; /* "item1", or "" */
	const char *name;  /* upper case: "TEL", "X-ABLABEL" */
	const lks_vcard_param *params;
	size_t nparams;
	/* Unfolded, quoted-printable decoded, converted to UTF-8, control
	 * characters other than tab/newline removed; vCard backslash escapes and
	 * base64 text are kept as written. */
	const char *value;
	size_t line; /* 1-based line where the property starts */
} lks_vcard_prop;

/* A phone, email or URL. */
typedef struct lks_vcard_typed {
	const char *value; /* unescaped; TEL tel: URIs become the number,
			      ";ext=N" becomes ",N" (a dialling pause) */
	/* lower case ("cell", "voice", "home", ...); "pref" is not listed */
	const char *const *types;
	size_t ntypes;
	int pref;	   /* 0, or 1..100 (TYPE=pref counts as 1; 4.0 PREF=n) */
	const char *group; /* "item1", or "" */
	const char *label; /* Apple X-ABLabel of the same group without its
			      _$!<...>!$_ wrapper ("AssistantPhone"), or "" */
} lks_vcard_typed;

typedef struct lks_vcard_name {
	const char *family, *given, *additional, *prefix, *suffix;
} lks_vcard_name;

typedef struct lks_vcard_adr {
	const char *pobox, *extended, *street, *locality, *region, *postal_code, *country;
	const char *formatted; /* one line: non-empty components joined by ", ", newlines too */
	const char *const *types;
	size_t ntypes;
	int pref;
	const char *group;
	const char *label;
} lks_vcard_adr;

/* The card's first usable PHOTO. Inline data (base64 or a data: URI) is
 * decoded into data/len, and media_type is taken from the bytes' signature,
 * never from the declared type alone: "image/jpeg", "image/png", "image/gif",
 * "image/webp", "image/bmp", or "application/octet-stream" for anything else.
 * An external photo has data NULL and uri set; only http and https URIs are
 * kept, and media_type is then the declared type ("" when none). */
typedef struct lks_vcard_photo {
	const char *media_type;
	const unsigned char *data;
	size_t len;
	const char *uri;
} lks_vcard_photo;

/* One card. Every const char * is non-NULL, NUL-terminated UTF-8 ("" when
 * absent); the structure and everything it points to is borrowed from the
 * list and lives until lks_vcard_free. When a property occurs several times
 * the first wins (NOTEs are joined with a newline). */
typedef struct lks_vcard_card {
	lks_vcard_version version;
	size_t line;		  /* line of its BEGIN:VCARD */
	const char *fn;		  /* FN as written (unescaped), or "" */
	const char *display_name; /* FN, else built from N, else ORG, email, phone; may be "" */
	int has_n;
	lks_vcard_name n;
	const char *org;	      /* the organisation (first ORG component) */
	const char *const *org_units; /* the remaining ORG components */
	size_t norg_units;
	const char *title;
	const char *nickname;
	const lks_vcard_typed *phones;
	size_t nphones;
	const lks_vcard_typed *emails;
	size_t nemails;
	const lks_vcard_typed *urls;
	size_t nurls;
	const lks_vcard_adr *adrs;
	size_t nadrs;
	const char *bday; /* "YYYY-MM-DD", "--MM-DD", or as written */
	const char *note;
	const char *uid;
	const char *kind;   /* 4.0 KIND, lower case, or "" */
	const char *gender; /* 4.0 GENDER sex component ("M", "F", ...), or "" */
	int has_photo;
	lks_vcard_photo photo;
	const lks_vcard_prop *props; /* every property of the card, in order */
	size_t nprops;
} lks_vcard_card;

typedef struct lks_vcard_list lks_vcard_list;

/* Parses data[0..len) (read-only; it need not be NUL-terminated) into *out,
 * which the caller frees with lks_vcard_free. Accepts several cards per file,
 * LF or CRLF line ends, folding, 2.1 quoted-printable soft line breaks, a UTF-8
 * byte-order mark, blank lines, and skips nested (AGENT) cards.
 * Returns 0; LKS_EBADCONTENT with a message naming the line for input that is
 * not vCard (no BEGIN:VCARD, missing END:VCARD or VERSION, unknown VERSION, a
 * 3.0/4.0 card without FN, a 2.1 card with neither N nor anything to name it
 * by, a line without a colon, binary data, ...); LKS_ETOOBIG past a limit;
 * LKS_EINVAL for NULL arguments; LKS_ENOMEM. *out is NULL on failure. */
int lks_vcard_parse(lks_vcard_list **out, const char *data, size_t len);

/* Frees a list and everything borrowed from it; NULL is fine. */
void lks_vcard_free(lks_vcard_list *list);

/* Number of cards (at least 1 in a parsed list; 0 for NULL). */
size_t lks_vcard_count(const lks_vcard_list *list);

/* The i-th card (borrowed), or NULL when i is out of range. */
const lks_vcard_card *lks_vcard_get(const lks_vcard_list *list, size_t i);

/* 1 when the photo is inline image data a page may show (JPEG, PNG, GIF or
 * WebP by signature), else 0. */
int lks_vcard_photo_displayable(const lks_vcard_photo *photo);

/* Writes a NUL-terminated summary into *out (caller frees): the first card's
 * display name ("Unnamed contact" when it has none), followed by " + N more"
 * when the list holds N further cards. Returns 0, LKS_EINVAL or LKS_ENOMEM. */
int lks_vcard_summary(char **out, const lks_vcard_list *list);

/* Serialises every card as vCard 3.0 into *out (caller frees; also
 * NUL-terminated) with its length in *out_len: CRLF line ends, lines folded at
 * 75 octets between UTF-8 sequences, text escaped, TYPE parameters in 3.0
 * form, PHOTO as ENCODING=b with TYPE=JPEG/PNG/GIF/WEBP/BMP (or VALUE=uri).
 * Mapping of what 3.0 cannot hold: TEL;VALUE=uri:tel:... becomes a plain
 * number; 4.0 TYPE=text becomes MSG; KIND:group becomes
 * X-ADDRESSBOOKSERVER-KIND:group, KIND:org becomes X-ABShowAs:COMPANY,
 * KIND:individual is dropped (3.0's default), other kinds become X-KIND;
 * GENDER becomes X-GENDER (sex only; identity text is dropped) unless the card
 * has one; ANNIVERSARY becomes X-ANNIVERSARY; MEMBER becomes
 * X-ADDRESSBOOKSERVER-MEMBER; GEO geo: URIs become "lat;lon"; TZ offsets gain
 * their colon; BDAY without a year becomes Apple's X-APPLE-OMIT-YEAR form.
 * Dropped: LANG, CLIENTPIDMAP, RELATED, XML, BIRTHPLACE, DEATHPLACE, DEATHDATE,
 * AGENT, PRODID (a linksync one is written), properties repeated beyond the
 * first (FN, N, ORG, TITLE, NICKNAME, BDAY, UID) and parameters 3.0 lacks
 * (CHARSET, PREF, PID, ALTID, MEDIATYPE, ...). Everything else is copied.
 * Returns 0, LKS_EINVAL or LKS_ENOMEM. */
int lks_vcard_to_v30(char **out, size_t *out_len, const lks_vcard_list *list);

#ifdef __cplusplus
}
#endif
#endif
