// "Add account": a dialog to pick a provider, with a search field, the providers' icons and sign-in
// hosts, and the provider's tenant field (Workfront's organization) when the chosen one needs it.
// Keyboard: type to search, Enter takes the only match; arrows move between providers (radio
// buttons), Enter continues; Escape closes.
import { h } from '../dom.js';
import { openDialog, closeDialog } from '../dialogs.js';
import { t } from '../i18n.js';
import { providerIcon } from '../icons.js';
import { matchProviders } from '../status.js';

const dialog = () => document.getElementById('picker');
let providers = [];
let onConnect = () => {};

function selected() {
  const radio = dialog().querySelector('input[name="provider"]:checked');
  return radio ? providers.find((p) => p.id === radio.value) : null;
}

function option(p) {
  const id = `pick-${p.id}`;
  return h(
    'li',
    { dataset: { providerId: p.id } },
    h('input', { type: 'radio', name: 'provider', id, value: p.id, class: 'visually-hidden', 'aria-describedby': `${id}-host` }),
    h(
      'label',
      { for: id, class: 'option' },
      providerIcon(p, 32),
      h('span', { class: 'option-text' },
        h('strong', {}, p.name),
        h('span', { class: 'muted', id: `${id}-host` }, p.notReady ? t('picker.notReady') : t('provider.signInAt', { host: p.authorizeHost }))),
    ),
  );
}

/** Shows the tenant field, readiness and the Continue button for the chosen provider. */
function update() {
  const d = dialog();
  const p = selected();
  const tenantRow = d.querySelector('#picker-tenant-row');
  tenantRow.hidden = !p?.tenantLabel;
  if (p?.tenantLabel) d.querySelector('#picker-tenant-label').textContent = p.tenantLabel;
  const notReady = d.querySelector('#picker-not-ready');
  notReady.hidden = !p?.notReady;
  notReady.textContent = p?.notReady ?? '';
  const go = d.querySelector('#picker-connect');
  go.disabled = !p || Boolean(p.notReady);
  go.textContent = p ? t('picker.continueTo', { name: p.name }) : t('picker.continue');
}

function filter() {
  const d = dialog();
  const query = d.querySelector('#picker-search').value;
  const shown = new Set(matchProviders(providers, query).map((p) => p.id));
  for (const li of d.querySelectorAll('#picker-list li')) li.hidden = !shown.has(li.dataset.providerId);
  const none = d.querySelector('#picker-none');
  none.hidden = shown.size > 0;
  none.textContent = t('picker.none', { query });
  // A choice that the search hid is no choice.
  const chosen = selected();
  if (chosen && !shown.has(chosen.id)) d.querySelector('input[name="provider"]:checked').checked = false;
  d.querySelector('#picker-count').textContent = t('picker.count', { n: shown.size });
  update();
  return [...shown];
}

function go() {
  const p = selected();
  if (!p || p.notReady) return;
  const tenant = p.tenantLabel ? dialog().querySelector('#picker-tenant').value.trim() : null;
  if (p.tenantLabel && !tenant) {
    const field = dialog().querySelector('#picker-tenant');
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    return;
  }
  closeDialog(dialog());
  onConnect(p, tenant);
}

/** Wires the dialog once; `connect(provider, tenant)` starts the sign-in. */
export function setUpPicker(connect) {
  onConnect = connect;
  const d = dialog();
  d.querySelector('#picker-search').addEventListener('input', filter);
  d.querySelector('#picker-search').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const shown = filter();
    if (shown.length !== 1) return;
    const radio = d.querySelector(`#picker-list li[data-provider-id="${shown[0]}"] input`);
    radio.checked = true;
    update();
    (selected()?.tenantLabel ? d.querySelector('#picker-tenant') : radio).focus();
  });
  d.querySelector('#picker-list').addEventListener('change', () => {
    update();
  });
  d.querySelector('#picker-list').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    // Tabbing into a group with nothing chosen focuses its first provider without choosing it.
    if (e.target.name === 'provider' && !e.target.checked) {
      e.target.checked = true;
      update();
    }
    if (!selected()) return;
    e.preventDefault();
    if (selected().tenantLabel) d.querySelector('#picker-tenant').focus();
    else go();
  });
  d.querySelector('#picker-list').addEventListener('dblclick', go);
  d.querySelector('#picker-tenant').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      go();
    }
  });
  d.querySelector('#picker-tenant').addEventListener('input', (e) => e.target.removeAttribute('aria-invalid'));
  d.querySelector('#picker-connect').addEventListener('click', go);
  d.querySelector('#picker-cancel').addEventListener('click', () => closeDialog(d));
}

/** Fills the dialog with `list` (ready providers first), keeping search and choice. */
export function renderPicker(list) {
  providers = [...list].sort((a, b) => Number(Boolean(a.notReady)) - Number(Boolean(b.notReady)));
  const d = dialog();
  const chosen = selected()?.id;
  d.querySelector('#picker-list').replaceChildren(...providers.map(option));
  if (chosen) {
    const radio = d.querySelector(`#pick-${CSS.escape(chosen)}`);
    if (radio) radio.checked = true;
  }
  filter();
}

/** Opens the picker with an empty search and no choice. */
export function openPicker() {
  const d = dialog();
  d.querySelector('#picker-search').value = '';
  d.querySelector('#picker-tenant').value = '';
  d.querySelectorAll('input[name="provider"]').forEach((r) => (r.checked = false));
  filter();
  openDialog(d, '#picker-search');
}
