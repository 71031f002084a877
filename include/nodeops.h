/*
 * nodeops: the functions rows of the node table (nodes.c) point at,
 * implemented in views.c (existence, stat, listing, rendering) and
 * edits.c (writes, lines of control files, create, mkdir, rmdir). Each
 * takes the node's context (nodes.h) and returns 0 or -errno, like the
 * public entry point (views.h) that dispatches to it.
 *
 * Only nodes.c refers to these; everyone else goes through views.h, so a
 * new file needs its row and its functions, and no caller changes.
 */
#ifndef MSFS_NODEOPS_H
#define MSFS_NODEOPS_H

#include "nodes.h"

/* --- views.c: what must exist --- */
int view_exists_offer(const struct node_ctx *c);
int view_exists_course(const struct node_ctx *c);
int view_exists_exam(const struct node_ctx *c);
int view_exists_offer_member(const struct node_ctx *c);
int view_exists_course_member(const struct node_ctx *c);
int view_exists_status_member(const struct node_ctx *c);

/* --- views.c: sizes that are not the rendered content's --- */
int view_stat_link(const struct node_ctx *c, struct view_attr *a);
int view_stat_prop(const struct node_ctx *c, struct view_attr *a);
int view_stat_progress(const struct node_ctx *c, struct view_attr *a);
int view_stat_scratch(const struct node_ctx *c, struct view_attr *a);
int view_stat_jsonl(const struct node_ctx *c, struct view_attr *a);
int view_stat_csv(const struct node_ctx *c, struct view_attr *a);

/* --- views.c: children named by identifiers --- */
int view_list_status(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_offers(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_courses(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_users(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_exams(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_offer_members(const struct node_ctx *c, view_fill_fn fill,
			    void *arg);
int view_list_course_members(const struct node_ctx *c, view_fill_fn fill,
			     void *arg);
int view_list_status_members(const struct node_ctx *c, view_fill_fn fill,
			     void *arg);
int view_list_scratch(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_user_offers(const struct node_ctx *c, view_fill_fn fill,
			  void *arg);
int view_list_user_orders(const struct node_ctx *c, view_fill_fn fill,
			  void *arg);
int view_list_props(const struct node_ctx *c, view_fill_fn fill, void *arg);
int view_list_progress(const struct node_ctx *c, view_fill_fn fill, void *arg);

/* --- views.c: content --- */
int view_render_readme(const struct node_ctx *c, struct buf *out);
int view_render_propdefs(const struct node_ctx *c, struct buf *out);
int view_render_offer_json(const struct node_ctx *c, struct buf *out);
int view_render_offer_name(const struct node_ctx *c, struct buf *out);
int view_render_empty(const struct node_ctx *c, struct buf *out);
int view_render_user_json(const struct node_ctx *c, struct buf *out);
int view_render_users_jsonl(const struct node_ctx *c, struct buf *out);
int view_render_users_csv(const struct node_ctx *c, struct buf *out);
int view_render_offer_csv(const struct node_ctx *c, struct buf *out);
int view_stream_users_jsonl(const struct node_ctx *c, struct view_stream **out);
int view_stream_csv(const struct node_ctx *c, struct view_stream **out);
int view_render_offer_state(const struct node_ctx *c, struct buf *out);
int view_render_order_state(const struct node_ctx *c, struct buf *out);
int view_render_prop(const struct node_ctx *c, struct buf *out);
int view_render_props_json(const struct node_ctx *c, struct buf *out);
int view_render_progress(const struct node_ctx *c, struct buf *out);
int view_render_login_token(const struct node_ctx *c, struct buf *out);
int view_render_exam_json(const struct node_ctx *c, struct buf *out);
int view_render_exam_csv(const struct node_ctx *c, struct buf *out);
int view_render_status(const struct node_ctx *c, struct buf *out);
int view_render_errors(const struct node_ctx *c, struct buf *out);
int view_render_journal(const struct node_ctx *c, struct buf *out);

/* --- edits.c: writes --- */
int edit_apply_offer_state(const struct node_ctx *c, const char *data,
			   size_t len, const struct edit_base *base);
int edit_apply_order_state(const struct node_ctx *c, const char *data,
			   size_t len, const struct edit_base *base);
int edit_apply_prop(const struct node_ctx *c, const char *data, size_t len,
		    const struct edit_base *base);
int edit_apply_props_json(const struct node_ctx *c, const char *data,
			  size_t len, const struct edit_base *base);
int edit_apply_control(const struct node_ctx *c, const char *data, size_t len,
		       const struct edit_base *base);
int edit_line_grant(struct line_run *run, int lineno, char *line, size_t len);
int edit_line_chapter(struct line_run *run, int lineno, char *line, size_t len);
int edit_line_refresh(struct line_run *run, int lineno, char *line, size_t len);
int edit_create_grant(struct school *s, const struct tree_path *p);
int edit_create_prop(struct school *s, const struct tree_path *p);
int edit_mkdir_member(struct school *s, const struct tree_path *p);
int edit_rmdir_member(struct school *s, const struct tree_path *p);

#endif
