#!/usr/bin/python3
"""A real Tornado app with xsrf_cookies=True, for the interop test.

Run with Debian's python3-tornado: /usr/bin/python3 scripts/tornado-xsrf-server.py VERSION
It listens on a free 127.0.0.1 port, prints "PORT <n>" and serves until killed
or until its stdin closes (so it never outlives the test that started it):
  GET  /token   -> the xsrf_token as text (Tornado sets the _xsrf cookie if needed)
  POST /submit  -> "ok" when Tornado's own check_xsrf_cookie passes, else its 403
"""
import asyncio
import sys

import tornado.web
from tornado.netutil import bind_sockets
from tornado.httpserver import HTTPServer


class Token(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write(self.xsrf_token)


class Submit(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "text/plain")
        self.write("ok")


async def main(version):
    app = tornado.web.Application(
        [(r"/token", Token), (r"/submit", Submit)],
        xsrf_cookies=True,
        xsrf_cookie_version=version,
    )
    sockets = bind_sockets(0, "127.0.0.1")
    HTTPServer(app).add_sockets(sockets)
    print("PORT %d" % sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    # stdin closing (the test ended, even by a crash) stops the server.
    await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
