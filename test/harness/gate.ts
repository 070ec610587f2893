/**
 * A forwarding proxy in front of a registry that holds GETs of one blob until the test opens
 * it: a pipeline held deterministically inside its staging step (a worker killed there, a
 * Redis primary killed there).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  url: string;
  /** Resolves when a GET of `blobDigest` arrived while the gate was closed. */
  held: Promise<void>;
  open(): void;
  close(): Promise<void>;
}

/** A forwarding proxy that holds GETs of one blob until opened; everything else passes. */
export async function startGate(upstream: string, blobDigest: string): Promise<Gate> {
  let isOpen = false;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => { onHeld = resolve; });
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const forward = () => {
      const out = http.request(new URL(req.url ?? '/', upstream), { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (!isOpen && req.method === 'GET' && req.url?.endsWith(`/blobs/${blobDigest}`)) {
      // A killed worker's request is gone by the time the gate opens: nothing to forward.
      waiting.push(() => { if (!req.destroyed) forward(); });
      onHeld();
      return;
    }
    forward();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    // Held requests of a killed worker go nowhere (their sockets are gone); later ones pass.
    open: () => { isOpen = true; for (const f of waiting.splice(0)) f(); },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
