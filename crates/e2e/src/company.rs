//! A company's site on another origin with the widget on its page, and the
//! visitor in it. Test support: a failure here is a failed test, so it unwraps.
#![allow(clippy::unwrap_used)]

use crate::{Browser, Driver};

/// A visitor on the company's page with the widget open (inside its frame).
pub async fn open_widget(driver: &Driver, shop: &str, width: u32, height: u32) -> Browser {
    let visitor = driver.browser(width, height).await;
    visitor.goto(shop).await;
    visitor.find("iframe").await;
    visitor.client.enter_frame(0).await.unwrap();
    visitor.click("#launcher").await;
    visitor
}

/// The visitor writes in the open widget; returns once the server has it
/// (the widget shows it, and no send is waiting any more).
pub async fn write(visitor: &Browser, text: &str) {
    visitor.fill("#widget-input", text).await;
    visitor.click("#widget-send").await;
    visitor.text_in("#messages", text).await;
    let waiting = "return document.querySelectorAll('#messages li.pending').length";
    crate::eventually("the server acknowledged the message", crate::PATIENCE, || async {
        visitor.run(waiting).await == 0
    })
    .await;
}

/// A company's site on another origin: its address, to allow in the widget.
pub async fn company_site() -> (String, tokio::net::TcpListener) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (format!("http://{}", listener.local_addr().unwrap()), listener)
}

/// Serves the company's page, which embeds the widget with one tag.
pub fn serve_company_page(
    listener: tokio::net::TcpListener,
    ostrog: &str,
    widget: &str,
) -> tokio::task::JoinHandle<()> {
    serve_page(listener, &format!("<script src=\"{ostrog}/widget.js\" data-widget=\"{widget}\" async></script>"))
}

/// Serves the company's page with `tags` (the widgets' script tags) in it.
pub fn serve_page(listener: tokio::net::TcpListener, tags: &str) -> tokio::task::JoinHandle<()> {
    serve_html(
        listener,
        format!(
            "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head><body><h1>Shop</h1>\
             <p>Our goods.</p>{tags}</body></html>"
        ),
    )
}

/// Answers every request on `listener` with the page `html`: a site that is
/// not Ostrog's.
pub fn serve_html(listener: tokio::net::TcpListener, html: String) -> tokio::task::JoinHandle<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    html.len()
                );
                let _ = tcp.write_all(head.as_bytes()).await;
                let _ = tcp.write_all(html.as_bytes()).await;
            });
        }
    })
}
