//! The vault against the real Secret Service (gnome-keyring in the test script's D-Bus session).

use account_linker::paths::AppPaths;
use account_linker::vault::{SecretKind, Vault};

fn isolated_vault() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().expect("tmp");
    let vault = Vault::new(AppPaths::isolated(dir.path()).keyring_service);
    (dir, vault)
}

#[tokio::test]
async fn stores_reads_and_deletes_secrets_in_the_secret_service() {
    let (_dir, vault) = isolated_vault();
    let hint = "needs a Secret Service: run scripts/test.sh, which starts gnome-keyring in a D-Bus session";
    assert_eq!(vault.get("acct-1", SecretKind::RefreshToken).await.expect(hint), None);
    vault.put("acct-1", SecretKind::RefreshToken, "rt-value").await.expect(hint);
    vault.put("acct-1", SecretKind::AccessToken, "at-value").await.expect("put");
    assert_eq!(vault.get("acct-1", SecretKind::RefreshToken).await.expect("get").as_deref(), Some("rt-value"));
    // A second vault object (as after a restart) reads the same entry: it really is in the keyring.
    let again = Vault::new(vault.service());
    assert_eq!(again.get("acct-1", SecretKind::AccessToken).await.expect("get").as_deref(), Some("at-value"));
    vault.delete_account("acct-1").await.expect("delete");
    assert_eq!(again.get("acct-1", SecretKind::RefreshToken).await.expect("get"), None);
    assert_eq!(again.get("acct-1", SecretKind::AccessToken).await.expect("get"), None);
    vault.delete_account("acct-1").await.expect("deleting nothing is fine");
}

#[tokio::test]
async fn isolated_homes_do_not_see_each_others_secrets() {
    let (_a, va) = isolated_vault();
    let (_b, vb) = isolated_vault();
    va.put("same-id", SecretKind::AccessToken, "from-a").await.expect("put");
    assert_eq!(vb.get("same-id", SecretKind::AccessToken).await.expect("get"), None);
    va.delete_account("same-id").await.expect("delete");
}

#[tokio::test]
async fn large_tokens_round_trip() {
    let (_dir, vault) = isolated_vault();
    let big = "x".repeat(16 * 1024);
    vault.put("big", SecretKind::IdToken, &big).await.expect("put");
    assert_eq!(vault.get("big", SecretKind::IdToken).await.expect("get").as_deref(), Some(big.as_str()));
    vault.delete_account("big").await.expect("delete");
}
