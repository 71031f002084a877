/*
 * fuseio: custom /dev/fuse I/O that grants parallel directory operations
 * in the INIT reply (see include/fuseio.h).
 */
#define FUSE_USE_VERSION 314

#include "fuseio.h"

#include <errno.h>
#include <fuse.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_int init_seen;	 /* the INIT reply went out */
static atomic_int kernel_offers; /* the kernel's INIT offered the flag */

/*
 * The INIT reply is the first reply of a session: the kernel sends nothing
 * else before it is answered. Its payload is a struct fuse_init_out
 * (64 bytes for protocol 7.23 and later); older layouts are left alone.
 */
static void amend_init_reply(struct iovec *iov, int count)
{
	const struct fuse_out_header *out;
	struct fuse_init_out *init;
	uint32_t flags;

	if (count < 2 || iov[0].iov_len < sizeof(*out))
		return;
	out = iov[0].iov_base;
	if (out->error != 0 || iov[1].iov_len != sizeof(*init))
		return;
	init = iov[1].iov_base;
	memcpy(&flags, (char *)init + offsetof(struct fuse_init_out, flags),
	       sizeof(flags));
	flags |= FUSE_PARALLEL_DIROPS;
	memcpy((char *)init + offsetof(struct fuse_init_out, flags), &flags,
	       sizeof(flags));
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (!atomic_load(&init_seen)) {
		atomic_store(&init_seen, 1);
		if (atomic_load(&kernel_offers))
			amend_init_reply(iov, count);
	}
	return writev(fd, iov, count);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n;

	(void)userdata;
	n = read(fd, buf, len);
	/* Note whether the kernel's INIT request offers the flag; the reply
	 * must not claim what the kernel did not offer. */
	if (n >= (ssize_t)(sizeof(struct fuse_in_header) +
			   sizeof(struct fuse_init_in)) &&
	    !atomic_load(&init_seen)) {
		const struct fuse_in_header *in = buf;
		const struct fuse_init_in *arg =
			(const void *)((const char *)buf + sizeof(*in));

		if (in->opcode == FUSE_INIT &&
		    (arg->flags & FUSE_PARALLEL_DIROPS))
			atomic_store(&kernel_offers, 1);
	}
	return n;
}

int fuseio_install(struct fuse *fuse)
{
	static const struct fuse_custom_io io = {
		.writev = io_writev,
		.read = io_read,
	};
	struct fuse_session *se = fuse_get_session(fuse);
	int fd = fuse_session_fd(se);

	if (fd < 0)
		return -EBADF;
	return fuse_session_custom_io(se, &io, fd);
}
