//! The vault against the real Secret Service (gnome-keyring in the test script's D-Bus session): one
//! item per account holding a JSON bundle, and the migration from the old item-per-token layout.

use account_linker::oauth::secret::{AccessToken, IdToken, RefreshToken};
use account_linker::paths::AppPaths;
use account_linker::vault::{old_user, NewTokens, SecretKind, StoredTokens, Vault, VaultError};

const HINT: &str = "needs a Secret Service: run scripts/test.sh, which starts gnome-keyring in a D-Bus session";

fn isolated_vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().expect("tmp");
    let vault = Vault::new(AppPaths::isolated(dir.path()).keyring_service);
    (dir, vault)
}

/// An item of keyring service `service` written with the `keyring` crate's own credential, as versions
/// before the bundle did (the vault's session makes the same items).
pub(crate) async fn raw_set(service: &str, user: String, value: &str) {
    let (service, value) = (service.to_owned(), value.to_owned());
    tokio::task::spawn_blocking(move || keyring::Entry::new(&service, &user).expect("entry").set_password(&value).expect(HINT))
        .await
        .expect("keyring thread");
}

/// An item's secret as the `keyring` crate's own credential reads it; `None` when there is none.
pub(crate) async fn raw_get(service: &str, user: String) -> Option<String> {
    let service = service.to_owned();
    tokio::task::spawn_blocking(move || match keyring::Entry::new(&service, &user).expect("entry").get_password() {
        Ok(v) => Some(v),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("keyring: {e}"),
    })
    .await
    .expect("keyring thread")
}

/// The old per-kind layout of an account: one item per token given.
async fn old_layout(vault: &Vault, account: &str, tokens: &[(SecretKind, &str)]) {
    for (kind, value) in tokens {
        raw_set(vault.service(), old_user(account, *kind), value).await;
    }
}

async fn old_items_left(vault: &Vault, account: &str) -> Vec<&'static str> {
    let mut left = Vec::new();
    for kind in SecretKind::ALL {
        if raw_get(vault.service(), old_user(account, kind)).await.is_some() {
            left.push(kind.name());
        }
    }
    left
}

fn values(t: &StoredTokens) -> [Option<&str>; 3] {
    SecretKind::ALL.map(|k| t.get(k))
}

fn at(v: &str) -> AccessToken {
    AccessToken::new(v)
}
fn rt(v: &str) -> RefreshToken {
    RefreshToken::new(v)
}
fn id(v: &str) -> IdToken {
    IdToken::new(v)
}

#[tokio::test]
async fn keeps_an_accounts_tokens_in_one_item_and_deletes_it() {
    let (_dir, vault) = isolated_vault();
    assert_eq!(values(&vault.tokens("acct-1").await.expect(HINT)), [None, None, None]);
    vault.put_tokens("acct-1", NewTokens { access: &at("at-value"), refresh: Some(&rt("rt-value")), id: Some(&id("id-value")) }).await.expect(HINT);
    // One item, user `<account-id>`, holding the bundle; none of the old per-kind ones.
    let raw = raw_get(vault.service(), "acct-1".into()).await.expect("the bundle item");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("the bundle is JSON");
    assert_eq!(json, serde_json::json!({"v": 1, "access_token": "at-value", "refresh_token": "rt-value", "id_token": "id-value"}));
    assert!(old_items_left(&vault, "acct-1").await.is_empty());
    // A second vault object (as after a restart) reads the same item: it really is in the keyring.
    let again = Vault::new(vault.service());
    let read = again.tokens("acct-1").await.expect("read");
    assert_eq!(values(&read), [Some("at-value"), Some("rt-value"), Some("id-value")]);
    assert!(!read.from_old_layout());
    assert_eq!(again.get("acct-1", SecretKind::RefreshToken).await.expect("get").as_deref(), Some("rt-value"));
    vault.delete_account("acct-1").await.expect("delete");
    assert_eq!(raw_get(vault.service(), "acct-1".into()).await, None);
    assert_eq!(values(&again.tokens("acct-1").await.expect("read")), [None, None, None]);
    vault.delete_account("acct-1").await.expect("deleting nothing is fine");
}

#[tokio::test]
async fn an_absent_refresh_or_id_token_keeps_the_stored_one_unless_replaced() {
    let (_dir, vault) = isolated_vault();
    vault.put_tokens("a", NewTokens { access: &at("at1"), refresh: Some(&rt("rt1")), id: Some(&id("id1")) }).await.expect(HINT);
    vault.put_tokens("a", NewTokens { access: &at("at2"), refresh: None, id: None }).await.expect("put");
    assert_eq!(values(&vault.tokens("a").await.expect("read")), [Some("at2"), Some("rt1"), Some("id1")]);
    vault.put_tokens("a", NewTokens { access: &at("at3"), refresh: Some(&rt("rt3")), id: None }).await.expect("put");
    assert_eq!(values(&vault.tokens("a").await.expect("read")), [Some("at3"), Some("rt3"), Some("id1")]);
    // Merged with what the caller read (the refresh path), no second read.
    let stored = vault.tokens("a").await.expect("read");
    vault.update_tokens("a", stored, NewTokens { access: &at("at4"), refresh: None, id: Some(&id("id4")) }).await.expect("update");
    assert_eq!(values(&vault.tokens("a").await.expect("read")), [Some("at4"), Some("rt3"), Some("id4")]);
    // A reconnect replaces: what the new grant lacks is gone.
    vault.replace_tokens("a", NewTokens { access: &at("at5"), refresh: None, id: None }).await.expect("replace");
    assert_eq!(values(&vault.tokens("a").await.expect("read")), [Some("at5"), None, None]);
    let raw = raw_get(vault.service(), "a".into()).await.expect("bundle");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&raw).expect("json"), serde_json::json!({"v": 1, "access_token": "at5"}));
    vault.delete_account("a").await.expect("delete");
}

#[tokio::test]
async fn isolated_homes_do_not_see_each_others_secrets() {
    let (_a, va) = isolated_vault();
    let (_b, vb) = isolated_vault();
    va.put_tokens("same-id", NewTokens { access: &at("from-a"), refresh: None, id: None }).await.expect("put");
    assert_eq!(vb.get("same-id", SecretKind::AccessToken).await.expect("get"), None);
    va.delete_account("same-id").await.expect("delete");
}

#[tokio::test]
async fn large_tokens_round_trip() {
    let (_dir, vault) = isolated_vault();
    let big = "x".repeat(16 * 1024);
    vault.put_tokens("big", NewTokens { access: &at("at"), refresh: Some(&rt("rt")), id: Some(&id(&big)) }).await.expect("put");
    assert_eq!(vault.get("big", SecretKind::IdToken).await.expect("get").as_deref(), Some(big.as_str()));
    vault.delete_account("big").await.expect("delete");
}

#[tokio::test]
async fn an_account_of_the_old_layout_is_read_and_moved_to_a_bundle_by_the_next_write() {
    let (_dir, vault) = isolated_vault();
    old_layout(&vault, "old", &[(SecretKind::AccessToken, "old-at"), (SecretKind::RefreshToken, "old-rt"), (SecretKind::IdToken, "old-id")])
        .await;
    let read = vault.tokens("old").await.expect(HINT);
    assert_eq!(values(&read), [Some("old-at"), Some("old-rt"), Some("old-id")], "nothing the user had is lost");
    assert!(read.from_old_layout());
    assert_eq!(raw_get(vault.service(), "old".into()).await, None, "reading writes nothing");

    // A refresh answer without refresh or ID token: both come from the old items into the bundle.
    vault.put_tokens("old", NewTokens { access: &at("new-at"), refresh: None, id: None }).await.expect("put");
    let raw = raw_get(vault.service(), "old".into()).await.expect("the bundle now");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&raw).expect("json"),
        serde_json::json!({"v": 1, "access_token": "new-at", "refresh_token": "old-rt", "id_token": "old-id"})
    );
    assert!(old_items_left(&vault, "old").await.is_empty(), "the old items are removed after the bundle is stored");
    let read = vault.tokens("old").await.expect("read");
    assert_eq!(values(&read), [Some("new-at"), Some("old-rt"), Some("old-id")]);
    assert!(!read.from_old_layout());
    vault.delete_account("old").await.expect("delete");
}

#[tokio::test]
async fn the_refresh_path_migrates_even_when_the_answer_carries_every_token() {
    let (_dir, vault) = isolated_vault();
    old_layout(&vault, "old", &[(SecretKind::AccessToken, "old-at"), (SecretKind::RefreshToken, "old-rt")]).await;
    let stored = vault.tokens("old").await.expect(HINT);
    assert_eq!(values(&stored), [Some("old-at"), Some("old-rt"), None]);
    vault.update_tokens("old", stored, NewTokens { access: &at("new-at"), refresh: Some(&rt("new-rt")), id: Some(&id("new-id")) }).await.expect("update");
    assert_eq!(values(&vault.tokens("old").await.expect("read")), [Some("new-at"), Some("new-rt"), Some("new-id")]);
    assert!(old_items_left(&vault, "old").await.is_empty());
    vault.delete_account("old").await.expect("delete");
}

#[tokio::test]
async fn a_bundle_is_read_before_old_items_and_deleting_the_account_removes_both() {
    let (_dir, vault) = isolated_vault();
    // Old items whose removal failed after the bundle was written (here: written behind the vault's back).
    vault.update_tokens("both", StoredTokens::default(), NewTokens { access: &at("bundle-at"), refresh: Some(&rt("bundle-rt")), id: None }).await.expect(HINT);
    old_layout(&vault, "both", &[(SecretKind::AccessToken, "old-at"), (SecretKind::IdToken, "old-id")]).await;
    let read = vault.tokens("both").await.expect("read");
    assert_eq!(values(&read), [Some("bundle-at"), Some("bundle-rt"), None], "the bundle alone counts");
    assert!(!read.from_old_layout());
    vault.delete_account("both").await.expect("delete");
    assert_eq!(raw_get(vault.service(), "both".into()).await, None);
    assert!(old_items_left(&vault, "both").await.is_empty(), "no old item outlives its account");

    // A reconnect of an old-layout account removes the old items too.
    old_layout(&vault, "re", &[(SecretKind::RefreshToken, "old-rt"), (SecretKind::IdToken, "old-id")]).await;
    vault.replace_tokens("re", NewTokens { access: &at("new-at"), refresh: Some(&rt("new-rt")), id: None }).await.expect("replace");
    assert_eq!(values(&vault.tokens("re").await.expect("read")), [Some("new-at"), Some("new-rt"), None]);
    assert!(old_items_left(&vault, "re").await.is_empty());
    vault.delete_account("re").await.expect("delete");
}

#[tokio::test]
async fn a_damaged_bundle_is_reported_without_its_content_and_not_overwritten_by_a_merge() {
    let (_dir, vault) = isolated_vault();
    for (content, why) in [
        ("rt_secret_not_json", "not valid JSON"),
        (r#"{"v":2,"access_token":"at_secret"}"#, "unknown format version 2"),
        (r#"{"v":1,"access_token":"at_secret","extra":"x_secret"}"#, "a field that format version 1 does not have"),
    ] {
        raw_set(vault.service(), "bad".into(), content).await;
        let err = vault.tokens("bad").await.expect_err("a damaged bundle is an error");
        assert!(matches!(&err, VaultError::Damaged { account, why: w } if account == "bad" && w.contains(why)), "{err}");
        let text = err.to_string();
        assert!(!text.contains("secret") && text.contains("reconnect the account"), "{text}");
        // A merge needs the stored tokens: it fails the same way and leaves the item alone.
        let merge = vault.put_tokens("bad", NewTokens { access: &at("new-at"), refresh: Some(&rt("new-rt")), id: None }).await;
        assert!(matches!(merge, Err(VaultError::Damaged { .. })), "{merge:?}");
        assert_eq!(raw_get(vault.service(), "bad".into()).await.as_deref(), Some(content), "nothing overwritten");
    }
    // A reconnect replaces it; deleting the account removes it.
    vault.replace_tokens("bad", NewTokens { access: &at("new-at"), refresh: Some(&rt("new-rt")), id: None }).await.expect("replace");
    assert_eq!(values(&vault.tokens("bad").await.expect("read")), [Some("new-at"), Some("new-rt"), None]);
    raw_set(vault.service(), "bad".into(), "garbage").await;
    vault.delete_account("bad").await.expect("delete");
    assert_eq!(raw_get(vault.service(), "bad".into()).await, None);
}
