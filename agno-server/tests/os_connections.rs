//! What a client that connects and then stalls can take: nothing past the
//! limits. Header and keep-alive timeouts close its connection, a body
//! that does not arrive in time gets a 408, unfinished bodies cannot hold
//! more than the byte budget, connections past the cap get a 503, and
//! shutdown ends within its one deadline whatever clients do.
//!
//! The limits are set small here so each case ends quickly; every wait has
//! an outer bound and asserts what happened, never how fast.

mod os_support;

use std::time::Duration;

use agno_server::os::Limits;
use agno_server::{Agent, AgentOS, Echo};
use os_support::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for any case here to settle.
const BOUND: Duration = Duration::from_secs(20);

async fn serve(limits: Limits, deadline: Duration) -> Server {
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .build()
        .unwrap();
    Server::start(
        AgentOS::builder()
            .agent(agent)
            .ignore_env_security_key()
            .limits(limits)
            .shutdown_deadline(deadline)
            .build()
            .unwrap(),
    )
    .await
}

async fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut all))
        .await
        .expect("the server closed the connection")
        .ok();
    String::from_utf8_lossy(&all).into_owned()
}

/// Posts the run form `body` until the server answers `status` (at most
/// 200 tries, 20 ms apart); that answer's JSON, or `None`.
async fn run_until(server: &Server, body: &str, status: u16) -> Option<serde_json::Value> {
    for _ in 0..200 {
        let response = server
            .post_raw(
                "/agents/echo/runs",
                "application/x-www-form-urlencoded",
                body.to_owned(),
            )
            .await;
        if response.status() == status {
            return Some(response.json().await.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn quick_headers() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    }
}

#[tokio::test]
async fn a_silent_or_half_sent_or_idle_connection_is_closed() {
    let server = serve(quick_headers(), Duration::from_secs(5)).await;
    // Sends nothing.
    let mut silent = connect(&server).await;
    until_closed(&mut silent).await;
    // Stops mid-headers.
    let mut half = connect(&server).await;
    half.write_all(b"GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .await
        .unwrap();
    until_closed(&mut half).await;
    // Keeps a connection alive after one request, and sends no other.
    let mut idle = connect(&server).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The server still answers.
    assert_eq!(server.get("/health").await.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    let limits = Limits {
        body_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = serve(limits, Duration::from_secs(5)).await;
    let mut slow = connect(&server).await;
    slow.write_all(
        b"POST /agents/echo/runs HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nmessage=hel",
    )
    .await
    .unwrap();
    let answer = until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn unfinished_bodies_cannot_hold_more_than_the_budget() {
    let limits = Limits {
        max_body_bytes_in_flight: 4096,
        ..Limits::default()
    };
    let server = serve(limits, Duration::from_secs(5)).await;
    // One client sends 4000 bytes of a 5000-byte body, then stalls.
    let mut holder = connect(&server).await;
    let mut head = b"POST /agents/echo/runs HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nmessage="
        .to_vec();
    head.extend(std::iter::repeat_n(b'a', 3992));
    holder.write_all(&head).await.unwrap();
    // Until the server has taken those bytes, a 1 KB run may still pass;
    // once it has, runs with a body are refused.
    let body = format!("message={}&stream=false", "b".repeat(1000));
    let refused = run_until(&server, &body, 503)
        .await
        .expect("a run was refused while the budget was held");
    assert_eq!(
        refused["detail"],
        "Too many request bytes in flight; retry later"
    );
    // /health needs no body: it keeps answering.
    assert_eq!(server.get("/health").await.status(), 200);
    // The holder leaves: its bytes come back, runs pass again.
    drop(holder);
    assert!(run_until(&server, &body, 200).await.is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn a_connection_past_the_cap_gets_a_503_and_is_closed() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let server = serve(limits, Duration::from_secs(5)).await;
    let first = connect(&server).await;
    let second = connect(&server).await;
    // The two are accepted in order; the third finds no room.
    let mut third = connect(&server).await;
    let answer = until_closed(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Too many open connections"), "{answer}");
    // A health check past the cap is still answered: the process is alive.
    let mut health = connect(&server).await;
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut health).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
    drop((first, second));
    let mut ok = false;
    for _ in 0..200 {
        if let Ok(response) = server.client.get(server.url("/health")).send().await
            && response.status() == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "room again once they left");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_within_its_deadline_despite_stalled_clients() {
    let server = serve(Limits::default(), Duration::from_millis(500)).await;
    let mut mid_headers = connect(&server).await;
    mid_headers
        .write_all(b"GET /health HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .await
        .unwrap();
    let mut mid_body = connect(&server).await;
    mid_body
        .write_all(
            b"POST /agents/echo/runs HTTP/1.1\r\nHost: a\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nmes",
        )
        .await
        .unwrap();
    // Both are being served (the second is reading its body) before the
    // signal: a request on a third connection has been answered.
    assert_eq!(server.get("/health").await.status(), 200);
    let report = tokio::time::timeout(BOUND, server.shutdown())
        .await
        .expect("shutdown ended although two clients stalled");
    assert!(report.is_clean());
    until_closed(&mut mid_headers).await;
    until_closed(&mut mid_body).await;
}

#[tokio::test]
async fn a_large_body_held_open_cannot_refuse_small_runs() {
    // 2 MiB in flight: 1 MiB kept for the first 64 KiB of each request.
    let limits = Limits {
        max_body_bytes_in_flight: 2 << 20,
        ..Limits::default()
    };
    let server = serve(limits, Duration::from_secs(5)).await;
    // One client sends a little over 1 MiB of a 3 MiB body, then stalls:
    // it holds 64 KiB of the small share and all but 32 KiB of the large
    // one. (Not more: a body that outgrows the large share is refused and
    // gives its bytes back, and whether the server had read that far when
    // the test looked depended on the machine's socket buffers.)
    let mut holder = connect(&server).await;
    let mut head = b"POST /agents/echo/runs HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3145728\r\n\r\nmessage="
        .to_vec();
    let held = (64 << 10) + (1 << 20) - (32 << 10) - "message=".len();
    head.extend(std::iter::repeat_n(b'a', held));
    holder.write_all(&head).await.unwrap();
    // A second large body is refused once the holder's bytes are taken...
    let large = format!("message={}&stream=false", "b".repeat(200 << 10));
    // (Polled: the server takes the holder's bytes as they arrive, which
    // on a loaded machine can take seconds; bounded at 30 s.)
    let mut refused = false;
    for _ in 0..1500 {
        let response = server
            .post_raw(
                "/agents/echo/runs",
                "application/x-www-form-urlencoded",
                large.clone(),
            )
            .await;
        if response.status() == 503 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the large share is spent");
    // ...while an ordinary run still passes.
    let response = server
        .post_raw(
            "/agents/echo/runs",
            "application/x-www-form-urlencoded",
            "message=hello&stream=false".to_owned(),
        )
        .await;
    assert_eq!(response.status(), 200);
    drop(holder);
    server.shutdown().await;
}

#[tokio::test]
async fn json_bodies_are_bounded_in_size_time_and_bytes_held() {
    let limits = Limits {
        body_read_timeout: Duration::from_millis(500),
        max_json_body_bytes: 2048,
        max_body_bytes_in_flight: 4096,
        ..Limits::default()
    };
    let server = serve(limits, Duration::from_secs(5)).await;
    // Larger than the JSON ceiling: 413 (the session need not exist).
    let big = format!("{{\"session_name\": \"{}\"}}", "n".repeat(4000));
    let response = server
        .client
        .post(server.url("/sessions/s/rename"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    // Trickled a byte every 100 ms: each pause is short, the whole is not
    // (one deadline for the whole body, not per part).
    let mut slow = connect(&server).await;
    slow.write_all(
        b"POST /sessions/s/rename HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{",
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let answered = std::sync::atomic::AtomicBool::new(false);
    let trickle = async {
        // Up to 10 s of trickling; it stops once the server has answered.
        for sent in 0..100 {
            if answered.load(std::sync::atomic::Ordering::SeqCst) {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b" ").await.is_err() {
                return sent;
            }
        }
        100
    };
    let (sent, answer) = tokio::join!(trickle, async {
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(BOUND, reader.read(&mut buf))
            .await
            .expect("answered")
            .unwrap();
        answered.store(true, std::sync::atomic::Ordering::SeqCst);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    assert!(
        sent < 30,
        "answered while the client still trickled ({sent} bytes sent)"
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A JSON body held open holds its bytes of the shared budget: a run
    // past what is left is refused until it goes.
    let mut holder = connect(&server).await;
    let mut head = b"DELETE /sessions HTTP/1.1\r\nHost: a\r\n\
          Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n{\"session_ids\": [\""
        .to_vec();
    head.extend(std::iter::repeat_n(b'a', 1900));
    holder.write_all(&head).await.unwrap();
    let body = format!("message={}&stream=false", "b".repeat(3000));
    assert!(
        run_until(&server, &body, 503).await.is_some(),
        "the held JSON body's bytes were not charged"
    );
    drop(holder);
    server.shutdown().await;
}
