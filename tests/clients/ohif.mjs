// The OHIF viewer (its prebuilt dist/, default configuration with only the
// server URL changed) in headless Chromium, against the archive's one
// DICOMweb root: the study list shows the stored study, the viewer draws its
// image, and no request to the archive fails.
//
//   node ohif.mjs OHIF_DIR VIEWER_PORT DICOMWEB_ROOT API_KEY STUDY_UID PATIENT_NAME OUT_DIR
//
// OHIF_DIR holds package/dist (npm @ohif/app) and node_modules/playwright-core
// (tests/peers/install.sh). The viewer is served from another origin than the
// archive (http://127.0.0.1:VIEWER_PORT), as a hospital would serve it, so the
// archive's CORS is exercised. The key is added by the browser to every
// request, as a proxy or a login in front of the viewer would.
// Screenshots go to OUT_DIR. Exit 0 when everything was seen; otherwise 1,
// with what failed on stderr.

import { createServer } from 'node:http';
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const [ohifDir, viewerPort, root, key, studyUid, patientName, outDir] = process.argv.slice(2);
const dist = path.join(ohifDir, 'package', 'dist');
const require = createRequire(path.join(ohifDir, 'package.json'));
const { chromium } = require('playwright-core');

// The default configuration's demo server, replaced by ours: nothing else changes.
const DEMO_ROOT = 'https://d14fa38qiwhyfd.cloudfront.net/dicomweb';
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2',
  '.ico': 'image/x-icon', '.txt': 'text/plain',
};

function fail(message) {
  console.error(`ohif: ${message}`);
  process.exitCode = 1;
}

// A static server of dist/ with the single-page fallback OHIF's serve.json asks for.
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let file = path.normalize(path.join(dist, decodeURIComponent(url.pathname)));
  if (!file.startsWith(dist)) { res.writeHead(403).end(); return; }
  let body;
  try {
    body = await readFile(file);
  } catch {
    file = path.join(dist, 'index.html');
    body = await readFile(file);
  }
  if (file.endsWith('app-config.js')) {
    const text = body.toString('utf8');
    if (!text.includes(DEMO_ROOT)) { fail('app-config.js no longer names the demo server'); }
    body = Buffer.from(text.split(DEMO_ROOT).join(root));
  }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
  res.end(body);
});
await new Promise((ok) => server.listen(Number(viewerPort), '127.0.0.1', ok));
const viewer = `http://127.0.0.1:${viewerPort}`;

await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.PACS_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const archiveFailures = [];
const archiveRequests = [];
try {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    extraHTTPHeaders: { Authorization: key },
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.error(`console: ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(root)) archiveFailures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (!r.url().startsWith(root)) return;
    archiveRequests.push(`${r.request().method()} ${r.status()} ${r.url()}`);
    if (r.status() >= 400) archiveFailures.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
  });

  // The study list: the stored study is listed.
  await page.goto(`${viewer}/`, { waitUntil: 'load' });
  // The list shows "Family, Given", cut to the column's width: the family name.
  const family = patientName.split('^')[0];
  const listed = page.getByText(family, { exact: false });
  try {
    await listed.first().waitFor({ timeout: 60000 });
  } catch {
    fail(`the study list does not show ${family}`);
  }
  await page.screenshot({ path: path.join(outDir, 'study-list.png') });

  // The viewer: a drawn, non-blank image in a viewport canvas.
  await page.goto(`${viewer}/viewer?StudyInstanceUIDs=${studyUid}`, { waitUntil: 'load' });
  const deadline = Date.now() + 90000;
  let drawn = null;
  while (Date.now() < deadline && !drawn) {
    drawn = await page.evaluate(() => {
      for (const c of document.querySelectorAll('canvas')) {
        if (c.width < 32 || c.height < 32) continue;
        let data;
        try {
          data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
        } catch { continue; }
        if (!data) continue;
        const seen = new Set();
        let lit = 0;
        for (let i = 0; i < data.length; i += 4) {
          const v = data[i] + data[i + 1] + data[i + 2];
          if (v > 30) lit++;
          if (seen.size < 64) seen.add(v);
        }
        if (lit > 500 && seen.size > 16) return { width: c.width, height: c.height, lit, levels: seen.size };
      }
      return null;
    });
    if (!drawn) await page.waitForTimeout(1000);
  }
  await page.screenshot({ path: path.join(outDir, 'viewer.png') });
  if (!drawn) fail('no viewport canvas shows an image');
  else console.log(`drawn: ${JSON.stringify(drawn)}`);
  // Let prefetching and thumbnails finish before judging the requests.
  await page.waitForTimeout(2000);
} finally {
  await browser.close();
  server.close();
  await writeFile(path.join(outDir, 'archive-requests.txt'), archiveRequests.join('\n') + '\n');
}
if (archiveRequests.length === 0) fail('the viewer sent no request to the archive');
for (const f of archiveFailures) fail(`failed request: ${f}`);
console.log(`${archiveRequests.length} archive requests, ${archiveFailures.length} failed`);
