// A raw HTTP/1.1 client for the bypass tests. fetch() and http.request()
// normalise or refuse the very request targets these tests must send
// (`/x/../admin`, `/admin\users`, `http://other/admin`, tabs), so this writes
// the request line and headers byte for byte over a TCP socket and parses the
// answer just enough: status, headers (repeats kept), body by Content-Length,
// chunked, or until close.
//
// One request per connection (`Connection: close`); no keep-alive, no
// pipelining. Resolves {status, headers, body, raw}; status 0 when the peer
// closed without an answer (a refusal at the gateway's parser counts as one).
import net from 'node:net';

// rawRequest(port, {method, target, headers: [[name, value], ...], body})
export function rawRequest(port, { method = 'GET', target = '/', headers = [], body = '', timeoutMs = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const chunks = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms for ${method} ${target}`));
    }, timeoutMs);
    sock.on('connect', () => {
      let head = `${method} ${target} HTTP/1.1\r\n`;
      const lower = headers.map(([n]) => n.toLowerCase());
      if (!lower.includes('host')) head += 'Host: localhost\r\n';
      for (const [n, v] of headers) head += `${n}: ${v}\r\n`;
      if (body && !lower.includes('content-length')) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      head += 'Connection: close\r\n\r\n';
      sock.write(Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from(body)]));
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', (err) => {
      // A reset after a partial answer is still an answer.
      if (chunks.length) return;
      clearTimeout(timer);
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve({ status: 0, headers: {}, body: '', raw: '' });
      else reject(err);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks), method));
    });
  });
}

function parse(buf, method) {
  const raw = buf.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', raw };
  const lines = raw.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    (headers[k] ??= []).push(l.slice(i + 1).trim());
  }
  let rest = buf.subarray(Buffer.byteLength(raw.slice(0, end + 4), 'latin1'));
  if (method === 'HEAD') rest = Buffer.alloc(0);
  else if ((headers['transfer-encoding'] ?? []).some((v) => /chunked/i.test(v))) rest = dechunk(rest);
  else if (headers['content-length']) rest = rest.subarray(0, Number(headers['content-length'][0]));
  return { status: m ? Number(m[1]) : 0, headers, body: rest.toString('utf8'), raw };
}

function dechunk(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const nl = buf.indexOf('\r\n', i);
    if (nl < 0) break;
    const n = parseInt(buf.subarray(i, nl).toString('latin1'), 16);
    if (!n) break;
    out.push(buf.subarray(nl + 2, nl + 2 + n));
    i = nl + 2 + n + 2;
  }
  return Buffer.concat(out);
}
