// A slow HTTP file server on 127.0.0.1 for the download checks of e2e.mjs:
// random bytes per file, served at a set rate with Content-Length, ETag,
// Last-Modified and Range (206 / 416, If-Range), so a download has time to
// show its progress and to be cancelled, and can resume.
import crypto from 'node:crypto';
import http from 'node:http';

const CHUNK = 64 * 1024;
const LAST_MODIFIED = new Date(Date.UTC(2026, 0, 1)).toUTCString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until `res` can take more, or is gone; leaves no listener behind.
const drained = (res) => new Promise((resolve) => {
  const done = () => {
    res.off('drain', done);
    res.off('close', done);
    resolve();
  };
  res.on('drain', done);
  res.on('close', done);
});

// `files` maps a name to { size, bytesPerSecond }. Resolves to
// { base, files: { name: { url, size, sha256 } }, requests, close() }.
export async function startSlowUpstream(files) {
  const served = {};
  for (const [name, { size, bytesPerSecond }] of Object.entries(files)) {
    const bytes = crypto.randomBytes(size);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    served[name] = { bytes, sha256, bytesPerSecond, etag: `"${sha256.slice(0, 16)}"` };
  }
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname.slice(1));
    requests.push({ method: req.method, name, range: req.headers.range ?? null });
    const file = served[name];
    if (!file || !['GET', 'HEAD'].includes(req.method)) {
      res.writeHead(file ? 405 : 404).end();
      return;
    }
    const size = file.bytes.length;
    const headers = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: file.etag,
      'Last-Modified': LAST_MODIFIED,
    };
    let [start, end, status] = [0, size - 1, 200];
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === file.etag || ifRange === LAST_MODIFIED)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start >= size || start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    let closed = false;
    res.on('close', () => { closed = true; });
    const pause = (CHUNK / file.bytesPerSecond) * 1000;
    for (let at = start; at <= end && !closed; at += CHUNK) {
      const chunk = file.bytes.subarray(at, Math.min(at + CHUNK, end + 1));
      if (!res.write(chunk)) await drained(res);
      await sleep(pause);
    }
    if (!closed) res.end();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  const info = Object.fromEntries(Object.entries(served).map(([name, f]) =>
    [name, { url: `${base}/${encodeURIComponent(name)}`, size: f.bytes.length, sha256: f.sha256 }]));
  return {
    base,
    files: info,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
