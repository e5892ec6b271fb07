/* Local files for the client: reading a whole stream, and writing a file so
 * that a reader never sees half of it (a temporary file beside the
 * destination, synced, then renamed into place, optionally refusing to
 * replace what is there). */
#include "cli.h"

#include "linksync/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_read_all(unsigned char **out, size_t *len, int fd)
{
	unsigned char *buf = NULL, *bigger;
	size_t cap = 0, n = 0;

	*out = NULL;
	*len = 0;
	for (;;) {
		ssize_t got;

		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 131072;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				free(buf);
				return LKS_ENOMEM;
			}
			buf = bigger;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return lks_error_set(LKS_EIO, "%s", strerror(errno));
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static mode_t default_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

int cli_tmpfile_open(struct cli_tmpfile *t, const char *dest)
{
	char *dcopy = NULL, *bcopy = NULL;
	const char *dir, *base;
	size_t size;
	struct stat st;
	int fd = -1, rc = 0;

	memset(t, 0, sizeof(*t));
	t->dest = strdup(dest);
	if (!t->dest)
		return LKS_ENOMEM;

	/* A device or a pipe (-o /dev/null) is written in place: renaming over
	 * it would replace the device node. */
	if (stat(dest, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			rc = lks_error_set(LKS_EIO, "%s is a directory", dest);
			goto fail;
		}
		t->f = fopen(dest, "w");
		if (!t->f) {
			rc = lks_error_set(LKS_EIO, "cannot write %s: %s", dest, strerror(errno));
			goto fail;
		}
		return 0;
	}

	dcopy = strdup(dest);
	bcopy = strdup(dest);
	if (!dcopy || !bcopy) {
		rc = LKS_ENOMEM;
		goto fail;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	size = strlen(dir) + strlen(base) + 32;
	t->path = malloc(size);
	if (!t->path) {
		rc = LKS_ENOMEM;
		goto fail;
	}
	/* ".NAME.XXXXXX", the name cut so the temporary name fits NAME_MAX. */
	snprintf(t->path, size, "%s/.%.200s.XXXXXX", dir, base);
	fd = mkostemp(t->path, O_CLOEXEC);
	if (fd < 0) {
		rc = lks_error_set(LKS_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
		free(t->path);
		t->path = NULL;
		goto fail;
	}
	t->f = fdopen(fd, "wb");
	if (!t->f) {
		rc = lks_error_set(LKS_EIO, "cannot write %s: %s", t->path, strerror(errno));
		close(fd);
		goto fail;
	}
	free(dcopy);
	free(bcopy);
	return 0;
fail:
	free(dcopy);
	free(bcopy);
	cli_tmpfile_abort(t);
	return rc;
}

void cli_tmpfile_abort(struct cli_tmpfile *t)
{
	if (t->f)
		fclose(t->f);
	if (t->path)
		unlink(t->path);
	free(t->path);
	free(t->dest);
	memset(t, 0, sizeof(*t));
}

int cli_tmpfile_commit(struct cli_tmpfile *t, bool no_replace)
{
	int rc = 0, fd;

	if (fflush(t->f) != 0) {
		rc = lks_error_set(LKS_EIO, "cannot write %s: %s", t->dest, strerror(errno));
		goto out;
	}
	if (!t->path) { /* written in place */
		rc = fclose(t->f) == 0
			 ? 0
			 : lks_error_set(LKS_EIO, "cannot write %s: %s", t->dest, strerror(errno));
		t->f = NULL;
		goto out;
	}
	fd = fileno(t->f);
	if (fchmod(fd, default_mode()) != 0 || fsync(fd) != 0) {
		rc = lks_error_set(LKS_EIO, "cannot write %s: %s", t->dest, strerror(errno));
		goto out;
	}
	if (fclose(t->f) != 0) {
		t->f = NULL;
		rc = lks_error_set(LKS_EIO, "cannot write %s: %s", t->dest, strerror(errno));
		goto out;
	}
	t->f = NULL;
	if (no_replace) {
		if (renameat2(AT_FDCWD, t->path, AT_FDCWD, t->dest, RENAME_NOREPLACE) == 0)
			goto done;
		if (errno != EINVAL && errno != ENOSYS) {
			rc = lks_error_set(LKS_EIO, "cannot create %s: %s", t->dest,
					   strerror(errno));
			goto out;
		}
		/* The file system has no RENAME_NOREPLACE: link(2) refuses to
		 * replace too. */
		if (link(t->path, t->dest) != 0) {
			rc = lks_error_set(LKS_EIO, "cannot create %s: %s", t->dest,
					   strerror(errno));
			goto out;
		}
		unlink(t->path);
		goto done;
	}
	if (rename(t->path, t->dest) != 0) {
		rc = lks_error_set(LKS_EIO, "cannot create %s: %s", t->dest, strerror(errno));
		goto out;
	}
done:
	free(t->path);
	t->path = NULL;
out:
	cli_tmpfile_abort(t);
	return rc;
}

int cli_write_file(const char *path, const void *data, size_t len)
{
	struct cli_tmpfile t;
	int rc;

	if (strcmp(path, "-") == 0) {
		if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
			return lks_error_set(LKS_EIO, "cannot write to standard output: %s",
					     strerror(errno));
		return 0;
	}
	rc = cli_tmpfile_open(&t, path);
	if (rc < 0)
		return rc;
	if (len > 0 && fwrite(data, 1, len, t.f) != len) {
		rc = lks_error_set(LKS_EIO, "cannot write %s: %s", path, strerror(errno));
		cli_tmpfile_abort(&t);
		return rc;
	}
	return cli_tmpfile_commit(&t, false);
}
