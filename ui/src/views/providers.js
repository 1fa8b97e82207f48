// The providers the user can link, each with a Connect button.
import { h } from '../dom.js';
import { t } from '../i18n.js';

/** Renders the provider list; `onConnect(provider)` is called on a click. */
export function renderProviders(providers, onConnect) {
  const list = document.getElementById('providers');
  document.getElementById('providers-empty').hidden = providers.length > 0;
  list.replaceChildren(
    ...providers.map((p) =>
      h(
        'li',
        { class: 'card', dataset: { providerId: p.id } },
        h('div', { class: 'card-main' }, h('strong', {}, p.name), h('span', { class: 'muted' }, t('provider.signInAt', { host: p.authorizeHost }))),
        h(
          'button',
          { type: 'button', class: 'primary connect', 'aria-label': t('provider.connectTo', { name: p.name }), onClick: () => onConnect(p) },
          t('provider.connect'),
        ),
      ),
    ),
  );
}
