#!/usr/bin/env python3
"""Fake Memberspot REST API server, for memberspotfs tests, demo and benchmark.

Implements every endpoint of shared/API.md in memory, with state, to the
contract in notes/fake_api_spec.md.  Python 3 standard library only.

Design
------
* One ``State`` object holds everything mutable: the catalogue (offers,
  courses with chapters, property definitions), users, chapter access, exams,
  the fault switches, the rate-limit windows, the statistics and the request
  log.  One lock guards all of it.  API handlers run entirely under the lock,
  JSON encoding included, so every response is a consistent snapshot.
  Sleeps (latency_ms, hang_ms) happen outside the lock, so a slow request
  never stalls the others.
* Users are a dict uid -> user plus a list of uids kept sorted with
  ``bisect``.  A page is one bisect to the cursor and a forward scan that
  stops after pageLength+1 matches (the extra one says whether a next page
  exists, so nextPage is null exactly when nothing follows).  email -> uid is
  a dict, so lookups are O(1) even at 100,000 users.
* Seeding draws from one ``random.Random(seed)`` in uid order: a run is
  reproducible, and the first k users are the same whatever --users is.
* Routing is a dispatch table of path templates, matched segment by segment
  after splitting the raw path on "/" and percent-decoding each segment once,
  so "%2F" inside an email or an id never splits it.
* Pipeline for an API request (never for /_fake/): down (close, no answer) ->
  sleep hang_ms -> route (unknown: 404) -> API key (401) ->
  rate limits (429) -> random faults (error_rate, malformed_rate, drop_rate)
  -> JSON body (400) -> handler -> sleep what is left of latency_ms (the
  time from the request's arrival to its answer, the fake's own work
  included, as a client measures a real API's latency) -> for GET
  /v1/users/list, sleep list_reply_ms (the page is a snapshot of the state
  when the handler ran, delivered late: a change made meanwhile reaches the
  client first).  Injected faults pre-empt the handler, so a
  faulted request never changes state; tests can rely on that.  The
  rate-limit windows count only requests they let through, so after a 429 a
  client that waits Retry-After seconds does get through.
* Every API request is counted in the statistics and the request log before
  its response is sent, so a client that has its answer always sees it
  counted.  Requests answered by "down" are logged with status 0, dropped
  ones with the 200 that was sent.  Log entries carry an extra "fault" field
  (null, "down", "error", "malformed" or "drop").  Headers are never logged,
  and the key is never printed.
* HTTP/1.1 keep-alive with Content-Length on every answer; the writer is
  buffered and TCP_NODELAY is set, so a keep-alive request costs no Nagle /
  delayed-ACK stall.  Request bodies may be chunked or sent after
  "Expect: 100-continue".  A fault-free page of 100 users takes ~2 ms.
* Stopping: SIGTERM/SIGINT set an event the main thread waits on; it then
  shuts the server down (serve_forever runs in its own thread) and removes
  the port file, so a stale one never misleads the next run.

Dialects (--dialect, config switch "dialect")
---------------------------------------------
The state always has the "guessed" shapes of shared/API.md (users with
``offers``, ``customProperties`` by property id, ``createdAt``; offers with
``courses``), and the control endpoints (/_fake/state, /_fake/user) always
show it that way: tests use them as ground truth (with ``?view=api`` they show
users, offers and property definitions as the API answers them in the current
dialect instead, for comparing files that pass API JSON through).  The dialect
only changes how API answers are rendered and which request bodies are
accepted.

* ``guessed`` (default): the shapes of shared/API.md's tables.
* ``evidence``: the shapes of its "Evidence and dialects" section:
  - User (find-by-mail, list pages, set-custom-user-properties answer):
    {uid, email, firstname, name, active, created, customUserProperties
    (keyed by property NAME), progress: [{courseId, activePosts: n,
    completedPosts: n}] (one per course of the user's offers), other fields
    as stored}; no offers.  Only the users of a page are rendered.
  - users/list: {"data": [User], "nextPage": uid or null}; pageLength above
    50 is a 400 with message ["pageLength must not be greater than 50"];
    with offerId, active=... tests that offer's grant, not the member's flag.
  - offers: a bare array of {id, name, hasCourseIds: [course id], price,
    currency}; no courses.
  - property definitions: {"properties": [{id, name, schoolId, type}]}.
  - set-custom-user-properties items are {id, value}; an item carrying
    propertyId is refused as NestJS's whitelist does ("properties.0.property
    propertyId should not exist", "properties.0.id must be a string").
  - delete-users: 200, text/plain "ok".
  - set-offer-state / set-order-state: "active" optional; absent (or null)
    removes the matching grants from the member: 200 {email, offerId|orderId}.
  - login-token: {token, loginUrl}.
  - grant, course progress, exam results, chapter access, api-auth: as
    guessed.
* list_shape (--list-shape, config) other than "users" overrides the
  dialect's envelope: next_page {users, next_page}, array (bare array),
  items {items, nextPage} (an envelope no client knows).

A broken server (config switches)
---------------------------------
* cursor_cycle N (default 0: off): users/list cursors go round in a cycle
  of N.  The page asked with the N-th cursor of a walk (when more follows)
  answers nextPage = the first cursor again: 1 repeats a cursor at once
  (A, A), 2 gives A, B, A, B, ...  A client that only catches an immediate
  repeat walks forever.  Needs N+1 pages.
* exam_extra_rows [row, ...] (default []): rows appended to every exam's
  results as they are answered (formula-like cells, a huge row).
* rate_slack_ms N (default 0, at most 500): the rate limits' sliding
  window is N ms shorter than a second.  The window counts a request when
  its handler thread runs, and on a loaded machine (the test suite's
  valgrind phase runs every test at once) those threads run late, unevenly,
  so requests a client sent a window apart can be counted closer together.
  Tests that assert "no 429" at a limit equal to the client's ceiling
  forgive that much of the fake's own scheduling; a client without a
  ceiling is still refused.

Saved answers (--serve-dir DIR)
-------------------------------
Instead of answering from state, the fake answers from the files the
mount's --probe-save option writes: every DIR/*.json is one object
{"endpoint": "GET /v1/offers", "status": 200, "content_type": "...",
"body": <JSON>} or with "text": "..." instead of "body" (content_type
optional: JSON or text/plain by default; other keys ignored).  endpoint
is a route's stats name (the path without its placeholders, e.g.
"GET /v1/exams/results"), at most one file per endpoint.  A request routed
to an endpoint with a file gets that status and body, whatever its path
arguments, query or body; an endpoint without one: 404; an unknown path:
404.  The key (401), rate limits, faults, statistics and the log work as
usual; --users and --dialect are ignored.  A file that cannot be read,
parsed or understood: one line on stderr, exit 2 at start.
"""

import argparse
import bisect
import collections
import hmac
import ipaddress
import json
import os
import random
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_KEY = "demo-key"
MAX_PAGE_LENGTH = 100
EVIDENCE_MAX_PAGE_LENGTH = 50
DEFAULT_PAGE_LENGTH = 10
LOG_LIMIT = 100_000
MAX_BODY = 64 * 1024 * 1024
LIST_SHAPES = ("users", "next_page", "array", "items")
DIALECTS = ("guessed", "evidence")
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
SCHOOL_ID = "school-1"
LOGIN_URL = "https://school.example.com/login?token="
MALFORMED_BODIES = ((b'{"users": [trunc', JSON_TYPE),
                    (b"<html>oops</html>", "text/html; charset=utf-8"))
DROP_PREFIX = b'{"users":[{"uid":"u-000001'
DROP_SHORTFALL = 4096        # bytes announced in Content-Length but never sent
SEED_EPOCH = 1672531200      # 2023-01-01T00:00:00Z: seeded timestamps follow it
TWO_YEARS = 2 * 365 * 86400

DEFAULT_CONFIG = {
    "latency_ms": 0, "error_rate": 0.0, "error_status": 500,
    "progress_rps": 4, "global_rps": 0, "malformed_rate": 0.0,
    "drop_rate": 0.0, "down": False, "hang_ms": 0, "list_shape": "users",
    "retry_after": 1, "list_reply_ms": 0, "dialect": "guessed",
    "cursor_cycle": 0, "exam_extra_rows": [], "rate_slack_ms": 0,
}

# --------------------------------------------------------------------------
# Seed catalogue: awkward ids and names on purpose ('/', '%', leading dot,
# spaces, non-ASCII), because the filesystem must cope with all of them.
# --------------------------------------------------------------------------

# (course id, name, number of chapters); every chapter has three posts.
COURSES = (
    ("c-leadership", "Leadership Basics", 5),
    ("c-communication", "Kommunikation & Feedback", 4),
    ("c-excel", "Excel für Profis", 3),
    ("c-safety/2026", "Arbeitssicherheit 2026", 5),
    ("c-secret", "Geheimkurs: Interna", 2),
)
# (offer id, name, course ids, price): "price"/"currency" prove pass-through.
OFFERS = (
    ("grundkurs-fuehrung", "Grundkurs Führung",
     ("c-leadership", "c-communication"), 199.0),
    ("bundle/2026", "Bundle 2026 – alles drin",
     ("c-leadership", "c-excel", "c-safety/2026"), 499.0),
    ("100%-kurs", "100% Excel", ("c-excel",), 49.0),
    (".hidden-offer", "Versteckt", ("c-secret",), 0.0),
    ("sales-2026", "Sales/Marketing 2026", ("c-communication",), 149.0),
)
PROPERTIES = (
    ("p-company", "Company"),
    ("p-phone", "Phone number"),
    ("p-kdnr", "Kundennummer"),
    ("p-note", "Notes/internal"),
)
# The first users, whenever --users is large enough: (email, firstname,
# name, [(offer id, active)]).
AWKWARD_USERS = (
    ("anna+test@example.com", "Anna", "Test",
     [("bundle/2026", True), ("100%-kurs", True)]),
    ("o'brien@example.org", "Seán", "O'Brien", [(".hidden-offer", False)]),
    ("jürgen.müller@example.de", "Jürgen", "Müller",
     [("grundkurs-fuehrung", True)]),
    ("zoe/sales?@example.net", "Zoë", "Núñez", []),
    ("UPPER.Case@Example.com", "", "",
     [("sales-2026", True), ("bundle/2026", False)]),
)
FIRST_NAMES = ("Anna", "Ben", "Clara", "Jürgen", "Zoë", "Lukas", "Marie",
               "Ömer", "Søren", "Élodie", "Max", "Lea", "Noah", "Mia")
LAST_NAMES = ("Schmidt", "Müller", "Meyer", "O'Neill", "Nguyễn", "Weiß",
              "Fischer", "García", "Wagner", "Becker", "Schulz", "Koch")
COMPANIES = ("ACME GmbH", "Müller & Söhne KG", "Beispiel AG", "Foo/Bar Ltd.",
             "Café Zürich")
# P(k offers) = 10%, 50%, 35%, 5% for k = 0..3, as a cumulative table
OFFER_COUNT_CDF = (0.10, 0.60, 0.95)
EXAMS = (("exam-1", "c-leadership", 1, 25), ("final exam/2026", "c-safety/2026", 3, 60))


_DAY_CACHE = {}


def iso(ts):
    """Epoch seconds -> ISO 8601 UTC with milliseconds, as NestJS prints.
    The date part is cached per day: seeding formats ~300,000 timestamps."""
    ms = int(ts * 1000)
    day, ms_of_day = divmod(ms, 86400000)
    date = _DAY_CACHE.get(day)
    if date is None:
        date = _DAY_CACHE[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    secs, ms = divmod(ms_of_day, 1000)
    hours, secs = divmod(secs, 3600)
    return "%sT%02d:%02d:%02d.%03dZ" % (date, hours, secs // 60, secs % 60, ms)


def valid_email(email):
    """Exactly one '@', non-empty local part, a dot in the domain, no
    whitespace or control characters (the contract's definition)."""
    if not isinstance(email, str) or email.count("@") != 1:
        return False
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in email):
        return False
    local, domain = email.split("@")
    return bool(local) and "." in domain


class ApiError(Exception):
    """An error answer; message is a string, or a list for body validation."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def bad_body(errors):
    return ApiError(400, list(errors))


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------

class State:
    """All mutable server state, guarded by the one lock ``self.lock``."""

    def __init__(self, n_users, seed, config):
        self.lock = threading.RLock()
        self.config = dict(DEFAULT_CONFIG, **config)
        self.rng = random.Random(f"runtime-{seed}")  # faults, new uids
        self._build_catalogue()
        self.users = {}           # uid -> user
        self.uids = []            # sorted uids: the pagination order
        self.uid_by_email = {}
        self.chapter_access = []
        self.next_user_no = 1
        self.next_order_no = 1
        self._seed_users(n_users, seed)
        self.exams = self._seed_exams(seed)
        self.progress_hits = collections.deque()
        self.global_hits = collections.deque()
        self.reset_stats()

    # ---- seeding ---------------------------------------------------------

    def _build_catalogue(self):
        self.courses = {}
        for cid, name, n_chapters in COURSES:
            chapters = [{"id": f"ch-{c}", "name": f"Kapitel {c}",
                         "posts": [f"post-{c}-{p}" for p in range(1, 4)]}
                        for c in range(1, n_chapters + 1)]
            self.courses[cid] = {"id": cid, "name": name, "chapters": chapters}
        self.offers = [{"id": oid, "name": name,
                        "courses": [{"id": c, "name": self.courses[c]["name"]}
                                    for c in cids],
                        "price": price, "currency": "EUR"}
                       for oid, name, cids, price in OFFERS]
        self.offer_by_id = {o["id"]: o for o in self.offers}
        # course id -> ids of the offers that contain it (for courseId filters)
        self.course_offers = collections.defaultdict(set)
        for o in self.offers:
            for c in o["courses"]:
                self.course_offers[c["id"]].add(o["id"])
        self.properties = [{"id": pid, "name": name, "type": "text",
                            "required": False} for pid, name in PROPERTIES]
        self.property_ids = {p["id"] for p in self.properties}
        self.property_names = {p["id"]: p["name"] for p in self.properties}

    def _seed_users(self, n_users, seed):
        # rng.random() with plain indexing rather than choice()/choices()/
        # sample(): several times faster, and seeding 100k users must be quick.
        rng = random.Random(seed)
        rand = rng.random
        offer_ids = [o["id"] for o in self.offers]
        for i in range(1, n_users + 1):
            if i <= len(AWKWARD_USERS):
                email, first, last, grants = AWKWARD_USERS[i - 1]
            else:
                # the others are user00001@..., numbered after the awkward ones
                email = f"user{i - len(AWKWARD_USERS):05d}@example.com"
                first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
                last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
                # most users have 1-2 offers, some none, a few three
                k = bisect.bisect(OFFER_COUNT_CDF, rand())
                start = int(rand() * len(offer_ids))
                grants = [(offer_ids[(start + j) % len(offer_ids)], rand() >= 0.15)
                          for j in range(k)]
            created = SEED_EPOCH + rand() * TWO_YEARS
            user = self._new_user(i, rng.getrandbits(16), email, first, last,
                                  iso(created))
            for oid, active in grants:
                granted = created + rand() * 86400 * 30
                user["offers"].append(self._new_grant(oid, None, active, iso(granted)))
            user["customProperties"] = self._seed_properties(rand, i)
            if rand() < 0.7:
                user["lastLogin"] = iso(created + rand() * 86400 * 90)
            self._refresh_active(user)
            self._insert_user(user)

    @staticmethod
    def _seed_properties(rand, i):
        props = {}
        if rand() < 0.6:
            props["p-company"] = COMPANIES[int(rand() * len(COMPANIES))]
        if rand() < 0.5:
            props["p-kdnr"] = f"K-{100000 + i}"
        if rand() < 0.3:
            props["p-phone"] = f"+49 30 {1000000 + int(rand() * 9000000)}"
        if i % 97 == 0:
            props["p-note"] = "VIP / bitte zuerst anrufen"
        return props

    def _seed_exams(self, seed):
        rng = random.Random(f"exams-{seed}")
        exams = {}
        users = [self.users[u] for u in self.uids]
        for exam_id, course_id, step, limit in EXAMS:
            results = []
            for user in users[:limit:step]:
                for attempt in range(1, rng.choice((1, 1, 2)) + 1):
                    score = rng.randrange(0, 101)
                    results.append({
                        "uid": user["uid"], "email": user["email"],
                        "score": score, "passed": score >= 60,
                        "submittedAt": iso(SEED_EPOCH + rng.random() * TWO_YEARS),
                        "attempt": attempt, "maxScore": 100,
                        "courseId": course_id})
            exams[exam_id] = results
        return exams

    # ---- users -----------------------------------------------------------

    def _new_user(self, number, tag, email, first, last, created):
        self.next_user_no = max(self.next_user_no, number + 1)
        return {"uid": f"u-{number:06d}-{tag:04x}", "email": email,
                "firstname": first, "name": last, "active": False,
                "createdAt": created, "offers": [], "customProperties": {},
                "lastLogin": None}

    def _new_grant(self, offer_id, order_id, active, granted_at):
        if not order_id:
            order_id = f"ord-{self.next_order_no}"
            self.next_order_no += 1
        return {"offerId": offer_id, "orderId": order_id, "active": active,
                "grantedAt": granted_at}

    @staticmethod
    def _refresh_active(user):
        user["active"] = any(g["active"] for g in user["offers"])

    def _insert_user(self, user):
        self.users[user["uid"]] = user
        self.uid_by_email[user["email"]] = user["uid"]
        if not self.uids or self.uids[-1] < user["uid"]:
            self.uids.append(user["uid"])       # the usual case: O(1)
        else:
            bisect.insort(self.uids, user["uid"])

    def user_by_email(self, email):
        uid = self.uid_by_email.get(email)
        if uid is None:
            raise ApiError(404, f"User with email {email} not found")
        return self.users[uid]

    def user_by_uid(self, uid):
        user = self.users.get(uid)
        if user is None:
            raise ApiError(404, f"User {uid} not found")
        return user

    def ensure_user(self, email, first, last):
        """-> (user, created)."""
        uid = self.uid_by_email.get(email)
        if uid is not None:
            return self.users[uid], False
        user = self._new_user(self.next_user_no, self.rng.getrandbits(16),
                              email, first, last, iso(time.time()))
        self._insert_user(user)
        return user, True

    def grant(self, user, offer_id, order_id):
        """Add a grant, or reactivate the existing one (new orderId if given)."""
        for g in user["offers"]:
            if g["offerId"] == offer_id:
                g["active"] = True
                if order_id:
                    g["orderId"] = order_id
                break
        else:
            user["offers"].append(
                self._new_grant(offer_id, order_id, True, iso(time.time())))
        self._refresh_active(user)

    def set_grant_state(self, user, key, value, active):
        """Set "active" on the user's grants whose key (offerId/orderId) is
        value; False when the user has none."""
        grants = [g for g in user["offers"] if g[key] == value]
        for g in grants:
            g["active"] = active
        self._refresh_active(user)
        return bool(grants)

    def remove_grants(self, user, key, value):
        """Take away the user's grants whose key (offerId/orderId) is value
        (the evidence dialect's set-*-state without "active"); False when
        the user has none."""
        kept = [g for g in user["offers"] if g[key] != value]
        removed = len(kept) != len(user["offers"])
        user["offers"] = kept
        self._refresh_active(user)
        return removed

    def delete_user(self, email):
        uid = self.uid_by_email.pop(email, None)
        if uid is None:
            return False
        del self.users[uid]
        del self.uids[bisect.bisect_left(self.uids, uid)]
        return True

    def page(self, cursor, limit, match):
        """Up to limit matching users with uid > cursor; -> (page, more)."""
        uids, users = self.uids, self.users
        i = bisect.bisect_right(uids, cursor) if cursor else 0
        page = []
        while i < len(uids):
            user = users[uids[i]]
            i += 1
            if match(user):
                if len(page) == limit:
                    return page, True
                page.append(user)
        return page, False

    def user_filter(self, offer_id, course_id, active, grant_active=False):
        """grant_active (the evidence dialect): with offerId, "active" tests
        the state of that offer's grant, not the member's overall flag."""
        tests = []
        if offer_id is not None:
            if active is not None and grant_active:
                want = active
                tests.append(lambda u: any(g["offerId"] == offer_id and g["active"] is want
                                           for g in u["offers"]))
                active = None               # not the member's flag as well
            else:
                tests.append(lambda u: any(g["offerId"] == offer_id for g in u["offers"]))
        if course_id is not None:
            offers = self.course_offers.get(course_id, set())
            tests.append(lambda u: any(g["offerId"] in offers for g in u["offers"]))
        if active is not None:
            tests.append(lambda u: u["active"] is active)
        return lambda u: all(t(u) for t in tests)

    # ---- courses and progress --------------------------------------------

    def course(self, course_id):
        course = self.courses.get(course_id)
        if course is None:
            raise ApiError(404, f"Course {course_id} not found")
        return course

    def user_course_ids(self, user):
        """Courses of all the user's offers, active or not (deactivating keeps
        progress), in grant order without duplicates."""
        seen = {}
        for g in user["offers"]:
            for c in self.offer_by_id[g["offerId"]]["courses"]:
                seen.setdefault(c["id"], None)
        return list(seen)

    def progress(self, user, course):
        """Deterministic progress -> (percent, completed posts, active posts).
        A course the user does not have shows no progress."""
        posts = [p for ch in course["chapters"] for p in ch["posts"]]
        if course["id"] not in self.user_course_ids(user):
            return 0, [], []
        pct = zlib.crc32(f"{user['uid']}\0{course['id']}".encode()) % 101
        done = len(posts) * pct // 100
        return pct, posts[:done], posts[done:done + 1]

    # ---- rate limits, faults, statistics -----------------------------------

    def throttled(self, progress_endpoint):
        """Sliding one-second windows; only requests let through are counted."""
        now = time.monotonic()
        with self.lock:
            span = 1.0 - min(self.config["rate_slack_ms"], 500) / 1000.0
            windows = [(self.global_hits, self.config["global_rps"])]
            if progress_endpoint:
                windows.append((self.progress_hits, self.config["progress_rps"]))
            for hits, limit in windows:
                while hits and now - hits[0] >= span:
                    hits.popleft()
                if limit and len(hits) >= limit:
                    return True
            for hits, limit in windows:
                if limit:
                    hits.append(now)
                else:
                    hits.clear()
            return False

    def roll_fault(self):
        """-> None, "error", "malformed" or "drop", per the configured rates."""
        with self.lock:
            for name in ("error", "malformed", "drop"):
                rate = self.config[name + "_rate"]
                if rate and self.rng.random() < rate:
                    return name
            return None

    def reset_stats(self):
        with self.lock:
            self.total = 0
            self.by_endpoint = collections.Counter({r.name: 0 for r in ROUTES})
            self.by_endpoint["other"] = 0
            self.by_status = collections.Counter()
            self.log = collections.deque(maxlen=LOG_LIMIT)

    def record(self, t, method, path, endpoint, status, body, fault):
        with self.lock:
            self.total += 1
            self.by_endpoint[endpoint] += 1
            self.by_status[str(status)] += 1
            self.log.append({"t": t, "method": method, "path": path,
                             "endpoint": endpoint, "status": status,
                             "body": body, "fault": fault})


# --------------------------------------------------------------------------
# Body validation, class-validator style: collect every message, then 400.
# --------------------------------------------------------------------------

def field_errors(body, rules):
    """rules: (field, kind) with kind "email", "string" (required, non-empty),
    "optional" (string or absent/null) or "bool"."""
    if not isinstance(body, dict):
        return ["request body must be a JSON object"]
    errors = []
    for name, kind in rules:
        value = body.get(name)
        if kind == "email" and not valid_email(value):
            errors.append(f"{name} must be an email")
        elif kind == "string" and not isinstance(value, str):
            errors.append(f"{name} must be a string")
        elif kind == "string" and not value:
            errors.append(f"{name} should not be empty")
        elif kind == "optional" and value is not None and not isinstance(value, str):
            errors.append(f"{name} must be a string")
        elif kind == "bool" and not isinstance(value, bool):
            errors.append(f"{name} must be a boolean value")
    return errors


def validate(body, rules):
    errors = field_errors(body, rules)
    if errors:
        raise bad_body(errors)


def is_scalar(value):
    return value is None or isinstance(value, (str, int, float, bool))


def first(query, name):
    values = query.get(name)
    return values[0] if values else None


def parse_page_length(raw, evidence=False):
    if raw is None:
        return DEFAULT_PAGE_LENGTH
    if evidence:                            # class-validator messages, one each
        if not (raw.isascii() and raw.isdigit()):
            raise bad_body(["pageLength must be an integer number"])
        if int(raw) < 1:
            raise bad_body(["pageLength must not be less than 1"])
        if int(raw) > EVIDENCE_MAX_PAGE_LENGTH:
            raise bad_body([f"pageLength must not be greater than {EVIDENCE_MAX_PAGE_LENGTH}"])
        return int(raw)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE_LENGTH:
        raise ApiError(400, f"pageLength must be an integer from 1 to {MAX_PAGE_LENGTH}")
    return int(raw)


def parse_active(raw):
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ApiError(400, "active must be true or false")
    return raw == "true"


# --------------------------------------------------------------------------
# Dialects: how API answers are rendered from the (guessed-shaped) state.
# --------------------------------------------------------------------------

def evidence(st):
    return st.config["dialect"] == "evidence"


def render_user(st, user):
    """The user as the API answers it: the stored record (guessed), or the
    evidence shape: created, customUserProperties by property name, progress
    counts per course, no offers; every other field kept."""
    if not evidence(st):
        return user
    out = {"uid": user["uid"], "email": user["email"],
           "firstname": user["firstname"], "name": user["name"],
           "active": user["active"], "created": user["createdAt"],
           "customUserProperties": {st.property_names.get(pid, pid): value
                                    for pid, value in user["customProperties"].items()},
           "progress": []}
    for cid in st.user_course_ids(user):
        _, done, active = st.progress(user, st.courses[cid])
        out["progress"].append({"courseId": cid, "activePosts": len(active),
                                "completedPosts": len(done)})
    for key, value in user.items():
        if key not in out and key not in ("createdAt", "offers", "customProperties"):
            out[key] = value
    return out


class Text:
    """A handler's non-JSON answer (call_locked sends it as it is)."""
    __slots__ = ("text", "content_type")

    def __init__(self, text, content_type=TEXT_TYPE):
        self.text, self.content_type = text, content_type


# --------------------------------------------------------------------------
# API handlers: (state, path args, query, body) -> (status, payload).
# They run under state.lock.
# --------------------------------------------------------------------------

def api_auth(st, args, query, body):
    return 200, {"ok": True}


def api_offers(st, args, query, body):
    if not evidence(st):
        return 200, st.offers
    out = []
    for offer in st.offers:
        o = {"id": offer["id"], "name": offer["name"],
             "hasCourseIds": [c["id"] for c in offer["courses"]]}
        o.update((k, v) for k, v in offer.items() if k not in o and k != "courses")
        out.append(o)
    return 200, out


def api_users_list(st, args, query, body):
    ev = evidence(st)
    limit = parse_page_length(first(query, "pageLength"), ev)
    match = st.user_filter(first(query, "offerId"), first(query, "courseId"),
                           parse_active(first(query, "active")), grant_active=ev)
    cursor = first(query, "lastLoadedId")
    page, more = st.page(cursor, limit, match)
    next_uid = page[-1]["uid"] if more else None
    if more and cursor is not None and st.config["cursor_cycle"]:
        next_uid = cycled_cursor(st, cursor, limit, match) or next_uid
    page = [render_user(st, u) for u in page]   # the page only: stays cheap
    shape = st.config["list_shape"]             # not the default: overrides the dialect
    if shape == "array":
        return 200, page
    if shape == "next_page":
        return 200, {"users": page, "next_page": next_uid}
    if shape == "items":
        return 200, {"items": page, "nextPage": next_uid}
    return 200, {"data" if ev else "users": page, "nextPage": next_uid}


def cycled_cursor(st, cursor, limit, match):
    """cursor_cycle N: the first cursor of the walk when cursor is its N-th,
    else None."""
    cursors, cur = [], None
    for _ in range(st.config["cursor_cycle"]):
        page, more = st.page(cur, limit, match)
        if not more:
            return None
        cur = page[-1]["uid"]
        cursors.append(cur)
    return cursors[0] if cursor == cursors[-1] else None


def api_find_by_mail(st, args, query, body):
    return 200, render_user(st, st.user_by_email(args[0]))


def api_grant(st, args, query, body):
    validate(body, (("email", "email"), ("grantOffer", "string"),
                    ("firstname", "optional"), ("name", "optional"),
                    ("orderId", "optional")))
    offer_id = body["grantOffer"]
    if offer_id not in st.offer_by_id:     # before creating anybody
        raise ApiError(404, f"Offer {offer_id} not found")
    user, created = st.ensure_user(body["email"], body.get("firstname") or "",
                                   body.get("name") or "")
    st.grant(user, offer_id, body.get("orderId"))
    return 201, {"uid": user["uid"], "email": user["email"], "created": created}


def grant_state_handler(key):
    """set-offer-state and set-order-state differ only in the grant key.
    Evidence dialect: "active" is optional (absent or null, as class-
    validator's @IsOptional reads it); without it the grants are removed."""
    def handler(st, args, query, body):
        remove = evidence(st) and isinstance(body, dict) and body.get("active") is None
        validate(body, (("email", "string"), (key, "string"))
                 + (() if remove else (("active", "bool"),)))
        user = st.user_by_email(body["email"])
        if remove:
            if not st.remove_grants(user, key, body[key]):
                raise ApiError(404, f"User has no {key} {body[key]}")
            return 200, {"email": user["email"], key: body[key]}
        if not st.set_grant_state(user, key, body[key], body["active"]):
            raise ApiError(404, f"User has no {key} {body[key]}")
        return 200, {"email": user["email"], key: body[key],
                     "active": body["active"]}
    return handler


def property_errors(body, id_key="propertyId"):
    """id_key: the item's property-id field, "propertyId" (guessed) or "id"
    (evidence, where NestJS's whitelist refuses a propertyId field)."""
    errors = field_errors(body, (("email", "string"),))
    props = body.get("properties") if isinstance(body, dict) else None
    if not isinstance(props, list):
        return errors + ["properties must be an array"]
    for i, prop in enumerate(props):
        if not isinstance(prop, dict):
            errors.append(f"properties.{i} must be an object")
            continue
        if id_key == "id" and "propertyId" in prop:
            errors.append(f"properties.{i}.property propertyId should not exist")
        if not isinstance(prop.get(id_key), str):
            errors.append(f"properties.{i}.{id_key} must be a string")
        if "value" not in prop or not is_scalar(prop["value"]):
            errors.append(f"properties.{i}.value must be a string, number, boolean or null")
    return errors


def api_set_properties(st, args, query, body):
    id_key, what = ("id", "property id") if evidence(st) else ("propertyId", "propertyId")
    errors = property_errors(body, id_key)
    if errors:
        raise bad_body(errors)
    user = st.user_by_email(body["email"])
    unknown = [p[id_key] for p in body["properties"] if p[id_key] not in st.property_ids]
    if unknown:                             # all or nothing
        raise bad_body(f"unknown {what} {pid}" for pid in unknown)
    for prop in body["properties"]:
        user["customProperties"][prop[id_key]] = prop["value"]
    return 200, render_user(st, user)


def api_delete_users(st, args, query, body):
    emails = body.get("emails") if isinstance(body, dict) else None
    if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
        raise bad_body(["emails must be an array of strings"])
    deleted = [e for e in emails if st.delete_user(e)]
    if evidence(st):
        return 200, Text("ok")
    return 200, {"deleted": deleted}


def api_progress_list(st, args, query, body):
    user = st.user_by_email(args[0])
    summaries = []
    for cid in st.user_course_ids(user):
        course = st.courses[cid]
        pct, done, _ = st.progress(user, course)
        summaries.append({"courseId": cid, "courseName": course["name"],
                          "progress": pct, "completedPostsCount": len(done)})
    return 200, summaries


def api_progress(st, args, query, body):
    course_id, email = args
    user = st.user_by_email(email)
    course = st.course(course_id)
    pct, done, active = st.progress(user, course)
    return 200, {"courseId": course_id, "email": user["email"], "progress": pct,
                 "completedPosts": done, "activePosts": active,
                 "courseName": course["name"]}


def api_login_token(st, args, query, body):
    user = st.user_by_uid(args[0])
    token = secrets.token_hex(32)
    if evidence(st):
        return 200, {"token": token, "loginUrl": LOGIN_URL + token}
    return 200, {"token": token,
                 "expiresAt": iso(time.time() + 3600), "uid": user["uid"]}


def api_chapter_access(st, args, query, body):
    validate(body, (("email", "string"), ("courseId", "string"),
                    ("chapterId", "string")))
    user = st.user_by_email(body["email"])
    course = st.course(body["courseId"])
    if not any(ch["id"] == body["chapterId"] for ch in course["chapters"]):
        raise ApiError(404, f"Chapter {body['chapterId']} not found")
    key = (user["uid"], course["id"], body["chapterId"])
    if not any((a["uid"], a["courseId"], a["chapterId"]) == key
               for a in st.chapter_access):
        st.chapter_access.append({"uid": key[0], "email": user["email"],
                                  "courseId": key[1], "chapterId": key[2],
                                  "enabledAt": iso(time.time())})
    return 201, {"email": user["email"], "courseId": course["id"],
                 "chapterId": body["chapterId"], "enabled": True}


def api_properties(st, args, query, body):
    if evidence(st):
        return 200, {"properties": [{"id": p["id"], "name": p["name"],
                                     "schoolId": SCHOOL_ID, "type": p["type"]}
                                    for p in st.properties]}
    return 200, st.properties


def api_exam_results(st, args, query, body):
    results = st.exams.get(args[0])
    if results is None:
        raise ApiError(404, f"Exam {args[0]} not found")
    return 200, results + st.config["exam_extra_rows"]


ARG = None  # a route pattern placeholder: one non-empty, decoded segment
Route = collections.namedtuple("Route", "method pattern name handler takes_body progress")


def _route(method, path, handler, takes_body=False, progress=False):
    """path like "/v1/exams/{examId}/results".  The stats name of the endpoint
    is the path without its placeholders: "GET /v1/exams/results"."""
    parts = path.strip("/").split("/")
    pattern = tuple(ARG if p.startswith("{") else p for p in parts)
    name = f"{method} /" + "/".join(p for p in parts if not p.startswith("{"))
    return Route(method, pattern, name, handler, takes_body, progress)


ROUTES = (
    _route("GET", "/api-auth", api_auth),
    _route("GET", "/v1/offers", api_offers),
    _route("GET", "/v1/users/list", api_users_list),
    _route("GET", "/v1/users/find-by-mail/{email}", api_find_by_mail),
    _route("POST", "/v1/users/grant-user-offer-by-mail", api_grant, True),
    _route("POST", "/v1/users/set-offer-state", grant_state_handler("offerId"), True),
    _route("POST", "/v1/users/set-order-state", grant_state_handler("orderId"), True),
    _route("POST", "/v1/users/set-custom-user-properties", api_set_properties, True),
    _route("DELETE", "/v1/users/delete-users", api_delete_users, True),
    _route("POST", "/v1/users/delete-users", api_delete_users, True),
    _route("GET", "/v1/users/course-progress/list/{email}", api_progress_list,
           progress=True),
    _route("GET", "/v1/users/course-progress/{courseId}/{email}", api_progress,
           progress=True),
    _route("GET", "/v1/users/login-token/{uid}", api_login_token),
    _route("POST", "/v1/chapters/chapter-access/enable", api_chapter_access, True),
    _route("GET", "/v1/custom-user-properties/list", api_properties),
    _route("GET", "/v1/exams/{examId}/results", api_exam_results),
)
ROUTE_NAMES = frozenset(r.name for r in ROUTES)
# (method, number of segments) -> candidate routes
ROUTES_BY_SHAPE = collections.defaultdict(list)
for _r in ROUTES:
    ROUTES_BY_SHAPE[(_r.method, len(_r.pattern))].append(_r)


def match_route(method, segments):
    """-> (route, args) or (None, None)."""
    for route in ROUTES_BY_SHAPE.get((method, len(segments)), ()):
        args = []
        for want, got in zip(route.pattern, segments):
            if want is ARG:
                if not got:
                    break
                args.append(got)
            elif want != got:
                break
        else:
            return route, args
    return None, None


def path_segments(path):
    """Split on '/' first, then percent-decode each segment exactly once."""
    return [unquote(s) for s in path.strip("/").split("/")] if path.strip("/") else []


# --------------------------------------------------------------------------
# Control interface (/_fake/): no key, no faults, not counted.
# Handlers: (state, raw query, body) -> (status, payload), run under the lock.
# --------------------------------------------------------------------------

def ctl_stats(st, query, body):
    return 200, {"total": st.total, "by_endpoint": dict(st.by_endpoint),
                 "by_status": dict(st.by_status)}


def ctl_reset_stats(st, query, body):
    st.reset_stats()
    return 200, {"ok": True}


def ctl_log(st, query, body):
    return 200, list(st.log)


def ctl_get_config(st, query, body):
    return 200, st.config


def config_error(name, value):
    """-> an error message, or None when value suits switch name."""
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def count(v):
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if name.endswith("_rate"):
        return None if number(value) and 0 <= value <= 1 else f"{name} must be a number from 0 to 1"
    if name == "error_status":
        ok = isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599
        return None if ok else "error_status must be an integer from 400 to 599"
    if name == "down":
        return None if isinstance(value, bool) else "down must be a boolean"
    if name == "list_shape":
        return None if value in LIST_SHAPES else f"list_shape must be one of {', '.join(LIST_SHAPES)}"
    if name == "dialect":
        return None if value in DIALECTS else f"dialect must be one of {', '.join(DIALECTS)}"
    if name == "exam_extra_rows":
        ok = isinstance(value, list) and all(isinstance(r, dict) for r in value)
        return None if ok else "exam_extra_rows must be an array of objects"
    return None if count(value) else f"{name} must be a non-negative integer"


def ctl_set_config(st, query, body):
    if not isinstance(body, dict):
        raise bad_body(["request body must be a JSON object"])
    errors = [f"unknown switch {k}" if k not in DEFAULT_CONFIG else config_error(k, v)
              for k, v in body.items()]
    errors = [e for e in errors if e]
    if errors:                              # all or nothing
        raise bad_body(errors)
    st.config.update(body)
    return 200, st.config


def api_view(query):
    """?view=api: records as the API answers them in the current dialect
    (for tests that compare the mount's files with them), not as stored."""
    return first(parse_qs(query), "view") == "api"


def ctl_state(st, query, body):
    if api_view(query):
        _, offers = api_offers(st, (), {}, None)
        _, defs = api_properties(st, (), {}, None)
        if isinstance(defs, dict):          # the mount shows the list unwrapped
            defs = defs["properties"]
        return 200, {"users": [render_user(st, st.users[u]) for u in st.uids],
                     "offers": offers, "properties": defs,
                     "chapter_access": st.chapter_access, "exams": st.exams}
    return 200, {"users": [st.users[u] for u in st.uids],
                 "offers": st.offers, "properties": st.properties,
                 "chapter_access": st.chapter_access, "exams": st.exams}


def ctl_user(st, query, body):
    # Emails cannot hold spaces, so a literal '+' is kept rather than read as
    # a space: ?email=anna+test@example.com works unencoded.
    email = first(parse_qs(query.replace("+", "%2B")), "email")
    user = st.user_by_email(email or "")
    return 200, render_user(st, user) if api_view(query) else user


CONTROL = {
    ("GET", "/_fake/stats"): ctl_stats,
    ("POST", "/_fake/reset-stats"): ctl_reset_stats,
    ("GET", "/_fake/log"): ctl_log,
    ("GET", "/_fake/config"): ctl_get_config,
    ("POST", "/_fake/config"): ctl_set_config,
    ("GET", "/_fake/state"): ctl_state,
    ("GET", "/_fake/user"): ctl_user,
}


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "body", "headers", "fault")

    def __init__(self, status, body=b"", headers=None, fault=None):
        self.status, self.body, self.fault = status, body, fault
        self.headers = headers or {}


def dumps(payload):
    """JSON as UTF-8. Text that is not Unicode shows the way real servers
    send it: a lone surrogate U+DC80..U+DCFF (what a \\udcfc escape in a
    request body becomes) goes out as the raw byte 0x80..0xFF, as a server
    storing Latin-1 bytes would; any other lone surrogate goes out as a
    \\uXXXX escape, as JavaScript's JSON.stringify writes it."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode("ascii")


def json_response(status, payload, headers=None):
    return Response(status, dumps(payload), dict({"Content-Type": JSON_TYPE}, **(headers or {})))


def reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_response(status, message, headers=None):
    return json_response(status, {"statusCode": status, "message": message,
                                  "error": reason(status)}, headers)


def too_many_requests(retry_after):
    return error_response(429, "ThrottlerException: Too Many Requests",
                          {"Retry-After": str(retry_after)})


def call_locked(st, handler, *args):
    """Run a handler and encode its answer under the state lock, so the JSON
    is a consistent snapshot; ApiError becomes a NestJS error response."""
    try:
        with st.lock:
            status, payload = handler(st, *args)
            if isinstance(payload, Text):
                return Response(status, payload.text.encode("utf-8"),
                                {"Content-Type": payload.content_type})
            return json_response(status, payload)
    except ApiError as e:
        return error_response(e.status, e.message, e.headers)
    except Exception:                       # a bug in the fake: say so, go on
        traceback.print_exc()
        return error_response(500, "Internal server error")


def parse_json(raw):
    """Strict JSON (no NaN/Infinity); empty body -> None; else ApiError 400."""
    if not raw.strip():
        return None

    def reject(name):
        raise ValueError(f"unexpected {name}")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=reject)
    except UnicodeDecodeError:
        raise ApiError(400, "Request body is not UTF-8") from None
    except ValueError as e:
        raise ApiError(400, f"Unexpected token in JSON at position {getattr(e, 'pos', 0)}") from None


def json_or_none(raw):
    """The request log's view of a body: parsed JSON, or null."""
    try:
        return parse_json(raw)
    except ApiError:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"           # keep-alive; Content-Length always
    server_version = "FakeMemberspot/1.0"
    # Headers and body leave in one buffered flush, and TCP_NODELAY is set:
    # otherwise Nagle's algorithm and the client's delayed ACK cost ~40 ms on
    # every keep-alive request.
    wbufsize = -1
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def handle_expect_100(self):
        # the buffered writer would hold "100 Continue" back, and the client
        # would wait (curl: 1 s) before sending the body
        super().handle_expect_100()
        self.wfile.flush()
        return True

    def parse_request(self):
        # A request's time starts when its request line has arrived:
        # latency_ms covers parsing its headers as well.
        self.started = time.monotonic()
        return super().parse_request()

    def do_GET(self):
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    # BaseHTTPRequestHandler logs every request to stderr; we log only with
    # --verbose, ourselves, and never headers.
    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_api: %s\n" % (fmt % args))

    # ---- request plumbing ------------------------------------------------

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not (length.isascii() and length.strip().isdigit()):
            raise ApiError(400, "Invalid Content-Length")
        if int(length) > MAX_BODY:
            raise ApiError(413, "Request body too large")
        return self.rfile.read(int(length))

    def _read_chunked(self):
        chunks, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise ApiError(400, "Invalid chunked body") from None
            total += size
            if total > MAX_BODY:
                raise ApiError(413, "Request body too large")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass                    # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)       # CRLF after the chunk

    def _send(self, resp):
        if resp.fault == "down":            # no answer at all
            self.close_connection = True
            return
        announced = len(resp.body) + (DROP_SHORTFALL if resp.fault == "drop" else 0)
        try:
            self.send_response(resp.status)
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(announced))
            self.end_headers()
            self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if resp.fault == "drop":            # the rest of the body never comes
            self.close_connection = True

    def _dispatch(self):
        arrived, started = time.time(), self.started
        split = urlsplit(self.path)
        try:
            raw = self._read_body()
        except ApiError as e:
            # the body was not consumed, so this connection cannot go on
            raw = b""
            early = error_response(e.status, e.message, {"Connection": "close"})
        else:
            early = None
        if split.path == "/_fake" or split.path.startswith("/_fake/"):
            self._send(early or self._control(split, raw))
            return
        route, args = match_route(self.command, path_segments(split.path))
        resp = early or self._api(route, args, split, raw, started)
        endpoint = route.name if route else "other"
        self.server.state.record(arrived, self.command, self.path, endpoint,
                                 resp.status, json_or_none(raw), resp.fault)
        if self.server.verbose:
            sys.stderr.write(f"fake_api: {self.command} {self.path} -> "
                             f"{resp.status}{' ' + resp.fault if resp.fault else ''}\n")
        self._send(resp)

    def _control(self, split, raw):
        handler = CONTROL.get((self.command, split.path))
        if handler is None:
            return error_response(404, f"Cannot {self.command} {split.path}")
        try:
            body = parse_json(raw)
        except ApiError as e:
            return error_response(e.status, e.message)
        return call_locked(self.server.state, handler, split.query, body)

    def _authorised(self):
        given = self.headers.get("X-API-KEY")
        return given is not None and hmac.compare_digest(
            given.encode("utf-8", "surrogateescape"), self.server.api_key)

    def _api(self, route, args, split, raw, started):
        st = self.server.state
        with st.lock:
            cfg = dict(st.config)
        if cfg["down"]:
            return Response(0, fault="down")
        if cfg["hang_ms"]:
            time.sleep(cfg["hang_ms"] / 1000)   # outside the lock
        resp = self._answer(route, args, split, raw, cfg)
        # latency_ms is the time the server takes to answer, its own work
        # included (what a client measures of a real API): only the part
        # that work did not use is slept, outside the lock.
        rest = (cfg["hang_ms"] + cfg["latency_ms"]) / 1000 - (time.monotonic() - started)
        if cfg["latency_ms"] and rest > 0:
            time.sleep(rest)
        if cfg["list_reply_ms"] and route is not None and route.name == "GET /v1/users/list":
            time.sleep(cfg["list_reply_ms"] / 1000)     # outside the lock
        return resp

    def _answer(self, route, args, split, raw, cfg):
        st = self.server.state
        if route is None:
            return error_response(404, f"Cannot {self.command} {split.path}")
        if not self._authorised():
            return error_response(401, "Invalid or missing API key")
        if st.throttled(route.progress):
            return too_many_requests(cfg["retry_after"])
        fault = st.roll_fault()
        if fault:
            return self._fault(fault, cfg)
        if self.server.saved is not None:
            resp = saved_response(self.server.saved, route)
        else:
            try:
                body = parse_json(raw) if route.takes_body else None
            except ApiError as e:
                return error_response(e.status, e.message)
            resp = call_locked(st, route.handler, args,
                               parse_qs(split.query, keep_blank_values=True), body)
        return resp

    def _fault(self, fault, cfg):
        st = self.server.state
        if fault == "error":
            status = cfg["error_status"]
            headers = {"Retry-After": str(cfg["retry_after"])} if status in (429, 503) else None
            resp = error_response(status, "Injected fault", headers)
            resp.fault = "error"
            return resp
        if fault == "malformed":
            with st.lock:
                body, ctype = st.rng.choice(MALFORMED_BODIES)
            return Response(200, body, {"Content-Type": ctype}, fault="malformed")
        return Response(200, DROP_PREFIX, {"Content-Type": JSON_TYPE}, fault="drop")


# --------------------------------------------------------------------------
# --serve-dir: answers saved by the mount's --probe-save, served verbatim.
# --------------------------------------------------------------------------

SavedAnswer = collections.namedtuple("SavedAnswer", "status body content_type")


def load_saved_answer(path):
    """One saved-answer file -> (endpoint, SavedAnswer); ValueError with a
    one-line reason when it cannot be read, parsed or understood."""
    def reject(name):
        raise ValueError(f"unexpected {name}")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ValueError(f"cannot read: {e.strerror or e}") from None
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=reject)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except ValueError as e:
        raise ValueError(f"not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    endpoint = doc.get("endpoint")
    if endpoint not in ROUTE_NAMES:
        raise ValueError(f"unknown endpoint {endpoint!r} (want one of: "
                         f"{', '.join(sorted(ROUTE_NAMES))})")
    status = doc.get("status")
    if not (isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599):
        raise ValueError("status must be an integer from 100 to 599")
    ctype = doc.get("content_type")
    if ctype is not None and not (isinstance(ctype, str) and ctype.isprintable()):
        raise ValueError("content_type must be a string")
    if ("body" in doc) == ("text" in doc):
        raise ValueError('needs exactly one of "body" (JSON) and "text"')
    if "body" in doc:
        return endpoint, SavedAnswer(status, dumps(doc["body"]), ctype or JSON_TYPE)
    text = doc["text"]
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "replace")
    return endpoint, SavedAnswer(status, data, ctype or TEXT_TYPE)


def load_saved_answers(directory):
    """Every *.json file of directory -> {endpoint: SavedAnswer}; ValueError
    with one line naming the file and the reason."""
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except OSError as e:
        raise ValueError(f"{directory}: cannot list: {e.strerror or e}") from None
    if not names:
        raise ValueError(f"{directory}: no *.json files")
    saved, origin = {}, {}
    for name in names:
        path = os.path.join(directory, name)
        try:
            endpoint, answer = load_saved_answer(path)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
        if endpoint in saved:
            raise ValueError(f"{path}: endpoint {endpoint} already saved in {origin[endpoint]}")
        saved[endpoint], origin[endpoint] = answer, path
    return saved


def saved_response(saved, route):
    """The saved answer of the request's endpoint, whatever its arguments,
    query or body; no file for it: 404."""
    answer = saved.get(route.name)
    if answer is None:
        return error_response(404, f"No saved answer for {route.name}")
    return Response(answer.status, answer.body, {"Content-Type": answer.content_type})


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024   # listen() backlog: socketserver's 5 resets bursts of connects

    def __init__(self, address, state, api_key, verbose, saved=None):
        self.state = state
        self.api_key = api_key.encode("utf-8", "surrogateescape")
        self.verbose = verbose
        self.saved = saved          # --serve-dir: endpoint -> SavedAnswer
        super().__init__(address, Handler)


class FakeServer6(FakeServer):
    address_family = socket.AF_INET6


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def loopback_host(value):
    """The contract binds loopback only; accept any loopback address."""
    host = "127.0.0.1" if value == "localhost" else value
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{value!r} is not a loopback address")


def non_negative(value):
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return n


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Fake Memberspot REST API (in memory, with state and "
                    "fault injection) for memberspotfs tests.",
        epilog="The accepted API key is read from the environment variable "
               "FAKE_API_KEY only (unset or empty: the documented demo key); "
               "it is never printed. Control endpoints under /_fake/ need no "
               "key: stats, reset-stats, log, config, state, user.")
    p.add_argument("--port", type=non_negative, default=0,
                   help="TCP port; 0 (default) picks a free one")
    p.add_argument("--port-file", help="write the port here (atomically) once listening")
    p.add_argument("--host", type=loopback_host, default="127.0.0.1",
                   help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--users", type=non_negative, default=200,
                   help="number of seeded members (default 200)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    p.add_argument("--latency-ms", type=non_negative, default=0,
                   help="time each API request takes to be answered, the fake's "
                        "own work included (default 0)")
    p.add_argument("--progress-rps", type=non_negative, default=4,
                   help="course-progress requests per second, 0 = unlimited (default 4)")
    p.add_argument("--global-rps", type=non_negative, default=0,
                   help="API requests per second, 0 = unlimited (default 0)")
    p.add_argument("--list-shape", choices=LIST_SHAPES, default="users",
                   help="users/list envelope (default users: the dialect's own, "
                        "{users|data, nextPage}); next_page: {users, next_page}; "
                        "array: a bare array; items: {items, nextPage}, which no "
                        "client knows. Any but users overrides the dialect")
    p.add_argument("--dialect", choices=DIALECTS, default="guessed",
                   help="response shapes (default guessed: shared/API.md's tables; "
                        "evidence: the shapes of its 'Evidence and dialects' "
                        "section). Also config switch 'dialect'")
    p.add_argument("--serve-dir", metavar="DIR",
                   help="answer API requests from the *.json files the mount's "
                        "--probe-save wrote ({endpoint, status, content_type, "
                        "body|text}), one per endpoint, whatever the path "
                        "arguments or query; no file: 404. Ignores --users "
                        "and --dialect; the key is still checked")
    p.add_argument("--quiet", action="store_true", help="no start-up message")
    p.add_argument("--verbose", action="store_true",
                   help="log each API request (method, path, status; never headers) to stderr")
    return p.parse_args(argv)


def write_port_file(path, port):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def main(argv=None):
    opts = parse_args(argv)
    api_key = os.environ.get("FAKE_API_KEY") or DEFAULT_KEY
    saved = None
    if opts.serve_dir is not None:
        try:
            saved = load_saved_answers(opts.serve_dir)
        except ValueError as e:
            sys.stderr.write(f"fake_api: --serve-dir: {e}\n")
            return 2
    started = time.monotonic()
    state = State(0 if saved is not None else opts.users, opts.seed, {
        "latency_ms": opts.latency_ms, "progress_rps": opts.progress_rps,
        "global_rps": opts.global_rps, "list_shape": opts.list_shape,
        "dialect": opts.dialect})
    seeded = time.monotonic() - started
    server_class = FakeServer6 if ":" in opts.host else FakeServer
    try:
        server = server_class((opts.host, opts.port), state, api_key, opts.verbose, saved)
    except OSError as e:
        sys.stderr.write(f"fake_api: cannot listen on {opts.host}:{opts.port}: {e}\n")
        return 2
    port = server.server_address[1]

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    # serve_forever runs in a thread: shutdown() must not be called from the
    # thread that serves, and the main thread has to stay free for signals.
    serving = threading.Thread(target=server.serve_forever,
                               kwargs={"poll_interval": 0.2}, daemon=True)
    serving.start()
    if opts.port_file:
        try:
            write_port_file(opts.port_file, port)
        except OSError as e:
            sys.stderr.write(f"fake_api: cannot write the port file: {e}\n")
            server.shutdown()
            return 2
    if not opts.quiet:
        host = f"[{opts.host}]" if ":" in opts.host else opts.host
        if saved is not None:
            what = f"{len(saved)} saved answers from {opts.serve_dir}"
        else:
            what = (f"{opts.users} users, seed {opts.seed}, dialect {opts.dialect}, "
                    f"seeded in {seeded:.2f}s")
        sys.stderr.write(f"fake_api: listening on http://{host}:{port} ({what})\n")
    while not stop.wait(1.0):
        pass
    server.shutdown()
    server.server_close()
    if opts.port_file:
        try:                                # a stale port file misleads the next run
            os.unlink(opts.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
