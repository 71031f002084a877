/*
 * fuseio: the daemon's own reads and writes on /dev/fuse.
 *
 * libfuse 3.14 never grants the kernel's FUSE_PARALLEL_DIROPS, even when
 * the file system asks for it (conn->want). Without it the kernel sends
 * one LOOKUP per directory at a time, so eight `cat users/X/user.json`
 * for uncached members wait for each other's API calls one by one.
 *
 * fuseio_install() puts a custom I/O layer (fuse_session_custom_io) under
 * a mounted session: reads and writes go straight to the fd as libfuse's
 * own would; the one INIT reply is amended to grant parallel directory
 * operations when the kernel offered them. The high-level API is safe
 * with them (its path tree has its own locks; newer libfuse grants the
 * flag by default). Call after fuse_mount(), before the loop.
 */
#ifndef MSFS_FUSEIO_H
#define MSFS_FUSEIO_H

struct fuse;

/* 0, or a negative errno (the session then keeps libfuse's own I/O). */
int fuseio_install(struct fuse *fuse);

#endif
