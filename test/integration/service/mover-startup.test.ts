/**
 * The built service with `mover.type: engine`: workers ping the engine at start, so a dead
 * socket stops the process with one line naming `mover.engineSocket`; a live one (a real Podman
 * service) lets it start; an API-only process never touches the socket.
 */
import path from 'node:path';
import { startPodman } from '../../harness/podman';
import { freePort, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { logLines, startService } from './spawn-service';

describe('service start-up with the engine mover', () => {
  const svc = services();
  const base = async () => ({
    redis: { url: svc.redis.url, prefix: uniqueName('mover-startup') },
    internalRegistry: { url: svc.internal.url },
    server: { port: await freePort() },
    scanners: [],
  });
  const deadSocket = () => path.join(svc.tmp, `${uniqueName('no-engine')}.sock`);

  it('stops with one line naming mover.engineSocket when the engine does not answer', async () => {
    const socket = deadSocket();
    const p = startService({ ...(await base()), mover: { type: 'engine', engineSocket: socket } });
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`config: mover.engineSocket: the Docker engine at ${socket} does not answer a ping (ENOENT)`);
    expect(logLines(p)).not.toContainEqual(expect.objectContaining({ message: 'portcullis started' }));
  });

  it('starts with a live engine (unix:// socket) and reports the mover', async () => {
    const podman = await startPodman({ insecureRegistries: [svc.internal.host], name: 'podman-startup' });
    const p = startService({ ...(await base()), mover: { type: 'engine', engineSocket: `unix://${podman.socketPath}` } });
    try {
      await waitFor(async () => logLines(p).some((l) => l.message === 'portcullis started'), 'service started', 20000);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      await podman.stop();
    }
    expect(await p.exited).toBe(0);
    expect(logLines(p)).toContainEqual(expect.objectContaining({ message: 'mover ready', mover: 'engine', preservesDigest: false }));
  });

  it('does not ping the engine in an API-only process (it never moves images)', async () => {
    const config = await base();
    const p = startService({ ...config, mover: { type: 'engine', engineSocket: deadSocket() } }, ['--role', 'api']);
    try {
      const url = `http://127.0.0.1:${(config.server as { port: number }).port}/healthz`;
      await waitFor(async () => (await fetch(url).then((r) => r.status, () => 0)) === 200, 'api healthz', 20000);
      // The API answers before start-up has finished (metrics, audit drain, the shutdown steps):
      // the signal waits for the end of start-up, as it would be graceful only then.
      await waitFor(async () => logLines(p).some((l) => l.message === 'portcullis started'), 'service started', 20000);
    } finally {
      p.child.kill('SIGTERM');
    }
    // Exit code, stderr and error lines together, so that a failure says which shutdown step failed.
    const errors = () => logLines(p).filter((l) => l['log.level'] === 'error' || l['log.level'] === 'fatal');
    expect({ code: await p.exited, stderr: p.stderr(), errors: errors() }).toEqual({ code: 0, stderr: '', errors: [] });
    expect(logLines(p)).not.toContainEqual(expect.objectContaining({ message: 'mover ready' }));
  });
});
