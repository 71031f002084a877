/*
 * fs: the FUSE operations, and nothing else. Each operation parses the path
 * (tree.h), asks views for what it names, and maps the answer onto FUSE:
 * open files hold their rendered content; writes collect in memory and are
 * applied on flush (so close() reports a refused change); scratch files go
 * to scratch.h. Changes push kernel-cache invalidations through a notifier
 * thread, because fuse_invalidate_path must not run inside the handler of
 * the path it invalidates.
 */
#ifndef MSFS_FS_H
#define MSFS_FS_H

#define FUSE_USE_VERSION 314
#include <fuse.h>

struct school;

/* The operations table; private_data of the fuse instance must be the
 * struct school. */
const struct fuse_operations *fs_operations(void);

#endif
