/**
 * The engine's progress-stream reading, on recorded lines from Docker and Podman. Pure logic,
 * kept beside the engine mover's integration tests it supports.
 */
import { Readable } from 'node:stream';
import { engineError, pulledDigest, pushedDigest, readEngineStream, EngineStreamError } from '../../../src/registry/movers/engine-stream';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;

function streamOf(...chunks: string[]): NodeJS.ReadableStream {
  return Readable.from(chunks.map((c) => Buffer.from(c)));
}

describe('engine progress streams', () => {
  it('joins lines split across chunks and reads the pushed digest', async () => {
    // Podman 4.3's compat push: no aux record, the digest only in the last status line.
    const events = await readEngineStream(streamOf(
      '{"status":"The push refers to repository [r/x:v1]"}\n{"status":"v1: dig',
      `est: ${D1} size: 664"}\n`,
    ));
    expect(pushedDigest(events)).toEqual({ digest: D1, size: 664 });
  });

  it("prefers Docker's aux record", async () => {
    const events = await readEngineStream(streamOf(
      `{"status":"v1: digest: ${D2} size: 1"}\n{"progressDetail":{},"aux":{"Tag":"v1","Digest":"${D1}","Size":528}}\n`,
    ));
    expect(pushedDigest(events)).toEqual({ digest: D1, size: 528 });
  });

  it("reads Docker's `Digest:` pull line, absent from Podman's stream", async () => {
    expect(pulledDigest(await readEngineStream(streamOf(`{"status":"Digest: ${D1}"}\n{"status":"Status: Downloaded newer image for r/x:v1"}`)))).toBe(D1);
    expect(pulledDigest(await readEngineStream(streamOf('{"status":"Pulling fs layer","id":"aa"}\n')))).toBeUndefined();
  });

  it('rejects on an error line even after a 200', async () => {
    await expect(readEngineStream(streamOf('{"status":"Pulling"}\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n')))
      .rejects.toThrow(EngineStreamError);
    await expect(readEngineStream(streamOf('not json\n'))).rejects.toThrow(/not JSON/);
  });

  it('maps engine failures to codes without credentials', () => {
    const auth = engineError(new EngineStreamError('unauthorized: authentication required for user bob:hunter22'), 'engine push of r/x:v1', ['hunter22']);
    expect(auth).toMatchObject({ code: 'REGISTRY_AUTH_FAILED', temporary: false });
    expect(auth.message).not.toContain('hunter22');
    expect(engineError(new EngineStreamError('received unexpected HTTP status: 503 Service Unavailable'), 'pull', []))
      .toMatchObject({ code: 'REGISTRY_ERROR', temporary: true });
    expect(engineError(Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' }), 'pull', []))
      .toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', temporary: true });
  });
});
