/**
 * The three calls of Harbor's Scanner Adapter API v1.2, each answering in the spec's terms.
 * Polling and the metadata check are in adapter.ts.
 */
import { AppError } from '../../lib/errors';
import { baseUrl, errorText, parseBody, send, unexpectedStatus, type HttpCall, type HttpResult } from '../remote';
import type { HttpClient } from '../../lib/http';
import {
  HarborMediaTypes,
  metadataSchema,
  scanResponseSchema,
  vulnerabilityReportSchema,
  type HarborVulnerabilityReport,
  type ScannerMetadata,
  type ScanRequest,
} from './api';
import type { HarborScannerConfig } from './config';

/** Outcome of `GET /api/v1/scan/{id}/report`. */
export type ReportAnswer =
  | { kind: 'report'; report: HarborVulnerabilityReport }
  /** 302: not ready; `refreshAfterS` is the `Refresh-After` header when it is a valid integer. */
  | { kind: 'pending'; refreshAfterS?: number };

export class HarborClient {
  private readonly api: string;

  constructor(private readonly config: HarborScannerConfig, private readonly http?: HttpClient) {
    this.api = `${baseUrl(config.url)}/api/v1`;
  }

  private call(call: Omit<HttpCall, 'timeoutMs'>): Promise<HttpResult> {
    const headers: Record<string, string> = { ...call.headers };
    if (this.config.authorization) headers.authorization = this.config.authorization;
    return send({ ...call, headers, timeoutMs: this.config.requestTimeoutMs }, this.http);
  }

  /** `GET /api/v1/metadata` */
  async metadata(): Promise<ScannerMetadata> {
    const what = 'Harbor scanner metadata';
    const res = await this.call({
      method: 'GET', url: `${this.api}/metadata`, what,
      headers: { accept: `${HarborMediaTypes.metadata11}, ${HarborMediaTypes.metadata10}` },
    });
    if (res.status !== 200) throw unexpectedStatus(res, what);
    return parseBody(metadataSchema, res, what);
  }

  /** `POST /api/v1/scan` → 202 with the scan request id. */
  async requestScan(request: ScanRequest): Promise<string> {
    const what = `Harbor scan request ${request.artifact.digest}`;
    const res = await this.call({
      method: 'POST', url: `${this.api}/scan`, what, body: JSON.stringify(request),
      headers: { 'content-type': HarborMediaTypes.scanRequest, accept: HarborMediaTypes.scanResponse },
    });
    if (res.status !== 202) throw unexpectedStatus(res, what);
    return parseBody(scanResponseSchema, res, what).id;
  }

  /**
   * `GET /api/v1/scan/{id}/report`. Per the spec, clients poll until 200 or 500; a 500 is
   * the adapter's verdict that the scan failed (e.g. it could not pull the artifact), so it
   * is `SCAN_FAILED` with the adapter's message, not a temporary fault.
   */
  async report(id: string): Promise<ReportAnswer> {
    const what = `Harbor scan report ${id}`;
    const res = await this.call({
      method: 'GET', url: `${this.api}/scan/${encodeURIComponent(id)}/report`, what,
      headers: { accept: HarborMediaTypes.vulnerabilityReport },
    });
    if (res.status === 302) {
      const header = res.headers.get('refresh-after')?.trim();
      return { kind: 'pending', ...(header && /^\d+$/.test(header) ? { refreshAfterS: Number(header) } : {}) };
    }
    if (res.status === 500) {
      throw new AppError('SCAN_FAILED', `${what}: the scanner reports the scan failed: ${errorText(res.body) || 'no message'}`);
    }
    if (res.status === 404) throw new AppError('SCAN_FAILED', `${what}: the scanner does not know this scan request (404)`);
    if (res.status !== 200) throw unexpectedStatus(res, what);
    const type = res.headers.get('content-type') ?? '';
    if (!type.toLowerCase().startsWith('application/vnd.security.vulnerability.report')) {
      throw new AppError('SCAN_FAILED', `${what}: expected ${HarborMediaTypes.vulnerabilityReport}, got ${type || 'no content type'}`);
    }
    return { kind: 'report', report: parseBody(vulnerabilityReportSchema, res, what) };
  }
}
