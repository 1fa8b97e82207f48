//! Plays the user's browser against a provider's real pages over HTTP: follows redirects, keeps cookies,
//! fills the login form (`#username`, `#password`) and answers the consent page (`#approve` / `#deny`),
//! and returns the URL the provider finally sent the browser to (the app's private-use scheme).

use std::collections::BTreeMap;

use url::Url;

/// A browser that does not follow redirects by itself, so the redirect to the app's scheme can be read.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let len = tag[start..].find('"')?;
    Some(unescape(&tag[start..start + len]))
}

/// The first POST form of a page: its action and hidden fields.
fn form(html: &str) -> (String, Vec<(String, String)>) {
    let start = html.find("<form").expect("the page has a form");
    let end = html[start..].find("</form>").map(|e| start + e).unwrap_or(html.len());
    let body = &html[start..end];
    let open_end = body.find('>').expect("form tag");
    let action = attr(&body[..open_end], "action").expect("form action");
    let hidden = body
        .split("<input")
        .skip(1)
        .filter(|t| t.contains("type=\"hidden\""))
        .filter_map(|t| Some((attr(t, "name")?, attr(t, "value").unwrap_or_default())))
        .collect();
    (action, hidden)
}

/// Signs in as `user`/`password` wherever a login form appears, answers consent with `decision`
/// ("approve" or "deny"), and returns the app-scheme URL the provider redirected to.
pub async fn sign_in(authorize_url: &Url, user: &str, password: &str, decision: &str) -> String {
    let http = client();
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    let mut request = http.get(authorize_url.clone());
    let mut url = authorize_url.clone();
    for _ in 0..20 {
        if !cookies.is_empty() {
            let header = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header(reqwest::header::COOKIE, header);
        }
        let response = request.send().await.expect("provider answers");
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = value.to_str().expect("cookie").split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                cookies.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().expect("location").to_owned();
            let next = url.join(&location).expect("location is a URL");
            if !matches!(next.scheme(), "http" | "https") {
                return location;
            }
            url = next;
            request = http.get(url.clone());
            continue;
        }
        let status = response.status();
        let html = response.text().await.expect("page");
        assert_eq!(status, 200, "the provider's page failed: {html}");
        let (action, hidden) = form(&html);
        let target = url.join(&action).expect("action URL");
        let mut fields = hidden;
        if html.contains("id=\"username\"") {
            fields.push(("username".into(), user.into()));
            fields.push(("password".into(), password.into()));
        } else if html.contains("name=\"login\"") {
            // oidc-provider's development login form.
            fields.push(("login".into(), user.into()));
            fields.push(("password".into(), password.into()));
        } else if html.contains("id=\"approve\"") {
            fields.push(("decision".into(), decision.into()));
        } else if decision != "approve" {
            panic!("this consent page has no way to deny: {html}");
        }
        // Otherwise a consent page whose only button continues: submit its hidden fields.
        url = target.clone();
        request = http.post(target).form(&fields);
    }
    panic!("no redirect to the app after 20 steps");
}

/// The demo provider's sign-in with its demo user.
pub async fn authorize(authorize_url: &Url, decision: &str) -> String {
    sign_in(authorize_url, "demo", "demo", decision).await
}
