/**
 * The page shell: header with the signed-in person and sign-out, navigation by role, a skip
 * link, the main content, and a footer with the request id. Scripts and styles come from
 * /ui/assets only (the CSP allows nothing else); htmx is configured through its meta tag to
 * evaluate nothing, inject no style and keep no page copies in localStorage.
 */
import type { Principal } from '../lib/identity/types';
import { hasRole, REQUEST_READ_ROLES } from '../intake';
import { html, type Html } from './html';
import type { ShownError } from './messages';

export interface PageContext {
  principal: Principal;
  csrf: string;
  /** The request id (footer), for support. */
  requestId: string;
  /** Current path, to mark the navigation. */
  path: string;
}

const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyCacheSize: 0,
  refreshOnHistoryMiss: true, selfRequestsOnly: true,
});

function nav(ctx: PageContext): Html {
  const p = ctx.principal;
  const items: Array<[string, string, boolean]> = [
    ['/ui/overview', 'Overview', hasRole(p, ...REQUEST_READ_ROLES)],
    ['/ui/queue', 'Approval queue', hasRole(p, 'approver', 'admin')],
    ['/ui/search', 'CVE & package search', hasRole(p, ...REQUEST_READ_ROLES)],
    ['/ui/inventory', 'Approved images', true],
    ['/ui/alerts', 'Alerts', hasRole(p, ...REQUEST_READ_ROLES)],
    ['/ui/audit', 'Audit log', hasRole(p, 'auditor', 'admin')],
  ];
  return html`<nav aria-label="Main"><ul>${items.filter((i) => i[2]).map(([href, label]) =>
    html`<li><a href="${href}"${ctx.path.startsWith(href) ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul></nav>`;
}

export function errorBox(e: ShownError | undefined): Html {
  if (!e) return html``;
  return html`<div class="alert alert-error" role="alert"><p><strong>${e.words}</strong> <code>${e.code}</code></p>
    ${e.detail ? html`<p class="detail">${e.detail}</p>` : ''}
    ${e.blocking?.length ? html`<p>Blocking findings: ${e.blocking.map((b, i) => html`${i ? ', ' : ''}<code>${b}</code>`)}</p>` : ''}</div>`;
}

export function notice(text: string | undefined): Html {
  return text ? html`<div class="alert alert-ok" role="status"><p>${text}</p></div>` : html``;
}

export function page(ctx: PageContext | null, title: string, body: Html, requestId = ctx?.requestId ?? ''): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${title} · Portcullis</title>
<link rel="stylesheet" href="/ui/assets/app.css">
<link rel="stylesheet" href="/ui/assets/vendor/uPlot.min.css">
<script src="/ui/assets/vendor/htmx.min.js" defer></script>
<script src="/ui/assets/vendor/uPlot.iife.min.js" defer></script>
<script src="/ui/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui/overview">Portcullis</a>
  ${ctx ? html`${nav(ctx)}
  <div class="who"><span title="${ctx.principal.subject ?? ''}">${ctx.principal.name}</span>
    <span class="roles">${ctx.principal.roles.join(', ')} · ${ctx.principal.teams.join(', ') || 'no team'}</span>
    <form method="post" action="/ui/logout" class="inline"><input type="hidden" name="csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form>
  </div>` : ''}
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${body}
</main>
<footer><p>Request id <code>${requestId}</code></p></footer>
</body>
</html>`;
}
