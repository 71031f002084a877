/*
 * fs: the FUSE operations, and nothing else. Each operation takes the FUSE
 * arguments, calls one function of openfile.h (which decides what a call on
 * a path or an open file means) and returns its errno; fs adds only what is
 * FUSE's: the kernel's cache settings, struct stat with owner and modes,
 * directory fillers, and kernel-cache invalidations, pushed through a
 * notifier thread because fuse_invalidate_path must not run inside the
 * handler of the path it invalidates. Owner and modes follow struct
 * fs_owner.
 */
#ifndef MSFS_FS_H
#define MSFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse.h>
#include <sys/types.h>

struct school;

/*
 * Who owns the tree and who may use it (-o uid=,gid=,umask=). Every mode
 * of the tree (directories 0700, editable files 0600, read-only views
 * 0400, control files 0200, scratch files as their creator made them) is
 * widened from the owner to group and others, then umask is taken away:
 * the defaults (the mounting user, umask 0077) keep it to its owner;
 * gid=admins,umask=0007 shares it with a group. The kernel enforces the
 * modes only under default_permissions (main adds it with allow_other).
 */
struct fs_owner {
	uid_t uid;
	gid_t gid;
	mode_t umask;
};

/* Sets the owner before the filesystem is created; without a call, the
 * mounting user with umask 0077. */
void fs_set_owner(const struct fs_owner *owner);

/* Stops the kernel-cache notifier and drops what it has queued. The main
 * loop calls it once the loop has ended: fuse_destroy frees libfuse's
 * nodes, in which the notifier resolves its paths, before it calls the
 * destroy operation. Idempotent; destroy calls it too. */
void fs_stop(void);

/* The operations table; private_data of the fuse instance must be the
 * struct school (init replaces it with the mount's struct openfiles). */
const struct fuse_operations *fs_operations(void);

#endif
