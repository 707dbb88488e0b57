//! The loopback sign-in listener against raw HTTP requests (issue 11 item 9): it binds what it
//! says, answers only its redirect URI's `Host`, ignores what is not Zoho's redirect and keeps
//! waiting, and warns when the other address family's twin of its port is held by someone else.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zoho_auth::auth::loopback::{Listener, RedirectUri};

/// Sends one raw HTTP/1.1 request to `addr` and returns the status code.
async fn raw(addr: SocketAddr, request: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn get(path: &str, host: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
}

/// A port free on both 127.0.0.1 and [::1] a moment ago.
fn free_port() -> u16 {
    loop {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("::1", port)).is_ok() {
            return port;
        }
    }
}

#[tokio::test]
async fn only_the_redirect_hosts_callback_with_the_state_ends_the_wait() {
    let port = free_port();
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/callback")).unwrap();
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(
        listener.addresses(),
        vec![SocketAddr::from(([127, 0, 0, 1], port))],
        "a literal address is bound alone"
    );
    assert_eq!(listener.listening_on(), format!("127.0.0.1:{port}"));
    let wait = tokio::spawn(listener.wait_for_redirect("st", Duration::from_secs(30)));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Ignored requests carry another code: had one ended the wait, that code would come out.
    let callback = "/callback?state=st&code=1000.bad&location=us&";
    let host = format!("127.0.0.1:{port}");
    // A DNS-rebinding page: the right path and state, another Host.
    assert_eq!(
        raw(addr, &get(callback, &format!("evil.example:{port}"), "")).await,
        421
    );
    assert_eq!(
        raw(addr, &get(callback, &format!("localhost:{port}"), "")).await,
        421
    );
    assert_eq!(
        raw(
            addr,
            &format!("GET {callback} HTTP/1.0\r\nConnection: close\r\n\r\n")
        )
        .await,
        421,
        "no Host at all"
    );
    // Not the callback: a favicon, a page that only wants to cancel.
    assert_eq!(raw(addr, &get("/favicon.ico", &host, "")).await, 404);
    assert_eq!(
        raw(addr, &get("/cancel?error=access_denied", &host, "")).await,
        404
    );
    assert_eq!(raw(addr, &get("/callback", &host, "")).await, 400);
    // A page making the browser load the callback as an image.
    assert_eq!(
        raw(
            addr,
            &get(
                callback,
                &host,
                "Sec-Fetch-Dest: image\r\nSec-Fetch-Mode: no-cors\r\n"
            )
        )
        .await,
        403
    );
    assert_eq!(
        raw(addr, &format!("POST {callback} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")).await,
        405
    );
    assert!(!wait.is_finished(), "nothing above ends the sign-in");
    // Zoho's redirect: a top-level navigation to the right host.
    let zoho = "/callback?state=st&code=1000.x&location=us&";
    assert_eq!(
        raw(
            addr,
            &get(
                zoho,
                &host,
                "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n"
            )
        )
        .await,
        200
    );
    let cb = wait.await.unwrap().unwrap();
    assert_eq!(cb.code.expose(), "1000.x");
}

#[tokio::test]
async fn localhost_binds_both_twins_and_says_so() {
    let port = free_port();
    let redirect = RedirectUri::parse(&format!("http://localhost:{port}/cb")).unwrap();
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(
        listener.addresses(),
        vec![
            SocketAddr::from(([127, 0, 0, 1], port)),
            format!("[::1]:{port}").parse().unwrap()
        ]
    );
    assert_eq!(
        listener.listening_on(),
        format!("127.0.0.1:{port} and [::1]:{port} (the IPv6 twin of localhost)")
    );
    assert!(listener.warnings().is_empty(), "{:?}", listener.warnings());
    let wait = tokio::spawn(listener.wait_for_redirect("st", Duration::from_secs(30)));
    let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    let host = format!("localhost:{port}");
    assert_eq!(
        raw(
            v6,
            &get("/cb?state=st&code=c", &format!("[::1]:{port}"), "")
        )
        .await,
        421
    );
    assert_eq!(raw(v6, &get("/cb?state=st&code=c", &host, "")).await, 200);
    assert_eq!(wait.await.unwrap().unwrap().code.expose(), "c");
}

#[tokio::test]
async fn a_twin_held_by_another_program_is_warned_about() {
    // localhost: [::1] held by someone else, 127.0.0.1 free.
    let port = free_port();
    let squatter = std::net::TcpListener::bind(("::1", port)).unwrap();
    let redirect = RedirectUri::parse(&format!("http://localhost:{port}/cb")).unwrap();
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(
        listener.addresses(),
        vec![SocketAddr::from(([127, 0, 0, 1], port))]
    );
    let warnings = listener.warnings().to_vec();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains(&format!("[::1]:{port}")),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("held by another program"),
        "{warnings:?}"
    );
    drop(listener);
    // A literal 127.0.0.1 redirect with its IPv6 twin held.
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/cb")).unwrap();
    let listener = Listener::bind(&redirect).await.unwrap();
    assert_eq!(listener.warnings().len(), 1, "{:?}", listener.warnings());
    drop(listener);
    drop(squatter);
    // Nobody on the twin: no warning.
    let listener = Listener::bind(&redirect).await.unwrap();
    assert!(listener.warnings().is_empty(), "{:?}", listener.warnings());
}
