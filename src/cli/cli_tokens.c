/* The owner-token store: one JSON object per line in
 * $XDG_STATE_HOME/linksync/tokens.jsonl (id, url, owner_token, expires_at,
 * server), so `update` and `delete` need only the link. The directory is
 * 0700 and the file 0600, both checked to be ours and not symlinks; every
 * change holds an flock on a separate lock file, an append is one write(2)
 * and a removal rewrites the file beside it and renames it into place. */
#include "cli.h"

#include "linksync/error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKENS_FILE "tokens.jsonl"
#define TOKENS_LOCK "tokens.lock"

void cli_token_free(struct cli_token *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->url);
	/* The token is a credential: do not leave it in freed memory. */
	if (t->token)
		explicit_bzero(t->token, strlen(t->token));
	free(t->token);
	free(t->expires_at);
	free(t->server);
	free(t);
}

int cli_tokens_dir(char **out)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home;
	size_t size;

	*out = NULL;
	/* The XDG spec says a relative path is invalid and is to be ignored. */
	if (state && state[0] == '/') {
		size = strlen(state) + sizeof("/linksync");
		*out = malloc(size);
		if (!*out)
			return LKS_ENOMEM;
		snprintf(*out, size, "%s/linksync", state);
		return 0;
	}
	home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(geteuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (!home || home[0] != '/')
		return lks_error_set(LKS_EINVAL, "no home directory: set HOME or XDG_STATE_HOME");
	size = strlen(home) + sizeof("/.local/state/linksync");
	*out = malloc(size);
	if (!*out)
		return LKS_ENOMEM;
	snprintf(*out, size, "%s/.local/state/linksync", home);
	return 0;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int mkdirs(const char *path)
{
	char *p = strdup(path);
	char *s;
	int rc = 0;

	if (!p)
		return LKS_ENOMEM;
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			rc = lks_error_set(LKS_EIO, "cannot create %s: %s", p, strerror(errno));
			goto out;
		}
		*s = '/';
	}
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = lks_error_set(LKS_EIO, "cannot create %s: %s", p, strerror(errno));
out:
	free(p);
	return rc;
}

/* Checks that fd is ours, of the wanted kind, and no more open than mode. */
static int check_owned(int fd, const char *path, bool dir, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return lks_error_set(LKS_EIO, "cannot inspect %s: %s", path, strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return lks_error_set(LKS_EIO, "%s is not a %s", path,
				     dir ? "directory" : "regular file");
	if (st.st_uid != geteuid())
		return lks_error_set(LKS_EIO, "%s belongs to another user: refusing to use it",
				     path);
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) != 0)
		return lks_error_set(LKS_EIO, "cannot restrict %s to mode %o: %s", path,
				     (unsigned)mode, strerror(errno));
	return 0;
}

/* Opens (creating when asked) the store directory, checked, as *dirfd. */
static int open_dir(int *dirfd, const char *dir, bool create)
{
	int fd, rc;

	*dirfd = -1;
	if (create) {
		rc = mkdirs(dir);
		if (rc < 0)
			return rc;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return LKS_ENOTFOUND;
		return lks_error_set(LKS_EIO, "cannot open %s: %s", dir, strerror(errno));
	}
	rc = check_owned(fd, dir, true, 0700);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*dirfd = fd;
	return 0;
}

/* Takes the store's lock (shared or exclusive) as *lockfd. */
static int take_lock(int *lockfd, int dirfd, const char *dir, int how)
{
	int fd = openat(dirfd, TOKENS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	*lockfd = -1;
	if (fd < 0)
		return lks_error_set(LKS_EIO, "cannot open %s/%s: %s", dir, TOKENS_LOCK,
				     strerror(errno));
	while (flock(fd, how) != 0) {
		if (errno != EINTR) {
			close(fd);
			return lks_error_set(LKS_EIO, "cannot lock %s/%s: %s", dir, TOKENS_LOCK,
					     strerror(errno));
		}
	}
	*lockfd = fd;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One record as a JSON line (with '\n'); allocated. */
static char *record_line(const struct cli_token *t)
{
	json_t *o = json_object();
	char *line = NULL, *with_nl = NULL;
	size_t n;

	if (!o)
		return NULL;
	if (json_object_set_new(o, "id", json_string(t->id)) != 0 ||
	    json_object_set_new(o, "url", json_string(t->url ? t->url : "")) != 0 ||
	    json_object_set_new(o, "owner_token", json_string(t->token)) != 0 ||
	    json_object_set_new(o, "expires_at", json_string(t->expires_at ? t->expires_at : "")) !=
		0 ||
	    json_object_set_new(o, "server", json_string(t->server ? t->server : "")) != 0)
		goto out;
	line = json_dumps(o, JSON_COMPACT);
	if (!line)
		goto out;
	n = strlen(line);
	with_nl = malloc(n + 2);
	if (with_nl) {
		memcpy(with_nl, line, n);
		with_nl[n] = '\n';
		with_nl[n + 1] = '\0';
	}
out:
	free(line);
	json_decref(o);
	return with_nl;
}

int cli_tokens_add(const char *dir, const struct cli_token *t)
{
	int dirfd = -1, lockfd = -1, fd = -1, rc = 0;
	char *line = NULL;
	struct stat st;

	if (!t->id || !t->token)
		return lks_error_set(LKS_EINVAL, "a token record needs an id and a token");
	line = record_line(t);
	if (!line)
		return LKS_ENOMEM;
	rc = open_dir(&dirfd, dir, true);
	if (rc < 0)
		goto out;
	rc = take_lock(&lockfd, dirfd, dir, LOCK_EX);
	if (rc < 0)
		goto out;
	fd = openat(dirfd, TOKENS_FILE, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		rc = lks_error_set(LKS_EIO, "cannot open %s/%s: %s", dir, TOKENS_FILE,
				   strerror(errno));
		goto out;
	}
	rc = check_owned(fd, dir, false, 0600);
	if (rc < 0)
		goto out;
	/* A record cut short by a crash must not swallow this one: start on a
	 * fresh line when the file does not end with one. */
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		int rfd = openat(dirfd, TOKENS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		char last = '\n';

		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
		if (last != '\n' && write_all(fd, "\n", 1) != 0) {
			rc = lks_error_set(LKS_EIO, "cannot write %s/%s: %s", dir, TOKENS_FILE,
					   strerror(errno));
			goto out;
		}
	}
	if (write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
		rc = lks_error_set(LKS_EIO, "cannot write %s/%s: %s", dir, TOKENS_FILE,
				   strerror(errno));
		goto out;
	}
out:
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd); /* releases the lock */
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

static char *dup_field(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return strdup(s ? s : "");
}

/* Parses one line into a record; NULL (and *oom unset) when it is not one. */
static struct cli_token *parse_line(const char *line, size_t len, bool *oom)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	struct cli_token *t = NULL;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "id")) ||
	    !json_is_string(json_object_get(o, "owner_token")))
		goto out;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto oom;
	t->id = dup_field(o, "id");
	t->url = dup_field(o, "url");
	t->token = dup_field(o, "owner_token");
	t->expires_at = dup_field(o, "expires_at");
	t->server = dup_field(o, "server");
	if (!t->id || !t->url || !t->token || !t->expires_at || !t->server)
		goto oom;
out:
	json_decref(o);
	return t;
oom:
	*oom = true;
	cli_token_free(t);
	json_decref(o);
	return NULL;
}

/* Reads the whole store (under the caller's lock) into *data; a missing file
 * gives an empty store. */
static int read_store(char **data, size_t *len, int dirfd, const char *dir)
{
	int fd = openat(dirfd, TOKENS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	*data = NULL;
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return lks_error_set(LKS_EIO, "cannot open %s/%s: %s", dir, TOKENS_FILE,
				     strerror(errno));
	}
	rc = check_owned(fd, dir, false, 0600);
	if (rc == 0)
		rc = cli_read_all((unsigned char **)data, len, fd);
	close(fd);
	return rc;
}

int cli_tokens_find(struct cli_token **out, const char *dir, const char *id)
{
	int dirfd = -1, lockfd = -1, rc;
	char *data = NULL, *p, *end;
	size_t len = 0;
	bool oom = false;

	*out = NULL;
	rc = open_dir(&dirfd, dir, false);
	if (rc == LKS_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	rc = take_lock(&lockfd, dirfd, dir, LOCK_SH);
	if (rc < 0)
		goto out;
	rc = read_store(&data, &len, dirfd, dir);
	if (rc < 0 || !data)
		goto out;
	for (p = data, end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct cli_token *t = parse_line(p, n, &oom);

		if (oom) {
			rc = LKS_ENOMEM;
			goto out;
		}
		/* The latest record wins: an id pushed again keeps its last token. */
		if (t && strcasecmp(t->id, id) == 0) {
			cli_token_free(*out);
			*out = t;
		} else {
			cli_token_free(t);
		}
		p += n + 1;
	}
out:
	if (rc < 0) {
		cli_token_free(*out);
		*out = NULL;
	}
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int cli_tokens_remove(const char *dir, const char *id, const char *now)
{
	int dirfd = -1, lockfd = -1, fd = -1, rc;
	char *data = NULL, *p, *end;
	char tmp[] = TOKENS_FILE ".XXXXXX";
	size_t len = 0;
	bool oom = false, made_tmp = false;

	rc = open_dir(&dirfd, dir, false);
	if (rc == LKS_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	rc = take_lock(&lockfd, dirfd, dir, LOCK_EX);
	if (rc < 0)
		goto out;
	rc = read_store(&data, &len, dirfd, dir);
	if (rc < 0 || !data)
		goto out;
	/* mkostemp works on paths: the directory was checked above and is
	 * ours, so building the path from it is safe. */
	{
		size_t size = strlen(dir) + sizeof(tmp) + 1;
		char *path = malloc(size);

		if (!path) {
			rc = LKS_ENOMEM;
			goto out;
		}
		snprintf(path, size, "%s/%s", dir, tmp);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			memcpy(tmp, path + strlen(dir) + 1, sizeof(tmp));
		free(path);
		if (fd < 0) {
			rc = lks_error_set(LKS_EIO, "cannot create a file in %s: %s", dir,
					   strerror(errno));
			goto out;
		}
		made_tmp = true;
	}
	for (p = data, end = data + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct cli_token *t = parse_line(p, n, &oom);
		bool keep;

		if (oom) {
			rc = LKS_ENOMEM;
			goto out;
		}
		/* Unreadable lines go, as do the item and whatever has expired
		 * (RFC 3339 UTC timestamps order as text up to the seconds). */
		keep = t && strcasecmp(t->id, id) != 0 &&
		       !(now && strlen(t->expires_at) >= 19 && strlen(now) >= 19 &&
			 strncmp(t->expires_at, now, 19) < 0);
		cli_token_free(t);
		if (keep && (write_all(fd, p, n) != 0 || write_all(fd, "\n", 1) != 0)) {
			rc = lks_error_set(LKS_EIO, "cannot write %s/%s: %s", dir, tmp,
					   strerror(errno));
			goto out;
		}
		p += n + 1;
	}
	if (fsync(fd) != 0 || renameat(dirfd, tmp, dirfd, TOKENS_FILE) != 0) {
		rc = lks_error_set(LKS_EIO, "cannot replace %s/%s: %s", dir, TOKENS_FILE,
				   strerror(errno));
		goto out;
	}
	made_tmp = false;
out:
	if (fd >= 0)
		close(fd);
	if (made_tmp)
		unlinkat(dirfd, tmp, 0);
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}
