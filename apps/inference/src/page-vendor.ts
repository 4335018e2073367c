/**
 * The live page's chart library, lightweight-charts (TradingView, Apache-2.0), served from this
 * origin out of node_modules: no CDN (the page's CSP allows only same-origin scripts, and an
 * operator's page must not depend on a third party being up). Its standalone production build
 * defines `window.LightweightCharts`. The version is in the path, so the file can be cached for a
 * year: an upgrade changes the page's <script src>.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// the package's exports name no dist files: its package.json locates the folder
const packageJson = require.resolve('lightweight-charts/package.json');
const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;

export const CHART_LIBRARY_PATH = `/vendor/lightweight-charts-${version}.js`;

let body: Buffer | undefined;
/** The file's bytes, read once on first use (~200 KB). */
export function chartLibrary(): Buffer {
  body ??= readFileSync(join(dirname(packageJson), 'dist', 'lightweight-charts.standalone.production.js'));
  return body;
}
