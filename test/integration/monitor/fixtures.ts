/**
 * Fixtures of the monitor tests: an OSV folder without the advisory that matches the
 * vulnerable image (so it is approved clean), the real builtin scanner on it, a movable clock,
 * a verifying webhook receiver, and "new vulnerability data": the same image scanned again
 * with the advisory back, stored where findings live, and `findings.updated` published (what
 * the inventory workstream's re-match does; BOARD contract).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { CloudEvent } from '../../../src/events';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { RedisScanResultStore } from '../../../src/store';
import type { TestApp } from '../../harness/app';
import { lowAdvisory, privateOsvDb } from '../flow/scan-fixtures';
export { until } from '../../harness/proc';

export const SCANNER = 'osv';

export const LOW_ADVISORY = 'PCS-E2E-LOW-0001';

/**
 * Two OSV folders, both with a low advisory of the image's package (which policy lets pass):
 * `clean` lacks the critical libgate advisory, `full` has it.
 */
export function osvFolders(): { clean: string; full: string } {
  const clean = privateOsvDb();
  const full = privateOsvDb();
  rmSync(path.join(clean, 'Debian', 'PCS-E2E-2025-0001.json'));
  for (const dir of [clean, full]) writeFileSync(path.join(dir, 'Debian', `${LOW_ADVISORY}.json`), lowAdvisory(LOW_ADVISORY));
  return { clean, full };
}

export async function scanner(osvPath: string): Promise<BuiltinScanner> {
  const s = new BuiltinScanner({ name: SCANNER, osvPath });
  await s.check();
  return s;
}

/** A clock the test moves (grace deadlines, waiver expiry): no sleeps. */
export function movableClock(start = Date.now()): { now: () => Date; advance(ms: number): void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => { t += ms; } };
}

/** Re-scans the approved image with `osvPath` and publishes `findings.updated`, as a re-match would. */
export async function newFindings(app: TestApp, team: string, image: string, digest: string, osvPath: string): Promise<void> {
  const approval = await app.services.approvals.get(team, image, digest);
  if (!approval) throw new Error('no approval');
  const s = await scanner(osvPath);
  const report = await s.scan({ registry: app.services.registry.internal, repository: approval.internalRepository, digest, registryUrl: app.services.registry.internalUrl });
  await new RedisScanResultStore(app.redis, app.config.redis.prefix).put(digest, report);
  await app.services.events.publish({ type: 'findings.updated', actor: 'system', target: `image/${digest}`, details: { team, repository: image, digest, scanner: SCANNER } });
}

export interface Receiver { server: Server; url: string; secret: string; got: CloudEvent[]; bad: number }

/** A webhook receiver verifying every delivery with the `standardwebhooks` package. */
export async function receiver(): Promise<Receiver> {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const wh = new Webhook(secret);
  const state: Receiver = { server: createServer(), url: '', secret, got: [], bad: 0 };
  state.server.on('request', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      try {
        state.got.push(wh.verify(body, req.headers as Record<string, string>) as CloudEvent);
        res.writeHead(204).end();
      } catch {
        state.bad += 1;
        res.writeHead(400).end();
      }
    });
  });
  state.server.listen(0, '127.0.0.1');
  await once(state.server, 'listening');
  state.url = `http://127.0.0.1:${(state.server.address() as { port: number }).port}/hook`;
  return state;
}

/** Requests `image` for payments as dev, approves it as approver; returns the approved digest. */
export async function approveImage(app: TestApp, image: string): Promise<{ id: string; digest: string }> {
  const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'monitor test' });
  if (created.status !== 202) throw new Error(`create answered ${created.status}: ${created.text}`);
  const id = created.body.id as string;
  const awaiting = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
  if (awaiting.status !== 'awaiting_approval') throw new Error(`request ${awaiting.status}: ${JSON.stringify(awaiting.error)}`);
  const approved = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'clean' });
  if (approved.status !== 200 && approved.status !== 202) throw new Error(`approve answered ${approved.status}: ${approved.text}`);
  const done = await app.waitForStatus(id, ['approved', 'failed']);
  if (done.status !== 'approved') throw new Error(`request ${done.status}`);
  return { id, digest: done.stagedDigest ?? done.source.digest };
}
