// The release host of the Fetch catalog checks of e2e.mjs: an HTTP server on
// the loopback address and port of BTY_RELEASE_CATALOG_URL (scripts/test.sh
// picks the port and starts bty-web with that URL), answering GET of that
// URL's path with whatever the test last put there, and 404 elsewhere.
import http from 'node:http';

// Resolves to { url, requests, serve(status, body), close() } once it listens.
export async function startReleaseCatalog(url) {
  const where = new URL(url);
  if (where.protocol !== 'http:' || where.hostname !== '127.0.0.1' || !where.port) {
    throw new Error(`BTY_RELEASE_CATALOG_URL must be http://127.0.0.1:<port>/..., not ${url}`);
  }
  let answer = { status: 404, body: '' };
  const requests = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    requests.push({ method: req.method, path });
    const { status, body } = req.method === 'GET' && path === where.pathname
      ? answer
      : { status: 404, body: '' };
    res.writeHead(status, { 'Content-Type': 'application/toml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`cannot listen on ${where.host} for ${url}: ${e.message}`)));
    server.listen(Number(where.port), where.hostname, resolve);
  });
  return {
    url,
    requests,
    serve: (status, body) => { answer = { status, body }; },
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
