//! The system-browser path without a window: a flow started in the app, continued in "the browser"
//! (HTTP here), and its redirect handed back from outside, the way the URI scheme delivers it, through
//! `Linker::route` (the same way in as the command line's pasted URL). Redirects that belong to no
//! pending flow are refused and recorded, and nothing is stored.

use account_linker::diagnostics::timeline::{Event, APP};
use account_linker::linker::{HandOff, Linker};
use account_linker::paths::AppPaths;
use account_linker::providers::{builtin, Catalogue, LoginMode};
use account_linker_tests::demo_provider::{DemoConfig, DemoServer};
use account_linker_tests::emulators::zaehlerfreunde::{EmbeddedRefusal, ZaehlerfreundeConfig, ZaehlerfreundeServer};

use crate::browser;

async fn demo_linker() -> (DemoServer, tempfile::TempDir, Linker) {
    let demo = DemoServer::start_local(DemoConfig { test_controls: true, ..DemoConfig::default() }).await.expect("demo");
    let home = tempfile::tempdir().expect("tmp");
    let paths = AppPaths::isolated(home.path());
    let linker = Linker::new(&paths, Catalogue::new(vec![builtin::demo(&demo.base_url).expect("demo")])).expect("linker");
    (demo, home, linker)
}

fn refusals(timeline: &account_linker::diagnostics::timeline::TimelineRead) -> Vec<(String, Vec<String>)> {
    timeline
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::CallbackRefused { target, params, .. } => Some((target.clone(), params.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_flow_handed_to_the_browser_completes_through_the_scheme_with_its_own_state_and_verifier() {
    let (demo, _home, linker) = demo_linker().await;
    let start = linker.begin("demo", None).await.expect("begin");
    assert_eq!(linker.pending(&start.flow_id).expect("pending").login, LoginMode::Embedded);
    let link = linker.hand_off(&start.flow_id, HandOff::User).expect("hand-off");
    assert_eq!(link, start.authorize_url, "the same link: same state, same PKCE challenge");
    assert_eq!(linker.pending(&start.flow_id).expect("still pending").login, LoginMode::Browser);
    assert!(!linker.cancel_in_window(&start.flow_id), "closing the login window no longer cancels it");

    let location = browser::authorize(&link, "approve").await;
    let flow = linker.route(&location).expect("the redirect belongs to the flow");
    assert_eq!(flow.id, start.flow_id);
    let account = linker.finish(flow, &location).await.expect("linked");
    assert_eq!(account.display_name.as_deref(), Some("demo@example.test"));
    assert_eq!(demo.stats().code_exchanges, 1, "the code was exchanged, with the flow's verifier");
    assert!(linker.pending(&start.flow_id).is_none());

    let timeline = linker.timeline(&account.id).await.expect("timeline");
    assert!(timeline.entries.iter().any(|e| matches!(&e.event, Event::HandedToBrowser { why } if why == "user")), "{:?}", timeline.entries);

    // The same redirect again (the OS delivering it twice, or a replay): refused, recorded, nothing stored.
    let again = linker.route(&location).unwrap_err();
    assert_eq!(again.code(), "no_pending_flow");
    assert_eq!(demo.stats().code_exchanges, 1);
    assert_eq!(linker.accounts().await.expect("accounts").len(), 1);
}

#[tokio::test]
async fn a_stray_or_forged_redirect_is_refused_recorded_and_leaves_the_pending_flow_alone() {
    let (demo, home, linker) = demo_linker().await;
    // No flow at all.
    let err = linker.route("org.accountlinker.app:/oauth2/demo?code=STRAY_CODE&state=nobodys").unwrap_err();
    assert_eq!(err.code(), "no_pending_flow");
    assert!(err.to_string().contains("no longer in progress"), "{err}");

    let start = linker.begin("demo", None).await.expect("begin");
    // A wrong state for the flow in progress: refused, and the flow stays pending.
    let err = linker.route("org.accountlinker.app:/oauth2/demo?code=FORGED_CODE&state=forged").unwrap_err();
    assert_eq!(err.code(), "state_mismatch", "{err}");
    let err = linker.route("org.accountlinker.app:/oauth2/demo?code=FORGED_CODE").unwrap_err();
    assert_eq!(err.code(), "state_mismatch", "{err}");
    // Another provider's path with this flow's state: not this flow's redirect.
    let state = start.authorize_url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).expect("state");
    let err = linker.route(&format!("org.accountlinker.app:/oauth2/other?code=X&state={state}")).unwrap_err();
    assert_eq!(err.code(), "no_pending_flow");
    assert!(linker.pending(&start.flow_id).is_some(), "a stray redirect does not end the sign-in");

    // The real one still completes.
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let flow = linker.route(&location).expect("route");
    linker.finish(flow, &location).await.expect("linked");
    assert_eq!(demo.stats().code_exchanges, 1, "no refused redirect reached the token endpoint");

    let app = linker.timeline(APP).await.expect("app timeline");
    let refused = refusals(&app);
    assert_eq!(refused.len(), 4, "{refused:?}");
    assert_eq!(refused[0], ("org.accountlinker.app:/oauth2/demo".to_owned(), vec!["code".to_owned(), "state".to_owned()]));
    let text = std::fs::read_dir(home.path().join("timeline")).expect("timeline dir").flatten().map(|e| std::fs::read_to_string(e.path()).expect("read")).collect::<String>();
    for secret in ["STRAY_CODE", "FORGED_CODE", "nobodys", state.as_str()] {
        assert!(!text.contains(secret), "the timeline holds {secret}");
    }
}

#[tokio::test]
async fn an_error_redirect_through_the_scheme_ends_the_flow_in_words() {
    let (_demo, _home, linker) = demo_linker().await;
    let start = linker.begin("demo", None).await.expect("begin");
    let location = browser::authorize(&start.authorize_url, "deny").await;
    let flow = linker.route(&location).expect("an error redirect with the right state is the flow's");
    let err = linker.finish(flow, &location).await.unwrap_err();
    assert_eq!(err.code(), "access_denied");
    assert!(linker.accounts().await.expect("accounts").is_empty());
}

#[tokio::test]
async fn zaehlerfreunde_refuses_embedded_browsers_like_google_and_like_auth0_relaying_it() {
    let zf = ZaehlerfreundeServer::start(ZaehlerfreundeConfig::default()).await.expect("emulator");
    let webkitgtk = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15";
    let home = tempfile::tempdir().expect("tmp");
    std::fs::write(home.path().join("providers.toml"), zf.providers_toml()).expect("write");
    let paths = AppPaths::isolated(home.path());
    let linker = Linker::new(&paths, Catalogue::load(&paths.config_dir)).expect("linker");
    let start = linker.begin("zaehlerfreunde", None).await.expect("begin");
    let http = browser::client();
    let get = |ua: &'static str| http.get(start.authorize_url.clone()).header(reqwest::header::USER_AGENT, ua).send();

    zf.refuse_embedded(Some(EmbeddedRefusal::Google));
    let answer = get(webkitgtk).await.expect("answer");
    assert_eq!(answer.status(), 302);
    let page = start.authorize_url.join(answer.headers()["location"].to_str().expect("location")).expect("url");
    assert!(account_linker::oauth::embedded::refuses_embedded(&page), "{page}");
    let shown = http.get(page).send().await.expect("page");
    assert_eq!(shown.status(), 403);
    assert!(shown.text().await.expect("text").contains("Error 403: disallowed_useragent"));

    zf.refuse_embedded(Some(EmbeddedRefusal::Auth0));
    let answer = get(webkitgtk).await.expect("answer");
    let location = answer.headers()["location"].to_str().expect("location").to_owned();
    assert!(location.starts_with("org.accountlinker.app:/oauth2/zaehlerfreunde?error=access_denied"), "{location}");
    assert!(account_linker::oauth::embedded::refuses_embedded(&url::Url::parse(&location).expect("url")), "{location}");

    // A real browser (here: the test's HTTP client, like Firefox) signs in as usual, with the same flow.
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    assert_eq!(get(firefox).await.expect("answer").status(), 200, "the login page");
    let location = browser::authorize(&start.authorize_url, "approve").await;
    let flow = linker.route(&location).expect("route");
    linker.finish(flow, &location).await.expect("linked");
}
