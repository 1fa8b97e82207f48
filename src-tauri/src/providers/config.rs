//! `providers.toml`: the user's providers and overrides of built-in ones, read then validated.
//!
//! Each `[[provider]]` table is read on its own, so one bad entry does not hide the others: every
//! problem becomes a [`ConfigError`] naming the file, the line and the field, and the valid providers
//! stay usable. A table whose `id` is a built-in one overrides only the fields it gives; any other id
//! adds a provider, which must give at least `id`, `name`, `authorize_url`, `token_url` and `client_id`.
//!
//! Fields (all optional for an override):
//! `id`, `name`, `authorize_url`, `token_url`, `userinfo_url`, `revocation_url`, `test_url` (URLs may
//! contain `{tenant}`), `client_id`, `client_secret`, `client_auth` (`none` | `body` | `basic`),
//! `token_request` (`form` | `json`), `scopes` (list), `authorize_params` (table, e.g. `audience`),
//! `pkce` (bool), `refresh` (bool), `token_header` (e.g. `sessionID`), `token_prefix` (e.g. `"Bearer "`),
//! `api_accept`, `keep_redirect_params` (list), `keep_token_fields` (list), `tenant_label`,
//! `tenant_hosts` (patterns like `*.*.workfront.com`), `tenant_bare` (e.g. `{tenant}.my.workfront.com`),
//! `issuer` (OpenID Connect: endpoints not given are discovered from it), `redirect_uri` (another URI in the
//! app's scheme registered at the provider, e.g. `org.accountlinker.app:/oauth2/legacy`), `login_hosts`
//! (list of host names the login window may show besides the authorize and token hosts), `icon` (one of
//! the icons the app ships, [`super::ICONS`]), `login` (`"embedded"`, the default: the app's login
//! window; `"browser"`: the default browser, for providers that refuse embedded browsers or sign-ins that
//! need the real one).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::template::UrlTemplate;
use super::tenant::TenantRule;
use super::{ClientAuth, ClientSecret, Provider, TokenEncoding};
use crate::oauth::redirect::RedirectUri;

/// The file's name inside the config folder.
pub const FILE_NAME: &str = "providers.toml";

/// A problem in the provider configuration: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigError {
    /// The file (or environment variable) the problem is in.
    pub source: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The provider's id, when known.
    pub provider: Option<String>,
    /// The field, when one is at fault.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl ConfigError {
    /// A problem with the whole file.
    pub fn file(path: &Path, message: String) -> Self {
        Self { source: path.display().to_string(), line: None, provider: None, field: None, message }
    }

    /// A problem with an environment variable.
    pub fn env(name: &str, message: String) -> Self {
        Self { source: format!("${name}"), line: None, provider: None, field: None, message }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(p) = &self.provider {
            write!(f, ": provider '{p}'")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field '{field}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    provider: Vec<toml::Spanned<toml::Table>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    name: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    userinfo_url: Option<String>,
    revocation_url: Option<String>,
    test_url: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_auth: Option<ClientAuth>,
    token_request: Option<TokenEncoding>,
    scopes: Option<Vec<String>>,
    authorize_params: Option<BTreeMap<String, String>>,
    pkce: Option<bool>,
    refresh: Option<bool>,
    token_header: Option<String>,
    token_prefix: Option<String>,
    api_accept: Option<String>,
    keep_redirect_params: Option<Vec<String>>,
    keep_token_fields: Option<Vec<String>>,
    tenant_label: Option<String>,
    tenant_hosts: Option<Vec<String>>,
    tenant_bare: Option<String>,
    issuer: Option<String>,
    redirect_uri: Option<String>,
    login_hosts: Option<Vec<String>>,
    icon: Option<String>,
    login: Option<String>,
}

/// Applies the file's text to `providers` (built-ins first); returns every problem found.
pub fn apply(path: &Path, text: &str, providers: &mut Vec<Provider>) -> Vec<ConfigError> {
    let source = path.display().to_string();
    let raw: RawFile = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            return vec![ConfigError { source, line, provider: None, field: None, message: first_line(e.message()) }];
        }
    };
    let mut problems = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for table in raw.provider {
        let span = table.span();
        let table = table.into_inner();
        let id = table.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        let err = |field: Option<&str>, message: String| ConfigError {
            source: source.clone(),
            line: Some(field.and_then(|f| field_line(text, span.clone(), f)).unwrap_or_else(|| line_of(text, span.start))),
            provider: id.clone(),
            field: field.map(str::to_owned),
            message,
        };
        let parsed: RawProvider = match toml::Value::Table(table.clone()).try_into() {
            Ok(p) => p,
            Err(e) => {
                let msg = first_line(e.message());
                // An unknown field is named in the message; a value of the wrong type is not (the
                // message quotes the value), so the field is found by reading the keys one at a time.
                let field = field_in_message(&msg).filter(|f| table.contains_key(f)).or_else(|| failing_key(&table));
                problems.push(err(field.as_deref(), msg));
                continue;
            }
        };
        if seen.contains(&parsed.id) {
            problems.push(err(Some("id"), format!("the provider '{}' is configured twice; the first one is used", parsed.id)));
            continue;
        }
        seen.push(parsed.id.clone());
        let base = providers.iter().position(|p| p.id == parsed.id);
        match build(parsed, base.map(|i| providers[i].clone())) {
            Ok(p) => match base {
                Some(i) => providers[i] = p,
                None => providers.push(p),
            },
            Err((field, message)) => problems.push(err(Some(field), message)),
        }
    }
    problems
}

type FieldError = (&'static str, String);

fn build(raw: RawProvider, base: Option<Provider>) -> Result<Provider, FieldError> {
    RedirectUri::for_provider(&raw.id, None).map_err(|e| ("id", e.to_string()))?;
    let custom = base.is_none();
    // Values given are checked first (their errors are more precise), required ones last. With an
    // OpenID Connect `issuer`, the endpoints are discovered and need not be given.
    let by_issuer = raw.issuer.is_some();
    let missing = [
        ("name", raw.name.is_none()),
        ("authorize_url", raw.authorize_url.is_none() && !by_issuer),
        ("token_url", raw.token_url.is_none() && !by_issuer),
        ("client_id", raw.client_id.is_none()),
    ]
    .into_iter()
    .find(|(_, absent)| custom && *absent)
    .map(|(field, _)| field);
    let url = |field: &'static str, v: Option<String>| -> Result<Option<UrlTemplate>, FieldError> {
        v.map(|s| UrlTemplate::parse(&s).map_err(|e| (field, e.to_string()))).transpose()
    };
    let mut p = base.unwrap_or_else(|| blank(&raw.id));
    if let Some(v) = raw.name {
        p.name = non_empty("name", v)?;
    }
    if let Some(v) = raw.redirect_uri {
        p.redirect_uri = Some(RedirectUri::parse(&v).map_err(|e| ("redirect_uri", e.to_string()))?);
    }
    if let Some(v) = raw.issuer {
        let checked = UrlTemplate::parse(&v).map_err(|e| ("issuer", e.to_string()))?;
        if checked.needs_tenant() {
            return Err(("issuer", "an issuer can't contain {tenant}".into()));
        }
        p.issuer = Some(checked.resolve(None).map_err(|e| ("issuer", e.to_string()))?);
    }
    if let Some(v) = url("authorize_url", raw.authorize_url)? {
        p.authorize_url = v;
    }
    if let Some(v) = url("token_url", raw.token_url)? {
        p.token_url = v;
    }
    if let Some(v) = url("userinfo_url", raw.userinfo_url)? {
        p.userinfo_url = Some(v);
    }
    if let Some(v) = url("revocation_url", raw.revocation_url)? {
        p.revocation_url = Some(v);
    }
    if let Some(v) = url("test_url", raw.test_url)? {
        p.test_url = Some(v);
    }
    if let Some(v) = raw.client_id {
        p.client_id = Some(non_empty("client_id", v)?);
    }
    if let Some(v) = raw.client_secret {
        p.client_secret = Some(ClientSecret::new(non_empty("client_secret", v)?));
        if raw.client_auth.is_none() && p.client_auth == ClientAuth::None {
            p.client_auth = ClientAuth::Body;
        }
    }
    if let Some(v) = raw.client_auth {
        p.client_auth = v;
    }
    if let Some(v) = raw.token_request {
        p.token_encoding = v;
    }
    if let Some(v) = raw.scopes {
        if let Some(bad) = v.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
            return Err(("scopes", format!("'{bad}' is not a scope: one scope per list item, no spaces")));
        }
        p.scopes = v;
    }
    if let Some(v) = raw.authorize_params {
        const RESERVED: [&str; 7] = ["response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"];
        if let Some(k) = v.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(("authorize_params", format!("'{k}' is set by the app itself and can't be overridden")));
        }
        p.authorize_params = v;
    }
    if let Some(v) = raw.pkce {
        p.pkce = v;
    }
    if let Some(v) = raw.refresh {
        p.refresh = v;
    }
    if let Some(v) = raw.token_header {
        let valid = !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !valid {
            return Err(("token_header", format!("'{v}' is not an HTTP header name")));
        }
        p.presentation.header = v;
        if raw.token_prefix.is_none() && !p.presentation.header.eq_ignore_ascii_case("authorization") {
            p.presentation.prefix = String::new();
        }
    }
    if let Some(v) = raw.token_prefix {
        p.presentation.prefix = v;
    }
    if let Some(v) = raw.api_accept {
        p.api_accept = Some(v);
    }
    if let Some(v) = raw.keep_redirect_params {
        p.keep_redirect_params = v;
    }
    if let Some(v) = raw.keep_token_fields {
        p.keep_token_fields = v;
    }
    if raw.tenant_hosts.is_some() || raw.tenant_bare.is_some() || raw.tenant_label.is_some() {
        let mut rule = p.tenant.clone().unwrap_or(TenantRule { label: "Tenant".into(), hosts: Vec::new(), bare: None });
        if let Some(v) = raw.tenant_label {
            rule.label = v;
        }
        if let Some(v) = raw.tenant_hosts {
            rule.hosts = v;
        }
        if let Some(v) = raw.tenant_bare {
            rule.bare = Some(v);
        }
        if rule.hosts.is_empty() {
            return Err(("tenant_hosts", "a provider with a tenant needs at least one allowed host pattern".into()));
        }
        p.tenant = Some(rule);
    }
    if let Some(v) = raw.login_hosts {
        if let Some(bad) = v.iter().find(|h| crate::oauth::navigation::parse_host(h).is_none()) {
            return Err(("login_hosts", format!("'{bad}' is not a host name (give the host alone, e.g. \"login.example.com\")")));
        }
        p.login_hosts = v;
    }
    if let Some(v) = raw.icon {
        if !super::ICONS.contains(&v.as_str()) {
            return Err(("icon", format!("'{v}' is not one of the app's icons ({})", super::ICONS.join(", "))));
        }
        p.icon = Some(v);
    }
    if let Some(v) = raw.login {
        p.login = super::LoginMode::parse(&v).ok_or_else(|| {
            ("login", format!("'{v}' is not a sign-in place: use \"embedded\" (the app's sign-in window) or \"browser\" (the default browser)"))
        })?;
    }
    if let Some(field) = missing {
        return Err((field, format!("is required for a provider that is not built in ({})", required_list())));
    }
    if (p.authorize_url.needs_tenant() || p.token_url.needs_tenant()) && p.tenant.is_none() {
        return Err(("tenant_hosts", "the URLs contain {tenant}: say which tenant hosts are allowed".into()));
    }
    if p.client_auth != ClientAuth::None && p.client_secret.is_none() && custom {
        return Err(("client_secret", format!("client_auth = \"{}\" needs a client_secret", auth_name(p.client_auth))));
    }
    Ok(p)
}

fn blank(id: &str) -> Provider {
    Provider::base(id, id, UrlTemplate::unset(), UrlTemplate::unset())
}

fn auth_name(a: ClientAuth) -> &'static str {
    match a {
        ClientAuth::None => "none",
        ClientAuth::Body => "body",
        ClientAuth::Basic => "basic",
    }
}

fn required_list() -> &'static str {
    "id, name, authorize_url, token_url, client_id"
}

fn non_empty(field: &'static str, v: String) -> Result<String, FieldError> {
    if v.trim().is_empty() {
        Err((field, "must not be empty".into()))
    } else {
        Ok(v)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where `field` is assigned in the table starting at `span` (up to the next table header).
fn field_line(text: &str, span: std::ops::Range<usize>, field: &str) -> Option<usize> {
    let start = span.start.min(text.len());
    let mut offset = start;
    for (i, line) in text[start..].split_inclusive('\n').enumerate() {
        let t = line.trim_start();
        if i > 0 && t.starts_with('[') {
            break;
        }
        if let Some(rest) = t.strip_prefix(field) {
            if rest.trim_start().starts_with('=') {
                return Some(line_of(text, offset));
            }
        }
        offset += line.len();
    }
    None
}

/// The first key of a provider table whose value can't be read on its own (with the `id`).
fn failing_key(table: &toml::Table) -> Option<String> {
    table.iter().filter(|(k, _)| k.as_str() != "id").find_map(|(k, v)| {
        let mut alone = toml::Table::new();
        alone.insert("id".into(), table.get("id").cloned().unwrap_or_else(|| toml::Value::String("x".into())));
        alone.insert(k.clone(), v.clone());
        toml::Value::Table(alone).try_into::<RawProvider>().is_err().then(|| k.clone())
    })
}

/// The field a serde message is about: "unknown field `x`", "missing field `x`", or "… for key `x`".
fn field_in_message(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_owned())
}

fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or(msg).trim().to_owned()
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{builtin, TokenPresentation};

    fn run(text: &str) -> (Vec<Provider>, Vec<ConfigError>) {
        let mut providers = builtin::all();
        let problems = apply(Path::new("/cfg/providers.toml"), text, &mut providers);
        (providers, problems)
    }

    #[test]
    fn the_minimal_override_from_the_issue_works_as_written() {
        let (ps, problems) = run(r#"
[[provider]]
id = "zaehlerfreunde"          # a built-in id: only the fields given are overridden
client_id = "abc123"
authorize_url = "http://127.0.0.1:8080/authorize"
token_url = "http://127.0.0.1:8080/oauth/token"
"#);
        assert!(problems.is_empty(), "{problems:?}");
        let zf = ps.iter().find(|p| p.id == "zaehlerfreunde").expect("zf");
        assert_eq!(zf.client_id.as_deref(), Some("abc123"));
        assert_eq!(zf.authorize_url.as_str(), "http://127.0.0.1:8080/authorize");
        assert_eq!(zf.authorize_params.get("audience").map(String::as_str), Some("https://api.prod.zaehlerfreunde.com"));
        assert_eq!(zf.token_encoding, TokenEncoding::Json);
        assert!(zf.readiness().is_ok());
    }

    #[test]
    fn workfront_override_keeps_the_tenant_placeholder() {
        let (ps, problems) = run(r#"
[[provider]]
id = "workfront"
client_id = "wf-id"
client_secret = "wf-secret"
authorize_url = "http://127.0.0.1:8080/wf/{tenant}/integrations/oauth2/authorize"
token_url = "http://127.0.0.1:8080/wf/{tenant}/integrations/oauth2/api/v1/token"
"#);
        assert!(problems.is_empty(), "{problems:?}");
        let wf = ps.iter().find(|p| p.id == "workfront").expect("wf");
        let e = wf.endpoints(Some("acme")).expect("endpoints");
        assert_eq!(e.token.as_str(), "http://127.0.0.1:8080/wf/acme.my.workfront.com/integrations/oauth2/api/v1/token");
        assert_eq!(wf.client_auth, ClientAuth::Basic);
        assert!(wf.endpoints(Some("acme.my.workfront.com.evil.example")).is_err());
    }

    #[test]
    fn a_custom_provider_with_every_field() {
        let (ps, problems) = run(r#"
[[provider]]
id = "acme-sso"
name = "ACME SSO"
authorize_url = "https://sso.acme.example/oauth2/authorize"
token_url = "https://sso.acme.example/oauth2/token"
userinfo_url = "https://sso.acme.example/oauth2/userinfo"
revocation_url = "https://sso.acme.example/oauth2/revoke"
test_url = "https://api.acme.example/me"
client_id = "cid"
client_secret = "shh"
client_auth = "basic"
token_request = "form"
scopes = ["openid", "offline_access"]
authorize_params = { prompt = "consent" }
pkce = true
refresh = true
token_header = "X-Api-Token"
api_accept = "application/json"
keep_redirect_params = ["region"]
keep_token_fields = ["tenant_id"]
"#);
        assert!(problems.is_empty(), "{problems:?}");
        let p = ps.iter().find(|p| p.id == "acme-sso").expect("custom");
        assert_eq!(p.presentation, TokenPresentation { header: "X-Api-Token".into(), prefix: String::new() });
        assert_eq!(p.client_auth, ClientAuth::Basic);
        assert_eq!(p.authorize_params["prompt"], "consent");
        assert!(!format!("{p:?}").contains("shh"));
    }

    #[test]
    fn errors_name_file_line_and_field_and_keep_the_valid_providers() {
        let text = r#"[[provider]]
id = "ok-one"
name = "OK"
authorize_url = "https://ok.example/a"
token_url = "https://ok.example/t"
client_id = "x"

[[provider]]
id = "insecure"
name = "Insecure"
authorize_url = "https://x.example/a"
token_url = "http://x.example/t"
client_id = "x"

[[provider]]
id = "typo"
name = "Typo"
clientid = "x"

[[provider]]
id = "incomplete"
name = "Incomplete"
"#;
        let (ps, problems) = run(text);
        assert!(ps.iter().any(|p| p.id == "ok-one"));
        assert!(!ps.iter().any(|p| ["insecure", "typo", "incomplete"].contains(&p.id.as_str())));
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert_eq!(problems[0].to_string(), "/cfg/providers.toml:12: provider 'insecure', field 'token_url': 'http://x.example/t' uses http:// to a host that is not loopback; use https://");
        assert_eq!((problems[1].line, problems[1].field.as_deref()), (Some(18), Some("clientid")));
        assert!(problems[1].message.contains("unknown field"), "{}", problems[1].message);
        assert_eq!((problems[2].provider.as_deref(), problems[2].field.as_deref()), (Some("incomplete"), Some("authorize_url")));
        assert!(problems[2].message.contains("required"));
    }

    #[test]
    fn malformed_toml_is_one_clear_error_and_built_ins_survive() {
        let (ps, problems) = run("[[provider]\nid = ");
        assert_eq!(ps.len(), 3);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, Some(1));
        let (_, problems) = run("[[providr]]\nid = \"x\"\n");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("unknown field"), "{}", problems[0].message);
    }

    #[test]
    fn hostile_values_are_refused() {
        let (_, p) = run("[[provider]]\nid = \"../x\"\nname = \"n\"\nauthorize_url = \"https://a.example/\"\ntoken_url = \"https://a.example/\"\nclient_id = \"c\"\n");
        assert_eq!(p[0].field.as_deref(), Some("id"));
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\nauthorize_params = { state = \"fixed\" }\n");
        assert_eq!(p[0].field.as_deref(), Some("authorize_params"));
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\nscopes = [\"openid profile\"]\n");
        assert_eq!(p[0].field.as_deref(), Some("scopes"));
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\nredirect_uri = \"https://example.com/cb\"\n");
        assert_eq!(p[0].field.as_deref(), Some("redirect_uri"));
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\ntoken_header = \"Bad Header:\"\n");
        assert_eq!(p[0].field.as_deref(), Some("token_header"));
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\n\n[[provider]]\nid = \"zaehlerfreunde\"\n");
        assert_eq!((p[0].line, p[0].field.as_deref()), (Some(5), Some("id")));
    }

    #[test]
    fn icon_is_one_the_app_ships() {
        let (ps, problems) = run("[[provider]]\nid = \"youthweb\"\nicon = \"openid\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        let yw = ps.iter().find(|p| p.id == "youthweb").unwrap();
        assert_eq!(yw.view().icon, "openid");
        let (_, p) = run("[[provider]]\nid = \"youthweb\"\n\nicon = \"https://example.com/x.png\"\n");
        assert_eq!((p[0].line, p[0].field.as_deref()), (Some(4), Some("icon")));
        assert!(p[0].message.contains("not one of the app's icons"), "{}", p[0].message);
    }

    #[test]
    fn login_hosts_are_host_names() {
        let (ps, problems) = run("[[provider]]\nid = \"zaehlerfreunde\"\nlogin_hosts = [\"accounts.google.com\", \"127.0.0.1\"]\n");
        assert!(problems.is_empty(), "{problems:?}");
        let zf = ps.iter().find(|p| p.id == "zaehlerfreunde").expect("zf");
        assert_eq!(zf.login_hosts, ["accounts.google.com", "127.0.0.1"]);
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\n\nlogin_hosts = [\"https://accounts.google.com/\"]\n");
        assert_eq!((p[0].line, p[0].field.as_deref()), (Some(4), Some("login_hosts")));
        assert!(p[0].message.contains("https://accounts.google.com/"), "{}", p[0].message);
    }

    #[test]
    fn login_is_embedded_or_browser() {
        let (ps, problems) = run("[[provider]]\nid = \"zaehlerfreunde\"\nlogin = \"browser\"\n");
        assert!(problems.is_empty(), "{problems:?}");
        let zf = ps.iter().find(|p| p.id == "zaehlerfreunde").expect("zf");
        assert_eq!(zf.login, crate::providers::LoginMode::Browser);
        assert_eq!(zf.view().login, crate::providers::LoginMode::Browser);
        let demo = ps.iter().find(|p| p.id != "zaehlerfreunde").expect("another");
        assert_eq!(demo.login, crate::providers::LoginMode::Embedded, "the default is the login window");
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\n\nlogin = \"system\"\n");
        assert_eq!(
            p[0].to_string(),
            "/cfg/providers.toml:4: provider 'zaehlerfreunde', field 'login': 'system' is not a sign-in place: use \"embedded\" (the app's sign-in window) or \"browser\" (the default browser)"
        );
        let (_, p) = run("[[provider]]\nid = \"zaehlerfreunde\"\nlogin = true\n");
        assert_eq!((p[0].line, p[0].field.as_deref()), (Some(3), Some("login")), "{:?}", p[0]);
    }
}
