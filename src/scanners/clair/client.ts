/**
 * The calls Portcullis makes to Clair v4 (indexer and matcher, API 1.2.0), each answering in
 * the spec's terms. Orchestration (polling, re-indexing) is in adapter.ts.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../lib/errors';
import {
  ClairMediaTypes,
  indexReportSchema,
  indexStateSchema,
  updateOperationsSchema,
  vulnerabilityReportSchema,
  type ClairManifest,
  type IndexReport,
  type VulnerabilityReport,
} from './api';
import type { ClairScannerConfig } from './config';
import { baseUrl, parseBody, send, unexpectedStatus, type HttpCall, type HttpResult } from '../remote';
import type { HttpClient } from '../../lib/http';
import { PskSigner } from './psk';

/** Outcome of `GET /matcher/api/v1/vulnerability_report/{digest}`. */
export type ReportAnswer =
  | { kind: 'report'; report: VulnerabilityReport }
  /** 202: the matcher is not initialized yet (its vulnerability database is loading). */
  | { kind: 'not-ready' }
  /** 404: Clair has no index report for the digest (never indexed, or garbage-collected). */
  | { kind: 'not-indexed' };

export class ClairClient {
  private readonly indexer: string;
  private readonly matcher: string;
  private readonly psk?: PskSigner;

  constructor(private readonly config: ClairScannerConfig, private readonly http?: HttpClient) {
    this.indexer = baseUrl(config.indexerUrl ?? config.url ?? '');
    this.matcher = baseUrl(config.matcherUrl ?? config.url ?? '');
    if (config.psk) this.psk = new PskSigner(config.psk, config.pskIssuer, () => Date.now());
  }

  /** One call with the PSK token when configured (the notifier's API is behind the same auth). */
  async call(call: Omit<HttpCall, 'timeoutMs'>): Promise<HttpResult> {
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (this.psk) headers.authorization = this.psk.authorization();
    return send({ ...call, headers, timeoutMs: this.config.requestTimeoutMs }, this.http);
  }

  /**
   * `POST /indexer/api/v1/index_report`. Clair indexes synchronously and answers 201 with
   * the IndexReport; a failed index is `state: IndexError, success: false, err` (older
   * Clair answers 201 so, newer ones a 5xx: see {@link ClairClient.indexReport}).
   */
  async index(manifest: ClairManifest): Promise<IndexReport> {
    const what = `Clair index_report ${manifest.hash}`;
    const res = await this.call({
      method: 'POST',
      url: `${this.indexer}/indexer/api/v1/index_report`,
      headers: { 'content-type': ClairMediaTypes.manifest },
      body: JSON.stringify(manifest),
      what,
    });
    if (res.status !== 201 && res.status !== 200) throw unexpectedStatus(res, what);
    return parseBody(indexReportSchema, res, what);
  }

  /** `GET /indexer/api/v1/index_report/{digest}`; null on 404. */
  async indexReport(digest: string): Promise<IndexReport | null> {
    const what = `Clair index_report/${digest}`;
    const res = await this.call({ method: 'GET', url: `${this.indexer}/indexer/api/v1/index_report/${digest}`, what });
    if (res.status === 404) return null;
    if (res.status !== 200) throw unexpectedStatus(res, what);
    return parseBody(indexReportSchema, res, what);
  }

  /** `GET /matcher/api/v1/vulnerability_report/{digest}`: 200 (older Clair) or 201 is done. */
  async vulnerabilityReport(digest: string): Promise<ReportAnswer> {
    const what = `Clair vulnerability_report/${digest}`;
    const res = await this.call({ method: 'GET', url: `${this.matcher}/matcher/api/v1/vulnerability_report/${digest}`, what });
    if (res.status === 202) return { kind: 'not-ready' };
    if (res.status === 404) return { kind: 'not-indexed' };
    if (res.status !== 200 && res.status !== 201) throw unexpectedStatus(res, what);
    const report = parseBody(vulnerabilityReportSchema, res, what);
    if (report.manifest_hash !== digest) {
      throw new AppError('SCAN_FAILED', `${what}: the report is for ${report.manifest_hash}, not the digest asked for`);
    }
    return { kind: 'report', report };
  }

  /** `GET /indexer/api/v1/index_state`: opaque; changes when the indexer's scanners change. */
  async indexState(): Promise<string> {
    const what = 'Clair index_state';
    const res = await this.call({ method: 'GET', url: `${this.indexer}/indexer/api/v1/index_state`, what });
    if (res.status !== 200) throw unexpectedStatus(res, what);
    return parseBody(indexStateSchema, res, what).state;
  }

  /**
   * A fingerprint of the matcher's vulnerability data: the refs of the latest update
   * operation of every updater (`GET /matcher/api/v1/internal/update_operation?latest=true`,
   * internal in the spec). Null when this Clair does not serve it.
   */
  async vulnerabilityDataVersion(): Promise<string | null> {
    const what = 'Clair update_operation';
    const res = await this.call({
      method: 'GET',
      url: `${this.matcher}/matcher/api/v1/internal/update_operation?kind=vulnerability&latest=true`,
      what,
    });
    if (res.status === 404 || res.status === 405 || res.status === 501) return null;
    if (res.status !== 200) throw unexpectedStatus(res, what);
    const ops = parseBody(updateOperationsSchema, res, what);
    const refs = Object.entries(ops)
      .flatMap(([updater, list]) => list.map((op) => `${updater}=${op.ref}`))
      .sort();
    return createHash('sha256').update(refs.join('\n')).digest('hex').slice(0, 16);
  }
}
