// The providers the user can link: Connect, the tenant field where a provider needs one (Workfront's
// organization host), and why a provider can't be linked yet (e.g. no client id configured).
import { h } from '../dom.js';
import { t } from '../i18n.js';

function card(p, onConnect) {
  const tenantId = `tenant-${p.id}`;
  const tenant = p.tenantLabel
    ? h('input', { id: tenantId, class: 'tenant', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'acme.my.workfront.com' })
    : null;
  const connect = () => onConnect(p, tenant ? tenant.value : null);
  tenant?.addEventListener('keydown', (e) => e.key === 'Enter' && connect());
  return h(
    'li',
    { class: 'card', dataset: { providerId: p.id } },
    h(
      'div',
      { class: 'card-main' },
      h('strong', {}, p.name),
      h('span', { class: 'muted' }, t('provider.signInAt', { host: p.authorizeHost })),
      tenant ? h('label', { class: 'tenant-label', for: tenantId }, p.tenantLabel) : null,
      tenant,
      p.notReady ? h('span', { class: 'muted not-ready' }, p.notReady) : null,
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'primary connect',
        disabled: Boolean(p.notReady),
        'aria-label': t('provider.connectTo', { name: p.name }),
        onClick: connect,
      },
      t('provider.connect'),
    ),
  );
}

/** Renders the provider list and configuration problems; `onConnect(provider, tenant)` on a click. */
export function renderProviders({ providers, problems }, onConnect) {
  const list = document.getElementById('providers');
  document.getElementById('providers-empty').hidden = providers.length > 0;
  const box = document.getElementById('config-problems');
  box.hidden = problems.length === 0;
  box.replaceChildren(
    h('strong', {}, t('providers.problems')),
    h('ul', {}, ...problems.map((line) => h('li', {}, line))),
  );
  // Providers that are ready come first.
  const ordered = [...providers].sort((a, b) => Number(Boolean(a.notReady)) - Number(Boolean(b.notReady)));
  list.replaceChildren(...ordered.map((p) => card(p, onConnect)));
}
