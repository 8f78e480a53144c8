// Dev helper: node tests/browser/lib/shoot.mjs URL OUT.png [width height] [waitSelector]
// Opens URL in Debian's chromium at the given size and saves a screenshot; prints page errors.
import { openBrowser, watchErrors } from './harness.mjs';
const [url, out, w = '1920', h = '1080', sel] = process.argv.slice(2);
const b = await openBrowser({ width: Number(w), height: Number(h) });
try {
	const page = await b.context.newPage();
	const errors = watchErrors(page);
	await page.goto(url);
	if (sel) await page.waitForSelector(sel, { timeout: 20000 }).catch((e) => console.error(e.message));
	await page.waitForTimeout(Number(process.env.WAIT || 2500));
	await page.screenshot({ path: out });
	for (const e of errors) console.error(e);
} finally {
	await b.close();
}
