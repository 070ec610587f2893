/**
 * Static assets of the console, all from the package: our own CSS and JS (src/ui/public, plain
 * files, no build step) and the vendored libraries served by path from node_modules (htmx,
 * uPlot), so the versions are the ones package-lock.json pins and no CDN is ever involved.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';

/** src/ui/public from the source tree, whether this file runs from src/ (tests) or dist/src/ (built). */
export function publicDir(): string {
  for (const candidate of [path.join(__dirname, 'public'), path.resolve(__dirname, '../../../src/ui/public')]) {
    if (existsSync(path.join(candidate, 'app.css'))) return candidate;
  }
  throw new Error('console assets (src/ui/public) not found next to the code');
}

const VENDOR: Record<string, string> = {
  'htmx.min.js': 'htmx.org/dist/htmx.min.js',
  'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js',
  'uPlot.min.css': 'uplot/dist/uPlot.min.css',
};

export function assetsRouter(): Router {
  const router = Router();
  const files = Object.fromEntries(Object.entries(VENDOR).map(([name, mod]) => [name, require.resolve(mod)]));
  router.get('/vendor/:name', (req, res, next) => {
    const file = files[req.params.name];
    if (!file) return next();
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(file);
  });
  router.use(express.static(publicDir(), { index: false, dotfiles: 'deny', maxAge: '1h', fallthrough: true }));
  return router;
}
