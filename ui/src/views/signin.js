// The sign-in in progress, shown in the main window: where the user signs in (the login window or the
// default browser), and the controls the login window can't have (its pages get no IPC): Continue in
// your browser, Copy sign-in link, Cancel. The copied link is also shown, selectable, for users who
// must open it on another browser or where the clipboard is not available.
import { h } from '../dom.js';
import { t } from '../i18n.js';

const box = () => document.getElementById('signin');

/**
 * Shows the pending sign-in `p` (`{flowId, providerName, authorizeHost, login, handedOff, browserOpened,
 * browserError}`), or hides the panel for `null`. `actions` has `onBrowser`, `onCopy`, `onCancel`; `link`
 * is the sign-in link once the user asked to copy it, and `copied` whether the clipboard took it.
 */
export function renderSignIn(p, actions, link = null, copied = false) {
  const el = box();
  if (!p) {
    el.hidden = true;
    el.replaceChildren();
    delete el.dataset.flowId;
    delete el.dataset.place;
    delete el.dataset.handedOff;
    return;
  }
  const inBrowser = p.login === 'browser';
  el.dataset.flowId = p.flowId;
  el.dataset.place = inBrowser ? 'browser' : 'window';
  if (p.handedOff) el.dataset.handedOff = p.handedOff;
  else delete el.dataset.handedOff;
  const where = { name: p.providerName, host: p.authorizeHost };
  let status;
  if (p.handedOff === 'embedded_refused' && !p.browserOpened) status = t('signin.refusedEmbedded', where);
  else if (p.browserError) status = t('signin.browserFailed', { message: p.browserError.message });
  else if (inBrowser) status = t('signin.inBrowser', where);
  else status = t('signin.inWindow', where);
  el.replaceChildren(
    h('strong', { class: 'signin-title' }, t('signin.title', where)),
    h('span', { class: `signin-status${p.browserError || (p.handedOff === 'embedded_refused' && !p.browserOpened) ? ' warn-text' : ''}` }, status),
    link
      ? h(
          'label',
          { class: 'signin-link-label' },
          h('span', {}, copied ? t('signin.copied') : t('signin.copyByHand')),
          h('input', { class: 'signin-link', type: 'text', readonly: true, value: link, spellcheck: 'false' }),
        )
      : null,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: `${inBrowser ? '' : 'primary '}continue-in-browser`, onClick: actions.onBrowser }, inBrowser ? t('signin.openAgain') : t('signin.continueInBrowser')),
      h('button', { type: 'button', class: 'copy-link', onClick: actions.onCopy }, t('signin.copyLink')),
      h('button', { type: 'button', class: 'cancel-sign-in', onClick: actions.onCancel }, t('signin.cancel')),
    ),
  );
  el.hidden = false;
  const input = el.querySelector('.signin-link');
  if (input && !copied) input.select();
}
