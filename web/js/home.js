// home.js: the start page: links to the dashboards (keeping ?token and ?lang)
// and the name of the county they show.
import * as api from './api.js';
import { t, onLangChange } from './i18n.js';
import { initChrome, banner } from './common.js';

function links() {
	for (const a of document.querySelectorAll('[data-page]')) a.href = api.linkTo(a.dataset.page);
}

async function main() {
	initChrome('index.html');
	links();
	onLangChange(links);
	try {
		const county = await api.pickCounty();
		const regs = await api.regions(county);
		document.getElementById('county').textContent = (regs.find((r) => r.code === county) || {}).name || county;
	} catch (e) {
		document.getElementById('county').textContent = '—';
		banner(api.errorText(e, t));
	}
}

main();
