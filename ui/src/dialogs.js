// Modal dialogs: native <dialog> (focus kept inside, Escape closes), plus what WebKitGTK does not do by
// itself: focus goes to a chosen element on opening and back to where it was on closing.

/** Opens `dialog` as a modal, focusing `focus` (an element or selector) inside it. */
export function openDialog(dialog, focus) {
  if (!dialog.open) {
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      // The element that opened it may have been redrawn meanwhile: then its replacement, by id or by
      // the account/provider it belongs to, else the main button.
      const key = opener?.closest?.('[data-account-id]')?.dataset.accountId;
      const again = opener?.isConnected ? opener : (key && document.querySelector(`#accounts li[data-account-id="${key}"] .account-open`)) || document.getElementById('add-account');
      again?.focus();
    }, { once: true });
    dialog.showModal();
  }
  const target = typeof focus === 'string' ? dialog.querySelector(focus) : focus;
  target?.focus();
}

/** Closes `dialog` if it is open. */
export function closeDialog(dialog) {
  if (dialog.open) dialog.close();
}
