#!/usr/bin/python3
"""Write test/fixtures/cookie/tornado-vectors.json from the installed Tornado.

Run with the system interpreter so Debian's python3-tornado is imported:

    /usr/bin/python3 scripts/tornado-vectors.py [OUTFILE]

These vectors add to the reference set copied in reference-vectors.json: edge
cases the reference does not cover (every base64 padding length, lenient
length fields, odd base64 inside validly signed values, version detection,
key versions, float clocks) and Python's cookie quoting, which decides
whether Tornado reads what we write. Every expected result is what Tornado
itself returned; exceptions are recorded by name (our implementation returns
null there, see docs/tornado.md). Output is deterministic.
"""

import base64
import http.cookies
import json
import logging
import os
import sys
import types
from unittest import mock

import tornado
import tornado.web as web
from tornado import httputil

logging.basicConfig(level=logging.CRITICAL)  # v1 rejections log warnings

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    HERE, "..", "test", "fixtures", "cookie", "tornado-vectors.json")

T = 1700000000
DAY = 86400
SECRETS = {
    "ascii": "__TODO:_GENERATE_YOUR_OWN_RANDOM_VALUE_HERE__",
    "long": "k" * 64,
    "raw_bytes": b"\x00\x01\x02binary-secret\xff\xfe",
}
DICT = {0: "old-key-zero", 7: "key-seven", 123: "key-one-two-three"}


def hexof(b):
    return b.hex()


def secret_json(secret):
    if isinstance(secret, dict):
        return {"dict": {str(k): secret_json(v) for k, v in secret.items()}}
    if isinstance(secret, bytes):
        return {"hex": secret.hex()}
    return {"str": secret}


def decode(secret, name, value, clock, **kw):
    try:
        r = web.decode_signed_value(secret, name, value, clock=lambda: clock, **kw)
    except Exception as e:
        return {"exception": type(e).__name__}
    return {"hex": None if r is None else r.hex()}


def signed_values():
    out = []
    values = [bytes(range(n)) for n in range(0, 8)] + [
        "plain".encode(), "\u00e9\u2603\U0001F600".encode(), b"\xff" * 5]
    names = ["u", "user", "a|b:c", "ten_chars_", "x" * 120]
    clocks = [T, T + 0.999, 9999999999, 10000000000]
    for sid, secret in SECRETS.items():
        for i, value in enumerate(values):
            name = names[i % len(names)]
            clock = clocks[i % len(clocks)]
            for version in (1, 2):
                signed = web.create_signed_value(secret, name, value, version=version, clock=lambda: clock)
                out.append({"secret": secret_json(secret), "name": name, "value_hex": hexof(value),
                            "clock": clock, "version": version, "signed": signed.decode("latin1"),
                            "decodes": decode(secret, name, signed, int(clock))})
    for kv in sorted(DICT):
        for value in [b"", b"hello", "\u2603".encode()]:
            signed = web.create_signed_value(DICT, "user", value, key_version=kv, clock=lambda: T)
            out.append({"secret": secret_json(DICT), "name": "user", "value_hex": hexof(value), "clock": T,
                        "version": 2, "key_version": kv, "signed": signed.decode("latin1"),
                        "decodes": decode(DICT, "user", signed, T),
                        "signature_key_version": web.get_signature_key_version(signed)})
    # With a plain secret Tornado still writes the key version it is given.
    signed = web.create_signed_value(SECRETS["ascii"], "user", b"x", key_version=5, clock=lambda: T)
    out.append({"secret": secret_json(SECRETS["ascii"]), "name": "user", "value_hex": "78", "clock": T,
                "version": 2, "key_version": 5, "signed": signed.decode("latin1"),
                "decodes": decode(SECRETS["ascii"], "user", signed, T)})
    return out


def v2_crafted(secret, fields, name="user"):
    """A v2 value with hand-made (possibly odd) fields, signed as the key holder would."""
    body = b"2|" + b"|".join(fields) + b"|"
    return body + web._create_signature_v2(secret, body)


def v1_crafted(secret, payload, stamp, name="user"):
    return b"|".join([payload, stamp, web._create_signature_v1(secret, name, payload, stamp)])


def decode_cases():
    S = SECRETS["ascii"]
    cases = []

    def add(description, value, clock=T, secret=S, name="user", **kw):
        raw = value if isinstance(value, bytes) else value.encode()
        cases.append({"description": description, "secret": secret_json(secret), "name": name,
                      "value": raw.decode("latin1"), "clock": clock, **kw,
                      "expected": decode(secret, name, raw, clock, **kw)})

    b64 = [b"YQ==", b"YQ=", b"YQ", b"Y", b"YQ=Jj", b"YQ==Jj", b"YW=JjZA==", b"Y=Q==", b"=YQ==",
           b"YQ-_", b"Y Q = =", b"YWJj====", b"YWI=x", b"YR==", b"YQ=x=", b"Y=Q=", b"YWJ=j",
           b"YQ=JjZA=", b"YQ=JjZA==", b"YW\xffJj", b"\xc3\xa9YQ==", b"////", b"+/+/"]
    for field in b64:
        add("v2 validly signed, base64 field %r" % field.decode("latin1"),
            v2_crafted(S, [b"1:0", b"10:%d" % T, b"4:user", b"%d:%s" % (len(field), field)]))
        add("v1 validly signed, base64 payload %r" % field.decode("latin1"),
            v1_crafted(S, field, b"%d" % T) if b"|" not in field else b"")
    for label, kv, ts, nm, val in [
        ("length with plus sign", b"+1:0", b"10:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("length with leading space", b" 1:0", b"10:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("length with underscore", b"1:0", b"1_0:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("length with leading zero", b"01:0", b"10:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("length -0", b"1:0", b"10:%d" % T, b"4:user", b"-0:"),
        ("negative length -2", b"1:0", b"10:%d" % T, b"4:user", b"-2:"),
        ("key version +0", b"2:+0", b"10:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("key version not a number", b"1:x", b"10:%d" % T, b"4:user", b"8:aGVsbG8="),
        ("timestamp with spaces", b"1:0", b"12: %d " % T, b"4:user", b"8:aGVsbG8="),
        ("timestamp not a number", b"1:0", b"3:abc", b"4:user", b"8:aGVsbG8="),
        ("timestamp in the far future", b"1:0", b"10:9999999999", b"4:user", b"8:aGVsbG8="),
        ("length too long", b"1:0", b"10:%d" % T, b"40:user", b"8:aGVsbG8="),
        ("field without a colon", b"1:0", b"10:%d" % T, b"user", b"8:aGVsbG8="),
    ]:
        add("v2 validly signed, " + label, v2_crafted(S, [kv, ts, nm, val]))
    add("v2 with an empty signature", b"2|1:0|10:%d|4:user|8:aGVsbG8=|" % T)
    good = web.create_signed_value(S, "user", "hello", clock=lambda: T)
    add("v2 with a trailing newline", good + b"\n")
    add("v2 with a newline inside (not a version prefix, so v1)", good[:10] + b"\n" + good[10:])
    add("version prefix 02| is v1", b"0" + good)
    add("version prefix 999| is an unknown version", b"999" + good[1:])
    add("version prefix 1| with three parts", b"1|%d|abc" % T)
    add("v1 validly signed, timestamp with a leading space", v1_crafted(S, b"aGVsbG8=", b" %d" % T))
    add("v1 validly signed, timestamp not a number", v1_crafted(S, b"aGVsbG8=", b"abc"))
    add("v1 with four parts", b"a|b|c|d")
    add("v1 with two parts", b"a|b")
    v1 = web.create_signed_value(S, "user", "hello", version=1, clock=lambda: T)
    add("v1 under a record secret", v1, secret={0: S})
    add("garbage under a record secret", b"a|b|c", secret={0: S})
    dv = web.create_signed_value(DICT, "user", "hello", key_version=123, clock=lambda: T)
    add("record secret, key version 123", dv, secret=DICT)
    add("record secret, key version 123 after it was removed", dv, secret={0: DICT[0], 7: DICT[7]})
    add("record secret value read with the wrong name", dv, secret=DICT, name="admin")
    add("name with separators", web.create_signed_value(S, "a|b:c", "x", clock=lambda: T), name="a|b:c")
    add("name with separators read as another name", web.create_signed_value(S, "a|b:c", "x", clock=lambda: T),
        name="a|b")
    for days, age in [(0.25, 21600), (0.25, 21601), (2, 2 * DAY), (2, 2 * DAY + 1)]:
        add("v2 max_age_days=%s at age %d s" % (days, age), good, clock=T + age, max_age_days=days)
        add("v1 max_age_days=%s at age %d s" % (days, age), v1, clock=T + age, max_age_days=days)
    add("v2 with min_version=2", good, min_version=2)
    add("v1 with min_version=2", v1, min_version=2)
    return cases


def cookie_quoting():
    samples = ["abc", "", "a b", "a;b", "a,b", 'a"b', "a\\b", "\u00e9", "\x00\x1f\x7f", "\u00ff",
               "\u2603", "(){}[]<>=?@/", "tab\there", "%7C", "a:b|c~!#$&'*+-.^_`",
               "2|1:0|10:1700000000|4:user|8:aGVsbG8=|b76b", "eA==|1700000000|dc54"]
    quote = [{"value": s, "quoted": http.cookies._quote(s)} for s in samples]
    raw = ['"abc"', '"a\\073b"', '"\\400"', '"\\"', '"', '"a', 'a"', '""', '"\\\\"', '"\\q"',
           '"\\12"', '"\\0123"', 'a%7Cb', '"\\351t\\351"', '"a\\\nb"', '"2|1:0|4:YQ==|x"']
    unquote = [{"raw": r, "value": httputil.parse_cookie("k=" + r).get("k")} for r in raw]
    return {"quote": quote, "unquote": unquote}


class _Clock:
    """Pins time.time and tornado.web's datetime so set_secure_cookie is reproducible."""

    def __enter__(self):
        class Fixed(web.datetime.datetime):
            @classmethod
            def utcnow(cls):
                return web.datetime.datetime.utcfromtimestamp(T)
        shim = types.SimpleNamespace(datetime=Fixed, timedelta=web.datetime.timedelta)
        self.patches = [mock.patch("time.time", return_value=float(T)), mock.patch.object(web, "datetime", shim)]
        for p in self.patches:
            p.start()

    def __exit__(self, *a):
        for p in reversed(self.patches):
            p.stop()


def set_cookie_headers():
    out = []
    for name, value, kw in [
        ("user", "hello", {"expires_days": 0.5}),
        ("user", "\u2603", {"samesite": "Strict", "httponly": True}),
        ("sess", "hello", {"version": 1, "path": "/x"}),
        ("a|b:c", "v", {}),
    ]:
        with _Clock():
            app = web.Application([], cookie_secret=SECRETS["ascii"])
            conn = mock.Mock()
            conn.context = types.SimpleNamespace(remote_ip="127.0.0.1", protocol="http")
            request = httputil.HTTPServerRequest(method="GET", uri="/", headers=httputil.HTTPHeaders(),
                                                 connection=conn)
            handler = web.RequestHandler(app, request)
            handler.set_signed_cookie(name, value, **kw) if hasattr(handler, "set_signed_cookie") \
                else handler.set_secure_cookie(name, value, **kw)
            lines = [m.OutputString(None) for m in handler._new_cookie.values()]
        out.append({"now": T, "secret": secret_json(SECRETS["ascii"]), "name": name, "value": value,
                    "kwargs": kw, "set_cookie": lines})
    return out


def main():
    data = {
        "source": "scripts/tornado-vectors.py, run with /usr/bin/python3 and Debian python3-tornado",
        "tornado_version": tornado.version,
        "python": sys.version.split()[0],
        "signed_values": signed_values(),
        "decode_cases": decode_cases(),
        "cookie_quoting": cookie_quoting(),
        "set_cookie_headers": set_cookie_headers(),
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
