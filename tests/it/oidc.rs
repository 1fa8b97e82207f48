//! Any OpenID Connect provider by configuration: the npm package `oidc-provider` (a certified OpenID
//! Provider) on 127.0.0.1, given to the app by its issuer alone; endpoints come from discovery.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use account_linker::linker::{Linker, Revocation};
use account_linker::paths::AppPaths;
use account_linker::providers::Catalogue;

use crate::browser;

/// The oidc-provider process; killed when dropped.
pub struct OidcServer {
    child: Child,
    /// The issuer URL.
    pub issuer: String,
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("oidc-provider already stopped: {e}");
        }
        self.child.wait().ok();
    }
}

/// Starts `tests/e2e/oidc-server.mjs` and waits for its issuer URL.
pub fn start_oidc_provider() -> OidcServer {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e/oidc-server.mjs");
    let modules = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("e2e/node_modules/oidc-provider");
    assert!(modules.exists(), "install the test packages first (scripts/test.sh does: npm ci in tests/e2e)");
    let mut child = Command::new("node")
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs (scripts/test.sh installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
    let issuer = line.trim().strip_prefix("oidc-provider listening on ").expect("listening line").to_owned();
    OidcServer { child, issuer }
}

/// The `providers.toml` entry for the test OP, by issuer alone.
pub fn oidc_toml(issuer: &str) -> String {
    format!(
        "[[provider]]\nid = \"oidc-test\"\nname = \"OIDC Test\"\nissuer = \"{issuer}\"\nclient_id = \"account-linker\"\n\
         scopes = [\"openid\", \"email\", \"profile\", \"offline_access\"]\nauthorize_params = {{ prompt = \"consent\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_provider_given_by_its_issuer_alone_links_refreshes_and_revokes() {
    let server = start_oidc_provider();
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(home.path().join("providers.toml"), oidc_toml(&server.issuer)).expect("write");
    let paths = AppPaths::isolated(home.path());
    let catalogue = Catalogue::load(&paths.config_dir);
    assert!(catalogue.problems().is_empty(), "{:?}", catalogue.problems());
    let linker = Linker::new(&paths, catalogue).expect("linker");

    let start = linker.begin("oidc-test", None).await.expect("discovery and begin");
    assert!(start.authorize_url.as_str().starts_with(&format!("{}/auth?", server.issuer)), "{}", start.authorize_url);
    assert!(start.authorize_url.query_pairs().any(|(k, v)| k == "code_challenge_method" && v == "S256"));
    let location = browser::sign_in(&start.authorize_url, "alice", "any-password", "approve").await;
    let account = linker.complete(&start.flow_id, &location).await.expect("linked");
    assert_eq!(account.display_name.as_deref(), Some("alice@oidc.test"), "from the id_token's claims");
    assert!(account.has_refresh_token, "offline_access with prompt=consent gives a refresh token");
    assert!(account.expires_at.is_some());

    let answer = linker.test_api(&account.id).await.expect("userinfo");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.excerpt.contains("alice"), "{answer:?}");

    linker.refresh(&account.id).await.expect("refresh");
    assert_eq!(linker.disconnect(&account.id).await.expect("disconnect"), Revocation::Revoked);
}
