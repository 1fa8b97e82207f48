//! Calling a provider's API with an access token, presented the provider's way: `Authorization: Bearer`
//! (RFC 6750), Workfront's `sessionID:` header (also whenever the token type says `sessionID`), or any
//! configured header; plus the `Accept` header an API needs (Youthweb's `application/vnd.api+json`).

use std::time::{Duration, Instant};

use serde::Serialize;
use url::Url;

use super::secret::AccessToken;
use crate::providers::{Provider, TokenPresentation};

/// How a token of `token_type` is presented to `provider`'s API.
pub fn presentation(provider: &Provider, token_type: &str) -> TokenPresentation {
    if token_type.eq_ignore_ascii_case("sessionid") {
        TokenPresentation { header: "sessionID".into(), prefix: String::new() }
    } else {
        provider.presentation.clone()
    }
}

/// Adds the access token to `request`, presented the provider's way.
pub fn with_token(request: reqwest::RequestBuilder, provider: &Provider, token_type: &str, token: &AccessToken) -> reqwest::RequestBuilder {
    let how = presentation(provider, token_type);
    request.header(how.header.as_str(), format!("{}{}", how.prefix, token.secret()))
}

/// What an API call answered (no body beyond a short excerpt; never the token).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApiAnswer {
    /// HTTP status.
    pub status: u16,
    /// How long the call took.
    pub millis: u64,
    /// The response's content type.
    pub content_type: String,
    /// The first lines of the body (at most 5 lines, 400 characters).
    pub excerpt: String,
    /// Header the token was sent in.
    pub presented_as: String,
}

/// GETs `url` with the token presented the provider's way.
pub async fn get(
    http: &reqwest::Client,
    provider: &Provider,
    token_type: &str,
    token: &AccessToken,
    url: &Url,
) -> Result<ApiAnswer, reqwest::Error> {
    let how = presentation(provider, token_type);
    let mut request = with_token(http.get(url.clone()).timeout(Duration::from_secs(20)), provider, token_type, token);
    if let Some(accept) = &provider.api_accept {
        request = request.header(reqwest::header::ACCEPT, accept);
    }
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status().as_u16();
    let content_type = super::token::content_type(&response);
    let body = response.text().await?;
    let excerpt: String = body.lines().take(5).collect::<Vec<_>>().join("\n").chars().take(400).collect();
    Ok(ApiAnswer {
        status,
        millis: started.elapsed().as_millis() as u64,
        content_type,
        excerpt: excerpt.replace(token.secret(), "[redacted]"),
        presented_as: if how.prefix.is_empty() { how.header } else { format!("{}: {}…", how.header, how.prefix.trim_end()) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::builtin;

    #[test]
    fn session_id_tokens_go_in_a_session_id_header() {
        let wf = builtin::workfront();
        assert_eq!(presentation(&wf, "sessionID"), TokenPresentation { header: "sessionID".into(), prefix: String::new() });
        let demo = builtin::demo(&Url::parse("http://127.0.0.1:1/").expect("url")).expect("demo");
        assert_eq!(presentation(&demo, "sessionID").header, "sessionID", "the token type decides");
        assert_eq!(presentation(&demo, "Bearer"), TokenPresentation::bearer());
        assert_eq!(builtin::youthweb().api_accept.as_deref(), Some("application/vnd.api+json"));
    }
}
