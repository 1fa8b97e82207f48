// Translations: resource files in ui/i18n, the system language by default, switchable and remembered.
import en from '../i18n/en.json';
import de from '../i18n/de.json';
import { relativeParts } from './time.js';

const catalogs = { en, de };
const STORAGE_KEY = 'account-linker.language';
let current = pick();
const listeners = new Set();

function pick() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && catalogs[saved]) return saved;
  const system = (navigator.languages?.[0] || navigator.language || 'en').slice(0, 2).toLowerCase();
  return catalogs[system] ? system : 'en';
}

/** The current language code. */
export const language = () => current;

/** Switches language, remembers it, and re-renders every listener. */
export function setLanguage(code) {
  if (!catalogs[code]) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = code;
  listeners.forEach((fn) => fn());
}

/** Calls `fn` after every language change. */
export const onLanguageChange = (fn) => listeners.add(fn);

/** The text for `key` with `{name}` placeholders filled. */
export function t(key, params = {}) {
  const text = catalogs[current][key] ?? catalogs.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
}

/** Fills every element carrying `data-i18n` (text), `data-i18n-placeholder` or `data-i18n-label` (aria-label). */
export function translateStatic(root = document) {
  root.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder)));
  root.querySelectorAll('[data-i18n-label]').forEach((el) => el.setAttribute('aria-label', t(el.dataset.i18nLabel)));
}

/** A relative time such as "in 59 min" or "3 h ago" for a Unix time in seconds. */
export function relative(unixSeconds, nowMs = Date.now()) {
  const { unit, n, future } = relativeParts(unixSeconds, nowMs);
  if (unit === 'now') return t('time.now');
  return future ? t(`time.in${unit}`, { n }) : t(`time.${unit.toLowerCase()}Ago`, { n });
}

/** An absolute local date and time, for tooltips. */
export const absolute = (unixSeconds) => new Date(unixSeconds * 1000).toLocaleString(current);
