//! Plays the user's browser against the demo provider: follows the authorize page, fills the login form
//! and answers the consent page, over real HTTP, and returns where the provider redirected to.

use url::Url;

/// A browser that does not follow redirects, so the redirect to the app's scheme can be read.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("http client")
}

fn hidden_request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("login/consent page carries request_id") + marker.len();
    let end = html[start..].find('"').expect("closing quote");
    html[start..start + end].to_owned()
}

/// Signs in as the demo user and answers consent with `decision` ("approve" or "deny").
/// Returns the `Location` the provider redirected the browser to.
pub async fn authorize(authorize_url: &Url, decision: &str) -> String {
    let http = client();
    let page = http.get(authorize_url.clone()).send().await.expect("authorize page");
    assert_eq!(page.status(), 200, "authorize page");
    let request_id = hidden_request_id(&page.text().await.expect("html"));
    let consent = http
        .post(authorize_url.join("/login").expect("url"))
        .form(&[("username", "demo"), ("password", "demo"), ("request_id", request_id.as_str())])
        .send()
        .await
        .expect("login");
    let request_id = hidden_request_id(&consent.text().await.expect("html"));
    let redirect = http
        .post(authorize_url.join("/consent").expect("url"))
        .form(&[("decision", decision), ("request_id", request_id.as_str())])
        .send()
        .await
        .expect("consent");
    assert!(redirect.status().is_redirection(), "consent answers with a redirect, got {}", redirect.status());
    redirect.headers()["location"].to_str().expect("ascii location").to_owned()
}
