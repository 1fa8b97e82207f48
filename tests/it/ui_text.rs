//! The UI's words: English and German have the same keys, and every key the code asks for with
//! `t('…')` (or `t(\`…\`)` templates, by their fixed prefix) exists in both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn ui() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui")
}

fn keys(lang: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(ui().join(format!("i18n/{lang}.json"))).expect("i18n file");
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).expect("valid JSON");
    assert!(map.values().all(|v| v.as_str().is_some_and(|s| !s.trim().is_empty())), "{lang}: every text is a non-empty string");
    map.keys().cloned().collect()
}

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("ui/src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "js") {
            out.push(std::fs::read_to_string(&path).expect("read"));
        }
    }
}

#[test]
fn english_and_german_have_the_same_keys_and_every_used_key_exists() {
    let (en, de) = (keys("en"), keys("de"));
    assert_eq!(en.difference(&de).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in German");
    assert_eq!(de.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "missing in English");
    let mut code = Vec::new();
    sources(&ui().join("src"), &mut code);
    let mut used = 0;
    for text in &code {
        for (quote, rest) in text.match_indices("t('").map(|(i, _)| ('\'', &text[i + 3..])).chain(text.match_indices("t(`").map(|(i, _)| ('`', &text[i + 3..]))) {
            let Some(end) = rest.find(quote) else { continue };
            let key = &rest[..end];
            used += 1;
            match key.find("${") {
                // A template: some key must start with its fixed part.
                Some(cut) => assert!(en.iter().any(|k| k.starts_with(&key[..cut])), "no key starts with {:?}", &key[..cut]),
                None => assert!(en.contains(key), "the UI asks for {key:?}, which is not in en.json"),
            }
        }
    }
    assert!(used > 40, "found the UI's t() calls ({used})");
}
