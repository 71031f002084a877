/*
 * jsonout: JSON as users read it. Two-space indentation, one member per
 * line, ": " after keys, a trailing newline: the layout of `jq .`, so that
 * diffs, grep and line-based tools behave as they do on jq output.
 * Scalars are printed by cJSON (exact escaping and number formatting).
 */
#ifndef MSFS_JSONOUT_H
#define MSFS_JSONOUT_H

#include <cjson/cJSON.h>

#include "buf.h"

/* Appends json, pretty-printed, with a trailing newline. 0 or -ENOMEM. */
int json_pretty(const cJSON *json, struct buf *out);

#endif
