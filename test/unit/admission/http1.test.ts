/**
 * The webhook's HTTP/1.1 layer (src/admission/http1.ts) byte by byte over real TLS on loopback:
 * requests in one piece, in pieces and pipelined; chunked bodies; and each refusal (a malformed
 * head, ambiguous framing, oversized heads and bodies, unknown codings and expectations, slow
 * clients) answered with its status and code, the connection closed, and the handler never called.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { serveHttp1, type Http1Request, type Http1Server } from '../../../src/admission/http1';
import { makeCert } from '../../harness/certs';

const cert = makeCert('http1');
const ca = readFileSync(cert.certFile);

interface Answer { status: number; headers: Record<string, string>; body: string }

/** Splits what the server sent into answers (each with a content-length, as the layer writes them). */
function answers(raw: Buffer): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end === -1) throw new Error(`an answer without the end of its head: ${raw.subarray(at).toString()}`);
    const [status, ...lines] = raw.toString('latin1', at, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    const code = Number(status.split(' ')[1]);
    const bodyLength = code === 100 ? 0 : length;
    out.push({ status: code, headers, body: raw.toString('utf8', end + 4, end + 4 + bodyLength) });
    at = end + 4 + bodyLength;
  }
  return out;
}

describe('the webhook HTTP/1.1 layer', () => {
  let server: Http1Server;
  let seen: Http1Request[];
  let errors: unknown[];
  let limits = {};

  const start = async (extra: Record<string, number> = {}, onError?: (err: unknown) => void): Promise<void> => {
    limits = extra;
    seen = [];
    errors = [];
    server = await serveHttp1({
      onError: onError ?? ((err) => errors.push(err)),
      host: '127.0.0.1', port: 0, cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile), limits: { maxBodyBytes: 1024 * 1024, ...limits },
      handle: (r) => {
        seen.push(r);
        if (r.path === '/throw') throw new Error('boom');
        if (r.path === '/big') return { status: 200, json: JSON.stringify({ pad: 'x'.repeat(16 * 1024) }) };
        return { status: 200, json: JSON.stringify({ method: r.method, path: r.path, type: r.contentType ?? null, body: r.body.toString('utf8') }) };
      },
    });
  };

  beforeEach(() => start());
  afterEach(() => server.close());

  const open = async (): Promise<TLSSocket> => {
    const s = connect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' });
    await once(s, 'secureConnect');
    return s;
  };

  /** Writes `pieces` (a few ms apart), then reads until the server closes or `expect` answers came. */
  const exchange = async (pieces: Array<string | Buffer>, expect = 1): Promise<{ answers: Answer[]; closed: boolean }> => {
    const s = await open();
    const chunks: Buffer[] = [];
    let closed = false;
    const done = new Promise<void>((resolve) => {
      const check = (): void => {
        try {
          if (answers(Buffer.concat(chunks)).filter((a) => a.status !== 100).length >= expect) resolve();
        } catch { /* an answer not whole yet */ }
      };
      s.on('data', (c: Buffer) => { chunks.push(c); check(); });
      s.on('end', () => { closed = true; resolve(); });
      s.on('close', () => { closed = true; resolve(); });
      s.on('error', () => resolve());
    });
    for (const p of pieces) {
      s.write(p);
      if (pieces.length > 1) await new Promise((r) => setTimeout(r, 5));
    }
    await done;
    // A closing server ends the connection right after its answer.
    if (!closed) await Promise.race([once(s, 'end'), new Promise((r) => setTimeout(r, 50))]).then(() => { closed = s.readableEnded; });
    s.destroy();
    return { answers: answers(Buffer.concat(chunks)), closed };
  };

  const post = (body: string, headers = ''): string => `POST /admission/validate?timeout=5s HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${headers}\r\n${body}`;

  it('answers a POST with a Content-Length on a kept-alive connection, the path without its query', async () => {
    const r = await exchange([post('{"a":1}') + post('{"b":2}')], 2);
    expect(r.answers.map((a) => JSON.parse(a.body))).toEqual([
      { method: 'POST', path: '/admission/validate', type: 'application/json', body: '{"a":1}' },
      { method: 'POST', path: '/admission/validate', type: 'application/json', body: '{"b":2}' },
    ]);
    expect(r.answers[0].headers).toMatchObject({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(r.answers[0].body)) });
    expect(new Date(r.answers[0].headers.date).getTime()).toBeGreaterThan(0);
    expect(r.answers[0].headers.connection).toBeUndefined();
    expect(r.closed).toBe(false);
  });

  it('puts together a head and a body that arrive a few bytes at a time', async () => {
    const whole = post(`{"image":"${'x'.repeat(3000)}"}`);
    const pieces: string[] = [];
    for (let i = 0; i < whole.length; i += 7 + (i % 500)) pieces.push(whole.slice(i, i + 7 + (i % 500)));
    const r = await exchange(pieces);
    expect(JSON.parse(r.answers[0].body).body).toBe(`{"image":"${'x'.repeat(3000)}"}`);
  });

  it('decodes a chunked body, with chunk extensions and trailers, in pieces', async () => {
    const head = 'POST /admission/mutate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const r = await exchange([head, '5;ext=1\r\n{"a":', '\r\n', 'A\r\n"0123456"}\r\n0\r\nX-Trailer: t\r\n\r\n', post('{}')], 2);
    expect(JSON.parse(r.answers[0].body)).toMatchObject({ path: '/admission/mutate', body: '{"a":"0123456"}' });
    expect(JSON.parse(r.answers[1].body)).toMatchObject({ body: '{}' });
  });

  it('ignores empty lines before a request line, and a GET without a body has an empty one', async () => {
    const r = await exchange(['\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(JSON.parse(r.answers[0].body)).toEqual({ method: 'GET', path: '/readyz', type: null, body: '' });
  });

  it('answers HEAD without the body and closes after Connection: close or an HTTP/1.0 request', async () => {
    const head = await exchange(['HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    expect(head.answers).toHaveLength(1);
    expect(head.answers[0].body).toBe('');
    expect(Number(head.answers[0].headers['content-length'])).toBeGreaterThan(0);
    expect(head.answers[0].headers.connection).toBe('close');
    expect(head.closed).toBe(true);
    const old = await exchange(['GET /healthz HTTP/1.0\r\n\r\n']);
    expect(old.answers[0].status).toBe(200);
    expect(old.closed).toBe(true);
  });

  it('sends an interim 100 to a client that expects it, then the answer', async () => {
    const s = await open();
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.write('POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
    for (let i = 0; i < 100 && !Buffer.concat(chunks).toString().includes('\r\n\r\n'); i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(Buffer.concat(chunks).toString()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    s.write('{}');
    for (let i = 0; i < 100 && answers(Buffer.concat(chunks)).length < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
    expect(answers(Buffer.concat(chunks)).map((a) => a.status)).toEqual([100, 200]);
    s.destroy();
  });

  it('answers 500 INTERNAL when the handler throws, and goes on serving the connection', async () => {
    const r = await exchange(['GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n'], 2);
    expect(r.answers.map((a) => a.status)).toEqual([500, 200]);
    expect(JSON.parse(r.answers[0].body)).toEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    // The client learns nothing; the server's log does.
    expect(errors).toEqual([new Error('boom')]);
  });

  it('reads absolute-form targets for their path, OPTIONS *, and a Content-Length with leading zeros', async () => {
    const r = await exchange([
      'GET https://webhook.portcullis.svc:443/readyz?x=1 HTTP/1.1\r\nHost: webhook.portcullis.svc:443\r\n\r\n',
      'GET http://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n',
      'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 00000000000002\r\n\r\n{}',
    ], 4);
    expect(r.answers.map((a) => JSON.parse(a.body))).toMatchObject([{ method: 'GET', path: '/readyz' }, { path: '/' }, { method: 'OPTIONS', path: '*' }, { path: '/x', body: '{}' }]);
  });

  it('survives an error reporter that throws: the client still gets its 500', async () => {
    await server.close();
    await start({}, () => { throw new Error('the logger broke'); });
    const r = await exchange(['GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n'], 2);
    expect(r.answers.map((a) => a.status)).toEqual([500, 200]);
  });

  it('keeps a header value of 16,000 inner spaces as it is, and ignores Expect from an HTTP/1.0 client', async () => {
    const r = await exchange([`GET /spaces HTTP/1.1\r\nHost: x\r\nX-A: a${' '.repeat(16_000)}b\r\n\r\n`]);
    expect(r.answers[0].status).toBe(200);
    const old = await exchange(['POST /x HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n', '{}']);
    // No interim 100: the only answer is the final one.
    expect(old.answers.map((a) => a.status)).toEqual([200]);
  });

  it('takes a head of exactly the limit however its bytes are split', async () => {
    const base = 'GET /limit HTTP/1.1\r\nHost: x\r\nX-P: ';
    const head = base + 'a'.repeat(16 * 1024 - base.length);
    for (const split of [head.length, head.length + 1, head.length + 2, head.length + 3]) {
      const whole = `${head}\r\n\r\n`;
      const r = await exchange([whole.slice(0, split), whole.slice(split)].filter((p) => p.length > 0));
      expect([split, r.answers[0].status]).toEqual([split, 200]);
    }
    const over = await exchange([`${head}a\r`, '\n\r\n']);
    expect(over.answers[0].status).toBe(431);
  });

  it.each([
    ['nothing', '', '/big'], ['the start of another request', 'G', '/big'],
    // Small answers are all written at once, without back-pressure: they must still be flushed before the end.
    ['the start of another request, small answers', 'G', '/small'],
  ])('answers every pipelined request of a client that ended its side after sending them and %s', async (_what, tail, path) => {
    const s = await open();
    const n = 500;
    s.write(`${`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(n)}${tail}`);
    s.end();
    const chunks: Buffer[] = [];
    // Read late, after the answers backed up.
    await new Promise((r) => setTimeout(r, 200));
    s.on('data', (c: Buffer) => chunks.push(c));
    await once(s, 'close');
    expect((Buffer.concat(chunks).toString('latin1').match(/HTTP\/1\.1 200 OK/g) ?? []).length).toBe(n);
    expect(seen).toHaveLength(n);
  });

  it('drops a request cut short by the end of its connection, unanswered and unhandled', async () => {
    const s = await open();
    s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"a"');
    s.end();
    s.resume();
    await once(s, 'close');
    expect(seen).toEqual([]);
  });

  it('closes, when stopped, connections that never finished their TLS handshake', async () => {
    await server.close();
    await start({ handshakeTimeoutMs: 600_000 });
    const { connect: tcp } = await import('node:net');
    const silent = tcp({ host: '127.0.0.1', port: server.port });
    silent.on('error', () => undefined);
    await once(silent, 'connect');
    const closed = once(silent, 'close');
    await server.close();
    await closed;
    expect(silent.destroyed).toBe(true);
  });

  const refusals: Array<[string, number, string, Array<string | Buffer>]> = [
    ['a malformed request line', 400, 'INVALID_REQUEST', ['POST  /x HTTP/1.1\r\nHost: x\r\n\r\n']],
    ['a request target that is not a path', 400, 'INVALID_REQUEST', ['GET ftp://evil/x HTTP/1.1\r\nHost: x\r\n\r\n']],
    ['HTTP/2 prior knowledge', 505, 'HTTP_VERSION_UNSUPPORTED', ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']],
    ['another HTTP version', 505, 'HTTP_VERSION_UNSUPPORTED', ['GET / HTTP/1.2\r\nHost: x\r\n\r\n']],
    ['no Host', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\n\r\n']],
    ['two Hosts', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n']],
    ['two Content-Lengths', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}']],
    ['a Content-Length that is not a number', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}']],
    ['a Content-Length padded with a no-break space', 400, 'INVALID_REQUEST', [Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\xa0\r\n\r\n{}', 'latin1')]],
    ['both Content-Length and Transfer-Encoding (smuggling)', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']],
    ['a transfer coding other than chunked', 501, 'TRANSFER_CODING_UNSUPPORTED', ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n']],
    ['an obsolete folded header', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n']],
    ['whitespace before a header colon', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost : x\r\n\r\n']],
    ['a control character in a header value', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n']],
    ['a bare LF inside the head', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n']],
    ['an expectation other than 100-continue', 417, 'EXPECTATION_FAILED', ['POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n']],
    ['a head beyond 16 KiB', 431, 'HEADERS_TOO_LARGE', [`GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(17 * 1024)}`]],
    ['a declared body beyond the limit, before it is sent', 413, 'BODY_TOO_LARGE', ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n']],
    ['an absurd Content-Length', 413, 'BODY_TOO_LARGE', [`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${'9'.repeat(40)}\r\n\r\n`]],
    ['chunks beyond the body limit', 413, 'BODY_TOO_LARGE', ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80000\r\n', Buffer.alloc(0x80000, 0x61), '\r\n80001\r\n']],
    ['a chunk size after whitespace', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n \t2\r\n{}\r\n0\r\n\r\n']],
    ['a Host that is not an authority', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: a b/c@d\r\n\r\n']],
    ['a Host with a stray bracket', 400, 'INVALID_REQUEST', ['GET / HTTP/1.1\r\nHost: h[\r\n\r\n']],
    ['an absolute-form target with an empty host', 400, 'INVALID_REQUEST', ['POST http:///admission/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n']],
    ['an absolute-form target with userinfo', 400, 'INVALID_REQUEST', ['GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n']],
    ['a chunk size that is not hex', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']],
    ['a chunk longer than its size', 400, 'INVALID_REQUEST', ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n']],
    ['a body sent a byte per chunk', 400, 'INVALID_REQUEST', [`POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'1\r\na\r\n'.repeat(20_000)}0\r\n\r\n`]],
    ['binary garbage', 400, 'INVALID_REQUEST', [Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a])]],
  ];

  it.each(refusals)('refuses %s with %i %s, closes the connection, and never calls the handler', async (_what, status, code, pieces) => {
    const r = await exchange([...pieces, post('{"next":1}')]);
    expect(r.answers).toHaveLength(1);
    expect(r.answers[0].status).toBe(status);
    expect(JSON.parse(r.answers[0].body)).toMatchObject({ error: { code } });
    expect(r.answers[0].headers.connection).toBe('close');
    expect(r.closed).toBe(true);
    // Nothing was handled: not the refused request, not what followed it on the connection.
    expect(seen).toEqual([]);
  });

  it('answers 408 to a request that does not arrive whole within the request timeout', async () => {
    await server.close();
    await start({ requestTimeoutMs: 300 });
    const r = await exchange(['POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"a"']);
    expect(r.answers.map((a) => [a.status, JSON.parse(a.body).error.code])).toEqual([[408, 'REQUEST_TIMEOUT']]);
    expect(r.closed).toBe(true);
    expect(seen).toEqual([]);
  });

  it('closes a kept-alive connection left idle past the idle timeout', async () => {
    await server.close();
    await start({ idleTimeoutMs: 200 });
    const s = await open();
    s.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    s.resume();
    await once(s, 'close');
    expect(seen.map((r) => r.path)).toEqual(['/a']);
  });

  it('stops reading from a client that does not read its answers, and goes on once it does, with no timeout for its slowness', async () => {
    await server.close();
    await start({ requestTimeoutMs: 300 });
    const s = await open();
    const n = 3000;
    // 3000 pipelined requests for 16 KiB answers each (48 MiB): far beyond what the sockets buffer.
    s.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n));
    let handled = -1;
    for (let i = 0; i < 100 && handled !== seen.length; i += 1) {
      handled = seen.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen.length).toBeLessThan(n);
    // Longer than the request timeout: the requests waiting behind the unread answers came whole.
    await new Promise((r) => setTimeout(r, 600));
    const chunks: Buffer[] = [];
    let got = 0;
    s.on('data', (c: Buffer) => { chunks.push(c); });
    for (let i = 0; i < 400 && got < n; i += 1) {
      await new Promise((r) => setTimeout(r, 25));
      got = (Buffer.concat(chunks).toString('latin1').match(/HTTP\/1\.1 200 OK/g) ?? []).length;
    }
    expect(got).toBe(n);
    expect(seen).toHaveLength(n);
    s.destroy();
  });

  it('survives a plain-HTTP client and a reset mid-request, and serves the next connection', async () => {
    const { connect: tcp } = await import('node:net');
    const plain = tcp({ host: '127.0.0.1', port: server.port });
    plain.on('error', () => undefined);
    plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(plain, 'close');
    const s = await open();
    s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"');
    s.destroy();
    const r = await exchange([post('{}')]);
    expect(r.answers[0].status).toBe(200);
  });
});
