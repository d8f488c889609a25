# Upstream 3 of the zoo: python's http.server serving a directory, with
# "clean URLs" (/admin serves admin.html when there is no file "admin").
# Its semantics differ from nginx's: it percent-decodes the whole path
# (%2f included) and then applies posixpath.normpath (which merges "//"
# before it resolves ".."), and it drops any segment that is still "..".
#
#   python3 static_server.py PORT ROOT
#
# Files under ROOT/admin* and ROOT/transfer* are the protected resources:
# their answers carry X-Zoo-Protected. Every answer echoes X-Zoo-Target and
# X-Zoo-Saw-* like the other upstreams (tests/gateway/upstreams/).
import functools
import http.server
import os
import sys
import urllib.parse

SAW = ['X-Stepup-Subject', 'X-Stepup-Acr', 'X-Stepup-Amr', 'X-Stepup-Session', 'Cookie', 'Authorization']


class Handler(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path):
        p = super().translate_path(path)
        plain = path.split('?', 1)[0].split('#', 1)[0]
        if not plain.endswith('/') and not os.path.isfile(p) and os.path.isfile(p + '.html'):
            p += '.html'
        return p

    def end_headers(self):
        rel = os.path.relpath(self.translate_path(self.path), self.directory)
        if os.path.exists(os.path.join(self.directory, rel)):
            top = rel.split(os.sep)[0]
            if top in ('admin', 'admin.html', 'transfer', 'transfer.html'):
                self.send_header('X-Zoo-Protected', top.split('.')[0])
        self.send_header('X-Zoo-Target', urllib.parse.quote(self.path, safe="/%?=&;:@!$'()*+,~#"))
        for h in SAW:
            v = self.headers.get(h)
            if v is not None:
                self.send_header('X-Zoo-Saw-' + h.replace('X-Stepup-', ''), urllib.parse.quote(v, safe=''))
        super().end_headers()

    def log_message(self, fmt, *args):
        pass


if __name__ == '__main__':
    port, root = int(sys.argv[1]), sys.argv[2]
    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), functools.partial(Handler, directory=root))
    server.serve_forever()
