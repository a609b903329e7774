//! The web app as the server serves it: pages under the strict CSP and never
//! cached, assets cached by build, the widget frame framed only by the
//! widget's sites, the loader usable from other sites, and API paths still
//! answering JSON.

use ostrog_testkit::{Backend, ORIGIN, TestServer};
use reqwest::Method;

async fn get(s: &TestServer, path: &str) -> reqwest::Response {
    s.request(Method::GET, path).send().await.unwrap()
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_assets_and_the_widget_are_served_with_their_policies() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;

    for path in ["/", "/sign-in", "/workplace", "/setup"] {
        let r = get(&s, path).await;
        assert_eq!(r.status(), 200, "{path}");
        let csp = header(&r, "content-security-policy").to_string();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("report-uri"), "{csp}");
        assert_eq!(header(&r, "cache-control"), "no-cache");
        let html = r.text().await.unwrap();
        assert!(!html.contains("{{assets}}") && !html.contains("<script>"), "no inline script: {html}");
    }
    // HEAD answers wherever GET does (monitors ask with HEAD), with the same headers and no body.
    for path in ["/", "/sign-in", "/audit", "/widget.js"] {
        let r = s.request(Method::HEAD, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "HEAD {path}");
        assert!(!header(&r, "content-type").is_empty(), "HEAD {path}");
        assert!(r.bytes().await.unwrap().is_empty(), "HEAD {path} has no body");
    }
    let r = s.request(Method::HEAD, "/api/v1/nothing-here").send().await.unwrap();
    assert_eq!(r.status(), 404, "an unknown API path stays unknown");
    let html = get(&s, "/").await.text().await.unwrap();
    let script = html.split("src=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string();
    assert!(script.starts_with("/assets/") && script.ends_with("/app.js"), "{script}");
    let r = get(&s, &script).await;
    assert_eq!((r.status().as_u16(), header(&r, "content-type")), (200, "text/javascript; charset=utf-8"));
    assert!(header(&r, "cache-control").contains("immutable"));
    let stale = get(&s, "/assets/000000000000/app.js").await;
    assert_eq!(header(&stale, "cache-control"), "no-cache", "an old build's URL is not cached for a year");
    assert_eq!(get(&s, &script.replace("app.js", "nothing.js")).await.status(), 404);

    // API paths stay JSON.
    let r = get(&s, "/api/v1/nothing-here").await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "not_found");

    // The loader may be used by any site; the frame only by the widget's.
    let r = get(&s, "/widget.js").await;
    assert_eq!((r.status().as_u16(), header(&r, "cross-origin-resource-policy")), (200, "cross-origin"));
    let (widget, _) = s.widget(&admin).await;
    let r = get(&s, &format!("/widget/{widget}")).await;
    assert_eq!(r.status(), 200);
    let csp = header(&r, "content-security-policy");
    assert!(csp.contains(&format!("frame-ancestors {ORIGIN}")) && !csp.contains("'none'; report"), "{csp}");
    assert_eq!(get(&s, &format!("/widget/{}", uuid::Uuid::new_v4())).await.status(), 404);

    // The language new pages start in: Russian, until the settings say otherwise.
    assert_eq!(s.get_json(&admin, "/api/v1/ui").await["language"], "ru");
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": "en"}));
    assert_eq!(r.send().await.unwrap().status(), 204);
    assert_eq!(s.get_json(&admin, "/api/v1/ui").await["language"], "en");
    let r = s.as_(&admin, Method::PUT, "/api/v1/settings/language").json(&serde_json::json!({"language": "de"}));
    assert_eq!(r.send().await.unwrap().status(), 422);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_frame_may_open_the_visitor_socket_and_strangers_may_not() {
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let url = s.ws_url(&format!("/api/v1/widget/{widget}/ws"));
    assert!(ostrog_testkit::ws::Ws::connect(&url, &[("origin", &s.url)]).await.is_ok(), "Ostrog's own frame");
    assert_eq!(ostrog_testkit::ws::Ws::connect(&url, &[("origin", "https://evil.example")]).await.err(), Some(403));
    s.stop().await;
}

/// The widget's test page on Ostrog: the one page of Ostrog's own origin the
/// frame accepts as its parent (named by `Referer`), and a page of a site
/// not allowed is named in the log with the setting to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_test_page_may_frame_it_and_a_refused_origin_is_logged() {
    crate::log_capture::start();
    let s = TestServer::start(Backend::Sqlite).await;
    let admin = s.session(&s.administrator().await).await;
    let (widget, _) = s.widget(&admin).await;
    let (other, _) = s.widget(&admin).await;

    let r = get(&s, &format!("/widgets/{widget}/try")).await;
    assert_eq!((r.status().as_u16(), header(&r, "referrer-policy")), (200, "same-origin"));
    assert!(header(&r, "content-security-policy").contains("frame-ancestors 'none'"), "the test page is not framed");
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("<script src=\"/widget.js\" data-widget=\"{widget}\" async>")), "{html}");
    assert_eq!(get(&s, &format!("/widgets/{}/try", uuid::Uuid::new_v4())).await.status(), 404);

    let frame = |referer: String| {
        let r = s.request(Method::GET, &format!("/widget/{widget}")).header("referer", referer).send();
        async move { header(&r.await.unwrap(), "content-security-policy").to_string() }
    };
    let from_try_page = frame(format!("{}/widgets/{widget}/try", s.url)).await;
    assert!(from_try_page.contains(&format!("frame-ancestors {ORIGIN} 'self'")), "{from_try_page}");
    // Another widget's test page, or any other page of Ostrog, does not count.
    for page in [format!("{}/widgets/{other}/try", s.url), format!("{}/workplace", s.url)] {
        let csp = frame(page).await;
        assert!(csp.contains(&format!("frame-ancestors {ORIGIN};")), "{csp}");
    }

    let csp = frame("https://stranger.example/catalogue?item=5".into()).await;
    assert!(!csp.contains("stranger"), "{csp}");
    let logs = crate::log_capture::text();
    let line = logs.lines().find(|l| l.contains("https://stranger.example")).expect("the refused origin is logged");
    assert!(line.contains("allowed_origins") && line.contains(&widget), "{line}");
    assert!(!line.contains("catalogue"), "the origin only, not the page: {line}");

    // The password pages count towards the policy's minimum.
    let ui = s.get_json(&admin, "/api/v1/ui").await;
    assert_eq!((&ui["password_min_length"], &ui["signed_in"]), (&15.into(), &true.into()));
    // The pages ask for the account only when a session came with them.
    let anonymous: serde_json::Value = get(&s, "/api/v1/ui").await.json().await.unwrap();
    assert_eq!(anonymous["signed_in"], false);
    let stale = s.get_json("not-a-session-token", "/api/v1/ui").await;
    assert_eq!(stale["signed_in"], false, "a token that is no session is not signed in");
    s.stop().await;
}
